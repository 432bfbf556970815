"""Density of states of sparse pencils H(k) c = ε S(k) c by the kernel polynomial method.

What is expanded
----------------
The operator A = S⁻¹H: its eigenvalues are those of the pencil (S positive definite), and a
trace does not depend on the basis, so Tr T_n(Ã) = Σ_i T_n(x_i) with Ã = (A − b)/a mapping
the spectrum into [−1, 1]. S(k) is factored once per k (:mod:`nextham.spectra.direct`). With
a Cholesky factor (PARDISO), F = L⁻¹P with Fᴴ F = S⁻¹ gives the Hermitian F H Fᴴ of the same
eigenvalues: one sparse H·v, one forward and one backward substitution per product, and the
doubling trick (two moments per product). With an LU (SuperLU) A itself is used, which is
not Hermitian in the plain inner product: one solve per moment, no doubling.

Stochastic trace
----------------
μ_n = (1/R) Σ_r z_rᴴ T_n(Ã) z_r with R seeded random vectors (±1 for real pencils, unit
random phases for complex ones), E[z zᴴ] = I. μ_0 = M exactly, so the DOS integrates to the
number of states exactly; the other moments have a relative noise of about 1/√(R M).

Kernel and bounds
-----------------
Jackson kernel g_n (Weiße et al., Rev. Mod. Phys. 78, 275 (2006), Eq. 71): a positive,
nearly Gaussian broadening of width ≈ π a / N at the centre, so N = ⌈π a / resolution⌉
moments give the asked resolution. The bounds come from 40 Lanczos steps
(:meth:`nextham.spectra.slicing.Slicer.bracket`: extreme Ritz values plus their residuals),
widened by 5 % of the width on each side; a level outside [−1, 1] would make the Chebyshev
recursion grow, which the moments are checked for. They are not checked by inertia counts,
which would cost two factorizations of H − εS per k (at 10⁴ atoms, minutes each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev
from scipy.optimize import brentq

from nextham.errors import InputError
from nextham.spectra.slicing import Pencil, Slicer

GAP_DOS_FRACTION = 0.02
"""DOS below this fraction of the mean DOS counts as a gap for :meth:`KPMDos.fermi_guess`."""


def jackson_kernel(n_moments: int) -> np.ndarray:
    """Jackson damping factors g_n, n = 0 … N − 1, shape (N,)."""
    n = np.arange(n_moments)
    q = np.pi / (n_moments + 1)
    return ((n_moments - n + 1) * np.cos(q * n) + np.sin(q * n) / np.tan(q)) / (n_moments + 1)


def pencil_moments(
    pencil: Pencil,
    center: float,
    half_width: float,
    n_moments: int,
    n_vectors: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Stochastic Chebyshev moments μ_n ≈ Tr T_n((S⁻¹H − center)/half_width), shape (N,)."""
    s_fact = pencil.s_factor()
    dtype = np.result_type(pencil.h.dtype, pencil.s.dtype)
    shape = (pencil.n, n_vectors)
    if np.iscomplexobj(np.zeros(0, dtype)):
        z = np.exp(2j * np.pi * rng.uniform(size=shape))
    else:
        z = rng.choice([-1.0, 1.0], size=shape)

    if hasattr(s_fact, "forward"):
        mu = _split_moments(pencil.h, s_fact, z, center, half_width, n_moments)
    else:
        mu = _plain_moments(pencil.h, s_fact, z, center, half_width, n_moments)
    if not np.all(np.abs(mu) <= 10.0 * pencil.n):
        raise RuntimeError("KPM moments diverged: a level lies outside the bounds")
    return mu


def _plain_moments(h, s_fact, z, center: float, half_width: float, n_moments: int) -> np.ndarray:
    """μ_n = zᴴ T_n(Ã) z / R with Ã = (S⁻¹H − center)/half_width: one solve per moment."""
    n_vectors = z.shape[1]

    def op(v: np.ndarray) -> np.ndarray:
        return (s_fact.solve(h @ v) - center * v) / half_width

    mu = np.zeros(n_moments)
    prev, cur = z, op(z)
    mu[0] = np.real(np.vdot(z, prev)) / n_vectors
    if n_moments > 1:
        mu[1] = np.real(np.vdot(z, cur)) / n_vectors
    for n in range(2, n_moments):
        prev, cur = cur, 2.0 * op(cur) - prev
        mu[n] = np.real(np.vdot(z, cur)) / n_vectors
    return mu


def _split_moments(h, s_fact, z, center: float, half_width: float, n_moments: int) -> np.ndarray:
    """The same moments with the Hermitian Ã = (F H Fᴴ − center)/half_width, Fᴴ F = S⁻¹
    (forward and backward substitutions of S's Cholesky factor, same eigenvalues), and the
    doubling T_2n = 2 T_n² − 1, T_2n+1 = 2 T_n+1 T_n − T_1: half the products."""
    n_vectors = z.shape[1]

    def op(v: np.ndarray) -> np.ndarray:
        return (s_fact.forward(h @ s_fact.backward(v)) - center * v) / half_width

    mu = np.zeros(n_moments)
    prev, cur = z, op(z)
    mu[0] = np.real(np.vdot(z, z)) / n_vectors
    if n_moments > 1:
        mu[1] = np.real(np.vdot(z, cur)) / n_vectors
    n = 1
    while 2 * n < n_moments:  # cur = v_n = T_n(Ã) z, prev = v_n−1
        mu[2 * n] = 2.0 * np.real(np.vdot(cur, cur)) / n_vectors - mu[0]
        if 2 * n + 1 < n_moments:
            nxt = 2.0 * op(cur) - prev
            mu[2 * n + 1] = 2.0 * np.real(np.vdot(nxt, cur)) / n_vectors - mu[1]
            prev, cur = cur, nxt
        n += 1
    return mu


@dataclass(frozen=True)
class KPMDos:
    """A KPM density of states per cell (equal k weights), states per eV, spin included.

    ``moments`` (N,) are the k-averaged μ_n (μ_0 = M), already damped by the Jackson
    kernel and times ``degeneracy``; the spectrum is mapped by x = (ε − center)/half_width.
    """

    moments: np.ndarray
    center: float
    half_width: float
    degeneracy: float

    def to_dict(self) -> dict:
        """JSON-ready fields; :meth:`from_dict` rebuilds the DOS."""
        return {
            "moments": [float(m) for m in self.moments],
            "center": float(self.center),
            "half_width": float(self.half_width),
            "degeneracy": float(self.degeneracy),
        }

    @classmethod
    def from_dict(cls, d: dict) -> KPMDos:
        """The DOS of :meth:`to_dict`'s fields (other keys ignored)."""
        return cls(np.asarray(d["moments"], float), d["center"], d["half_width"], d["degeneracy"])

    @property
    def n_states(self) -> float:
        """∫ DOS dε = degeneracy · M."""
        return float(self.moments[0])

    def _x(self, energies: np.ndarray) -> np.ndarray:
        return (np.asarray(energies, dtype=float) - self.center) / self.half_width

    def dos(self, energies: np.ndarray) -> np.ndarray:
        """DOS (states / eV / cell) at ``energies`` (any shape); zero outside the bounds."""
        x = self._x(energies)
        inside = np.abs(x) < 1.0
        coef = self.moments * np.where(np.arange(len(self.moments)) > 0, 2.0, 1.0)
        xs = np.where(inside, x, 0.0)
        val = chebyshev.chebval(xs, coef) / (np.pi * self.half_width * np.sqrt(1.0 - xs**2))
        return np.where(inside, val, 0.0)

    def energy_at_count(self, count: float) -> float:
        """The energy (eV) below which the DOS holds ``count`` states (spin included)."""
        lo, hi = self.center - self.half_width, self.center + self.half_width
        if not 0.0 < count < self.n_states:
            raise InputError(f"{count} states asked of a DOS holding {self.n_states:g}")
        return float(brentq(lambda e: float(self.count_below(e)) - count, lo, hi, xtol=1e-6))

    def fermi_guess(self, n_electrons: float, reach_ev: float = 2.0) -> float:
        """An estimate of E_F (eV): the middle of the widest stretch of (near-)zero DOS
        (below :data:`GAP_DOS_FRACTION` of the mean DOS) within ``reach_ev`` of the energy
        where the count reaches ``n_electrons``, else that energy (a metal). The stochastic
        count is off by tens of states at a few vectors (216-atom Si, 4 vectors: +82 of
        1,728), which moves the crossing by up to an eV; a band gap is the widest stretch of
        zero DOS near it, while dips of a discrete spectrum are narrow."""
        e0 = self.energy_at_count(n_electrons)
        step = 0.25 * np.pi * self.half_width / len(self.moments)  # a quarter of the kernel
        grid = np.arange(self.center - self.half_width, self.center + self.half_width, step)
        low = self.dos(grid) < GAP_DOS_FRACTION * self.n_states / (2 * self.half_width)
        runs = np.flatnonzero(np.diff(np.concatenate([[0], low.astype(int), [0]]))).reshape(-1, 2)
        lo, hi = grid[runs[:, 0]], grid[runs[:, 1] - 1]
        near = np.maximum(np.maximum(lo - e0, e0 - hi), 0.0) <= reach_ev
        if not near.any():
            return e0
        best = np.flatnonzero(near)[np.argmax((hi - lo)[near])]
        return float(0.5 * (lo[best] + hi[best]))

    def count_below(self, energies: np.ndarray) -> np.ndarray:
        """∫_{−∞}^{ε} DOS (states per cell, spin included) at ``energies`` (any shape)."""
        theta = np.arccos(np.clip(self._x(energies), -1.0, 1.0))
        n = np.arange(1, len(self.moments))
        sines = np.sin(np.multiply.outer(theta, n)) / n
        return self.moments[0] * (np.pi - theta) / np.pi - (2.0 / np.pi) * (
            sines @ self.moments[1:]
        )


def kpm_dos(
    pencils: Sequence[Pencil],
    resolution_ev: float = 0.1,
    n_moments: int | None = None,
    n_vectors: int = 16,
    degeneracy: float = 1.0,
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
) -> KPMDos:
    """KPM DOS of the pencils of several k-points (equal weights), see the module docstring.

    ``n_moments`` defaults to ⌈π a / ``resolution_ev``⌉ (a the half-width of the bounds);
    ``degeneracy`` electrons per level (2 for scalar Hamiltonians) scales the DOS.
    """
    if not pencils:
        raise InputError("no k-points given for the KPM DOS; pass at least one k-point")
    if resolution_ev <= 0 or n_vectors < 1:
        raise InputError(
            f"KPM needs resolution_ev > 0 and n_vectors ≥ 1 (got {resolution_ev}, {n_vectors})"
        )
    lo, hi = Slicer(pencils).bracket(verify=False) if bounds is None else bounds
    center, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    n_mom = n_moments or max(int(np.ceil(np.pi * half / resolution_ev)), 2)
    rng = np.random.default_rng(seed)
    mu = np.mean([pencil_moments(p, center, half, n_mom, n_vectors, rng) for p in pencils], 0)
    return KPMDos(degeneracy * mu * jackson_kernel(n_mom), center, half, degeneracy)
