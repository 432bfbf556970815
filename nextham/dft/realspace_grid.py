"""Matrix elements ⟨φ_i(r)| v |φ_j(r − R)⟩ of a periodic local potential, per lattice vector R.

PySCF's multigrid integration (``pyscf.pbc.dft.multigrid``) computes these real-space matrices
for every image R internally and then multiplies them by Bloch phases for each requested k;
for the Hamiltonian blocks H_ij(R) that the engine stores, the phases (and their transform
back) are wasted work, a large part of the cost for big cells. This module runs the same
multigrid tasks and keeps the per-image matrices. The one task that PySCF integrates on a plain
FFT grid (the most diffuse functions, no sparse partner) is still done at the band k-points and
returned as k-space matrices, to be Fourier-transformed with the other k-space terms.

Follows PySCF 2.x's ``multigrid._get_j_pass2`` / ``eval_mat`` (LDA-type potential, real), and
is checked against them in ``tests/test_dft_gridfock.py``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import numpy as np
import scipy.linalg
from pyscf import gto as molgto
from pyscf import lib
from pyscf.dft.numint import libdft
from pyscf.pbc import gto, tools
from pyscf.pbc.df import fft
from pyscf.pbc.dft import numint
from pyscf.pbc.dft.multigrid import multigrid as mg

GRID_PRECISION = 1e-4
"""Screening threshold of the Gaussian products in :func:`local_matrices` (PySCF's multigrid
uses ``cell.precision``, 1e-8 here, in the same formula). Largest change of any matrix
element against 1e-8, rattled 64-atom Si cell, default settings: 0.0005 meV at 1e-5, 0.0023 meV
at 1e-4, 0.017 meV at 1e-3; integration time 7.7 s → 5.1 s (1e-5) → 4.4 s (1e-4) → 3.8 s
(1e-3). 1e-4 stays 40× inside the 0.1 meV budget of
:data:`nextham.dft.gridfock.VERIFIED_ELEMENTS`, whose values were measured with it."""


def pair_screening_bound(t_cell, shls_slice) -> tuple[float, float]:
    """(A, μ): a primitive pair (i, j) of ``shls_slice`` whose centres are d apart passes the
    screening of PySCF's ``NUMINT_fill2c`` only if A − μ d² > ``log_prec``.

    A pair there contributes only if its integration radius (``gto_rcut``) is positive, which
    needs ln|c_i c_j| − μ_ij d² + M > ``log_prec`` with μ_ij = a_i a_j/(a_i + a_j),
    l = l_i + l_j, α = a_i + a_j and M = max(0, (l + 1) ln 10 − ln 2α, −⌊(l + 4)/2⌋ ln 2α)
    (``gto_rcut``'s two branches). The bound takes the smallest μ and α and the largest
    |c_i c_j| and l over the slice, plus a margin of e^5, so it keeps every pair that can
    contribute."""
    i0, i1, j0, j1 = shls_slice
    exps = t_cell._env[t_cell._bas[:, molgto.PTR_EXP]]
    coef = np.abs(t_cell._env[t_cell._bas[:, molgto.PTR_COEFF]])
    ang = t_cell._bas[:, molgto.ANG_OF]
    ai, aj = exps[i0:i1].min(), exps[j0:j1].min()
    mu = ai * aj / (ai + aj)
    top_l, log_2a = ang[i0:i1].max() + ang[j0:j1].max(), np.log(2 * (ai + aj))
    big_m = max(0.0, (top_l + 1) * np.log(10) - log_2a, -((top_l + 4) // 2) * log_2a)
    log_c = np.log(coef[i0:i1].max() * coef[j0:j1].max())
    return float(log_c + big_m + 5.0), float(mu)


def reachable_images(t_cell, shls_slice, ls: np.ndarray, log_prec: float) -> np.ndarray:
    """(nL,) bool: images L for which some primitive pair (i, j − L) of ``shls_slice`` passes
    the screening of PySCF's ``NUMINT_fill2c`` (it loops over every image and pair): the bound
    of :func:`pair_screening_bound` at the closest pair of atoms of the slice."""
    i0, i1, j0, j1 = shls_slice
    amplitude, mu = pair_screening_bound(t_cell, shls_slice)
    coords = t_cell.atom_coords()
    ri = coords[np.unique(t_cell._bas[i0:i1, molgto.ATOM_OF])]
    rj = coords[np.unique(t_cell._bas[j0:j1, molgto.ATOM_OF])]
    diff = ri[:, None, None] - rj[None, :, None] - ls[None, None]  # (ni, nj, nL, 3)
    d2 = np.einsum("abLx,abLx->abL", diff, diff).min(axis=(0, 1))
    return amplitude - mu * d2 > log_prec


def screening_precision(t_cell, mesh, precision: float) -> float:
    """PySCF's integration threshold for the primitive cell ``t_cell`` on ``mesh`` when
    ``precision`` plays the role of ``cell.precision`` (``multigrid.eval_mat``'s formula)."""
    vol = t_cell.vol
    weight_penalty = np.prod(mesh) / vol
    exp_min = np.hstack(t_cell.bas_exps()).min()
    lattice_sum_fac = max(2 * np.pi * t_cell.rcut / (vol * exp_min / 2), 1)
    return precision / weight_penalty / lattice_sum_fac


def image_matrices(
    t_cell, weights: np.ndarray, shls_slice, mesh, precision: float, scaled: float | None = None
) -> tuple:
    """Raw per-image matrices of ``eval_mat`` (LDA, comp 1, hermi 0): (Ls (nL, 3) Bohr,
    mat (nL, naoj, naoi)) with mat[L, q, p] = ⟨χ_p| v |χ_q(r − L)⟩ over primitive Cartesians.
    ``precision`` plays the role of ``cell.precision`` in PySCF's screening; ``scaled``, if
    given, is the threshold itself (:func:`screening_precision` of a larger cell)."""
    batches = list(image_matrix_batches(t_cell, weights, shls_slice, mesh, precision, scaled))
    return np.concatenate([ls for ls, _ in batches]), np.concatenate([m for _, m in batches])


def image_matrix_batches(
    t_cell, weights, shls_slice, mesh, precision: float, scaled: float | None = None,
    max_bytes: float | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """:func:`image_matrices` a batch of images at a time, each batch's matrices at most
    ``max_bytes`` (None: one batch): yields (Ls, mat) as that function returns them."""
    precision = screening_precision(t_cell, mesh, precision) if scaled is None else scaled
    atm, bas, env = molgto.conc_env(
        t_cell._atm, t_cell._bas, t_cell._env, t_cell._atm, t_cell._bas, t_cell._env
    )
    env[mg.PTR_EXPDROP] = min(precision * mg.EXTRA_PREC, mg.EXPDROP)
    ao_loc = molgto.moleintor.make_loc(bas, "cart")
    i0, i1, j0, j1 = shls_slice
    j0, j1 = j0 + t_cell.nbas, j1 + t_cell.nbas
    naoi, naoj = ao_loc[i1] - ao_loc[i0], ao_loc[j1] - ao_loc[j0]
    log_prec = np.log(precision * mg.EXTRA_PREC)
    ls = gto.eval_gto.get_lattice_Ls(t_cell, dimension=3)
    ls = np.ascontiguousarray(ls[reachable_images(t_cell, shls_slice, ls, log_prec)])
    a = t_cell.lattice_vectors()
    b = np.linalg.inv(a.T)
    orth = abs(a - np.diag(a.diagonal())).max() < 1e-12
    fn = getattr(libdft, "NUMINTeval_lda" + ("_orth" if orth else "_nonorth"))
    weights = np.ascontiguousarray(weights, dtype=np.double)
    step = len(ls) if max_bytes is None else max(1, int(max_bytes // (8 * naoi * naoj)))
    c_int3 = ctypes.c_int * 3
    for s0 in range(0, len(ls), max(step, 1)):
        part = np.ascontiguousarray(ls[s0 : s0 + step])
        mat = np.zeros((len(part), 1, naoj, naoi))
        libdft.NUMINT_fill2c(
            fn, weights.ctypes.data_as(ctypes.c_void_p), mat.ctypes.data_as(ctypes.c_void_p),
            ctypes.c_int(1), ctypes.c_int(0), (ctypes.c_int * 4)(i0, i1, j0, j1),
            ao_loc.ctypes.data_as(ctypes.c_void_p), ctypes.c_double(log_prec),
            ctypes.c_int(3), ctypes.c_int(len(part)), part.ctypes.data_as(ctypes.c_void_p),
            a.ctypes.data_as(ctypes.c_void_p), b.ctypes.data_as(ctypes.c_void_p),
            c_int3(0, 0, 0), c_int3(*mesh), c_int3(*mesh),
            atm.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(len(atm)),
            bas.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(len(bas)),
            env.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(len(env)),
        )  # fmt: skip
        yield part, mat[:, 0]


def local_matrices(
    ni, cell, v_g: np.ndarray, kband: np.ndarray, precision: float | None = GRID_PRECISION
) -> tuple[dict, np.ndarray]:
    """Matrix elements of the local potential ``v_g`` (multigrid G-space convention).

    ``precision``: Gaussian-product screening (:data:`GRID_PRECISION`; None: ``cell.precision``,
    PySCF's own choice).

    Returns
    -------
    by_shift : dict mapping integer lattice shifts (3-tuples) to (nao, nao) real matrices
        H_ij(R) = ⟨φ_i(r)| v |φ_j(r − R)⟩ from the sparse multigrid tasks
    dense_k : (nband, nao, nao) complex, the plain-FFT task at ``kband`` (Bloch sums)
    """
    nao = cell.nao_nr()
    vg = v_g.reshape(ni.mesh)
    inv_a = np.linalg.inv(cell.lattice_vectors())
    by_shift: dict[tuple, np.ndarray] = {}
    dense_k = np.zeros((len(kband), nao, nao), dtype=complex)
    for dense, sparse in ni.tasks:
        mesh = dense.mesh
        freqs = [np.fft.fftfreq(m, 1.0 / m).astype(int) for m in mesh]
        sub = vg[np.ix_(*freqs)].reshape(-1)
        v_r = np.ascontiguousarray(tools.ifft(sub, mesh).real.reshape(-1))
        idx_h = dense.ao_idx
        if sparse is None:
            for ao_etc, p0, p1 in fft.FFTDF(cell, kpts=kband).aoR_loop(dense, kband):
                for k, ao in enumerate(ao_etc[0]):
                    aow = numint._scale_ao(ao, v_r[p0:p1])
                    dense_k[k, idx_h[:, None], idx_h] += lib.dot(ao.conj().T, aow)
            continue
        idx_l = sparse.ao_idx
        h_pcell, h_coeff = dense.cell.decontract_basis(to_cart=True, aggregate=True)
        l_pcell, l_coeff = sparse.cell.decontract_basis(to_cart=True, aggregate=True)
        t_cell = h_pcell + l_pcell
        t_coeff = scipy.linalg.block_diag(h_coeff, l_coeff)
        n_h = mg._pgto_shells(dense.cell)
        sl = (0, n_h, 0, mg._pgto_shells(t_cell))
        ls, mat = image_matrices(t_cell, v_r, sl, mesh, precision or cell.precision)
        shifts = np.rint(ls @ inv_a).astype(int)
        naoh = len(idx_h)
        hh, hl, lh = np.ix_(idx_h, idx_h), np.ix_(idx_h, idx_l), np.ix_(idx_l, idx_h)
        for img, shift in enumerate(shifts):
            if not mat[img].any():  # image screened out entirely by the integration
                continue
            # block[j, i] = Σ_pq t_coeff[q, j] mat[q, p] h_coeff[p, i]
            block = t_coeff.T @ (mat[img] @ h_coeff)
            out = by_shift.setdefault(tuple(shift), np.zeros((nao, nao)))
            out[hh] += block[:naoh].T
            out[hl] += block[naoh:].T
            out = by_shift.setdefault(tuple(-shift), np.zeros((nao, nao)))
            out[lh] += block[naoh:]  # H_lh(−R) = H_hl(R)ᵀ
    return by_shift, dense_k
