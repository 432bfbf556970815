"""⟨i|v|j⟩ of Gaussian pairs on an orthogonal box of mesh points, each pair on its own range.

PySCF's ``NUMINT_fill2c`` (``NUMINTeval_lda_orth``, non-periodic) contracts, for every
primitive pair, the box's weights over the pair's range along x but over the box's whole
y–z cross-section (one GEMM of ``mesh[1]·mesh[2]`` columns, its own "TODO"), so a pair costs
∝ the box's cross-section, and a box that holds every product of a home shell is 3–4.5 times
wider than one product (rattled Si, 512 atoms). :func:`fill_orth` computes the same numbers
with each pair contracted over its own range in all three directions: the same pairs pass
the same screening (``EIJCUTOFF``, the amplitude threshold ``expdrop``, the radius of
``gto_rcut``), the same mesh points enter each sum (``_orth_components``' range), and the
transfer from the product's powers to the pair's Cartesian components is
``_plain_vrr2d``'s, written as its binomial sum. Equal to PySCF's kernel to rounding
(``tests/test_dft_grid_kernel.py``).

Compiled with numba on first use (cached on disk).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

EIJCUTOFF = 60.0
"""``NUMINT_fill2c`` skips a pair whose Gaussian product prefactor is below e⁻⁶⁰."""
EXPMIN = -700.0
"""``_orth_components`` skips a pair whose value at its nearest mesh point is below e⁻⁷⁰⁰."""


@njit(cache=True)
def _gto_rcut(alpha: float, topl: int, c: float, log_prec: float) -> float:
    """PySCF's ``gto_rcut``: the radius beyond which the product's integral is below
    precision (C integer division in ``-(l + 4) / 2``)."""
    log_c = math.log(abs(c))
    log_2a = math.log(2 * alpha)
    if 2 * math.log(10.0) + log_2a > 1:
        prod = (topl + 1) * math.log(10.0) - log_2a
    else:
        prod = -((topl + 4) // 2) * log_2a
    prod += log_c - log_prec
    if prod < alpha:
        prod = log_c - log_prec
    return math.sqrt(prod / alpha) if prod > 0 else 0.0


@njit(cache=True)
def _axis(n: int, step: float, centre: float, cutoff: float, aij: float, xi: float,
          topl: int, out: np.ndarray) -> tuple:  # fmt: skip
    """Mesh range [n0, n1) of one axis and ``out[l, k] = (x_k − xi)^l e^{−aij (x_k − xij)²}``
    for k in the range (x_k = k·step), as ``_orth_components`` (non-periodic); n0 = n1 when
    the pair is skipped."""
    length = n * step
    frac = centre / length
    edge0 = frac - cutoff / length
    edge1 = frac + cutoff / length
    if edge0 == edge1:
        return 0, 0
    n0 = min(max(math.floor(edge0 * n), 0), n)
    n1 = min(max(math.ceil(edge1 * n), 0), n)
    if n1 == n0:
        return 0, 0
    close = min(max(int(np.rint(frac * n)), n0), n1)
    x0 = step * close - centre
    if -aij * x0 * x0 < EXPMIN:
        return 0, 0
    for k in range(n0, n1):
        x = k * step
        out[0, k - n0] = math.exp(-aij * (x - centre) ** 2)
        for ll in range(1, topl + 1):
            out[ll, k - n0] = out[ll - 1, k - n0] * (x - xi)
    return n0, n1


@njit(cache=True, fastmath=True)
def _product_moments(w, xs, ys, zs, r0, r1, topl: int, g: np.ndarray, t1, t2) -> None:
    """g[a, b, c] = Σ w[x, y, z] xs[a, x] ys[b, y] zs[c, z] over the pair's ranges, a + b + c
    ≤ topl; ``r0``/``r1`` the ranges' starts and ends (3,)."""
    nx, ny, nz = r1[0] - r0[0], r1[1] - r0[1], r1[2] - r0[2]
    l1 = topl + 1
    for x in range(nx):
        for y in range(ny):
            row = w[r0[0] + x, r0[1] + y, r0[2] : r1[2]]
            for c in range(l1):
                acc = 0.0
                for z in range(nz):
                    acc += row[z] * zs[c, z]
                t1[x, y, c] = acc
    for x in range(nx):
        for b in range(l1):
            for c in range(l1 - b):
                acc = 0.0
                for y in range(ny):
                    acc += t1[x, y, c] * ys[b, y]
                t2[x, b, c] = acc
    for a in range(l1):
        for b in range(l1 - a):
            for c in range(l1 - a - b):
                acc = 0.0
                for x in range(nx):
                    acc += t2[x, b, c] * xs[a, x]
                g[a, b, c] = acc


@njit(cache=True)
def _binomial(n: int, k: int) -> float:
    out = 1.0
    for m in range(k):
        out = out * (n - m) / (m + 1)
    return out


@njit(cache=True)
def _cart(l: int) -> np.ndarray:
    """PySCF's Cartesian components of angular momentum l: (lx, ly, lz), lx then ly falling."""
    out = np.zeros(((l + 1) * (l + 2) // 2, 3), dtype=np.int64)
    n = 0
    for lx in range(l, -1, -1):
        for ly in range(l - lx, -1, -1):
            out[n, 0], out[n, 1], out[n, 2] = lx, ly, l - lx - ly
            n += 1
    return out


@njit(cache=True)
def _transfer(g, ci, cj, d: np.ndarray, fac: float, out: np.ndarray) -> None:
    """out[j, i] += fac ⟨(r − ri)^i (r − rj)^j⟩ from the moments g about ri (d = ri − rj),
    ``ci``/``cj`` the Cartesian components (:func:`_cart`) of the two shells:
    (x − xj)^m = Σ_k C(m, k) (x − xi)^(m−k) d^k, i.e. ``_plain_vrr2d``."""
    for j in range(len(cj)):
        jx, jy, jz = cj[j, 0], cj[j, 1], cj[j, 2]
        for i in range(len(ci)):
            ix, iy, iz = ci[i, 0], ci[i, 1], ci[i, 2]
            val = 0.0
            for kx in range(jx + 1):
                fx = _binomial(jx, kx) * d[0] ** kx
                for ky in range(jy + 1):
                    fy = fx * _binomial(jy, ky) * d[1] ** ky
                    for kz in range(jz + 1):
                        fz = fy * _binomial(jz, kz) * d[2] ** kz
                        val += fz * g[ix + jx - kx, iy + jy - ky, iz + jz - kz]
            out[j, i] += fac * val


@njit(cache=True)
def fill_orth(w, step, ls, exps, coefs, centres, ao_loc, n_home: int, log_prec: float,
              expdrop: float, common) -> np.ndarray:  # fmt: skip
    """⟨i|w|j⟩ (n_j, n_i) Cartesian of the first ``n_home`` primitive shells (i) against the
    others (j), on the orthogonal box ``w`` (nx, ny, nz) of mesh steps ``step`` (3,) whose
    first point is the origin; per shell: ``ls``, ``exps``, ``coefs`` (the primitive's
    coefficient), ``centres`` (n, 3) in the box's frame; ``ao_loc`` the Cartesian offsets;
    ``common[l]`` libcint's ``CINTcommon_fac_sp``. As ``NUMINT_fill2c`` with
    ``NUMINTeval_lda_orth``, dimension 0, one image."""
    nbas = len(ls)
    n_i = ao_loc[n_home]
    mat = np.zeros((ao_loc[nbas] - n_i, n_i))
    dims = np.array(w.shape)
    lmax = ls.max()
    top = 2 * lmax + 1
    tabs = np.zeros((3, top, dims.max()))
    g = np.zeros((top, top, top))
    t1 = np.zeros((dims[0], dims[1], top))
    t2 = np.zeros((dims[0], top, top))
    r0 = np.zeros(3, dtype=np.int64)
    r1 = np.zeros(3, dtype=np.int64)
    rij = np.zeros(3)
    carts = [_cart(ll) for ll in range(lmax + 1)]
    for ish in range(n_home):
        li, ai, ri = ls[ish], exps[ish], centres[ish]
        for jsh in range(n_home, nbas):
            lj, aj, rj = ls[jsh], exps[jsh], centres[jsh]
            aij = ai + aj
            d = ri - rj
            eij = ai * aj / aij * (d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
            if eij > EIJCUTOFF:
                continue
            fac = math.exp(-eij) * coefs[ish] * coefs[jsh] * common[li] * common[lj]
            if fac < expdrop:
                continue
            topl = li + lj
            cutoff = _gto_rcut(aij, topl, fac, log_prec)
            skip = False
            for k in range(3):
                rij[k] = (ai * ri[k] + aj * rj[k]) / aij
                a0, a1 = _axis(dims[k], step[k], rij[k], cutoff, aij, ri[k], topl, tabs[k])
                if a0 == a1:
                    skip = True
                    break
                r0[k], r1[k] = a0, a1
            if skip:
                continue
            _product_moments(w, tabs[0], tabs[1], tabs[2], r0, r1, topl, g, t1, t2)
            out = mat[ao_loc[jsh] - n_i : ao_loc[jsh + 1] - n_i, ao_loc[ish] : ao_loc[ish + 1]]
            _transfer(g, carts[li], carts[lj], d, fac, out)
    return mat
