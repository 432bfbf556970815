"""Multigrid integrals of a chunk of home atoms on a box of the mesh that holds their products.

PySCF's ``NUMINT_fill2c`` on the periodic mesh contracts, for every primitive pair, the first
axis over the pair's range but the two others over the cell's whole cross-section
(``_orth_ints``: one GEMM of mesh[1]·mesh[2] columns per pair). The cost of one pair then
grows with the cell, and the local-potential blocks of a large cell with a power ≈ 1.6 of its
size. Here the same kernel runs non-periodically (``dimension=0``) on a box cut from the cell's
mesh that holds the integration range of every product of the chunk: the box's points are the
cell mesh's points (the potential there is the periodic potential's values, wrapped), and the
partner functions sit at their lattice images explicitly. A pair then costs ∝ the box's
cross-section, the same in every cell. The sums are the periodic call's: a product that the
cell folds onto itself is summed over the box's periodic copies of the points, which is the
fold written out (``tests/test_dft_sparse_h0.py``).
"""

from __future__ import annotations

import ctypes

import numpy as np
from pyscf import gto as molgto
from pyscf.dft.numint import libdft
from pyscf.pbc.dft.multigrid import multigrid as mg

from nextham.dft.pairs import shell_rows

COMMON_FAC = np.array([0.282094791773878143, 0.488602511902919921] + [1.0] * 6)
"""libcint's ``CINTcommon_fac_sp`` by l = 0 … 7 (1 from l = 2 on), part of each pair's
amplitude."""
MARGIN = 2
"""Mesh points added on each side of the box beyond the largest integration range."""


def placed_shells(pcell, atoms: np.ndarray, positions: np.ndarray) -> tuple:
    """(atm, bas, env) of the shells of ``pcell``'s ``atoms`` (repeats allowed, e.g. lattice
    images) placed at ``positions`` (n, 3) Bohr, atoms renumbered 0…n−1 in that order."""
    atoms = np.asarray(atoms, dtype=np.int64)
    rows, counts = shell_rows(pcell, atoms)
    env = np.concatenate([pcell._env, np.asarray(positions, dtype=float).ravel()])
    atm = np.array(pcell._atm[atoms], dtype=np.int32).reshape(-1, molgto.ATM_SLOTS)
    atm[:, molgto.PTR_COORD] = len(pcell._env) + 3 * np.arange(len(atoms))
    bas = np.array(pcell._bas[rows], dtype=np.int32).reshape(-1, molgto.BAS_SLOTS)
    bas[:, molgto.ATOM_OF] = np.repeat(np.arange(len(atoms)), counts)
    return atm, bas, env


def joined(*parts: tuple) -> tuple:
    """One (atm, bas, env) of several (PySCF's ``conc_env`` in turn)."""
    atm, bas, env = parts[0]
    for a, b, e in parts[1:]:
        atm, bas, env = molgto.conc_env(atm, bas, env, a, b, e)
    return atm, bas, env


def _shell_data(atm, bas, env) -> tuple:
    """Per shell: exponent, |coefficient| × libcint's factor, l, centre (Bohr)."""
    exps = env[bas[:, molgto.PTR_EXP]]
    ang = bas[:, molgto.ANG_OF]
    fac = COMMON_FAC[ang]
    coef = np.abs(env[bas[:, molgto.PTR_COEFF]]) * fac
    ptr = atm[bas[:, molgto.ATOM_OF], molgto.PTR_COORD]
    centre = env[ptr[:, None] + np.arange(3)]
    return exps, coef, ang, centre


def product_radii(home: tuple, partner: tuple, log_prec: float) -> tuple:
    """(centres (ni, nj, 3), radii (ni, nj)) of every product's integration range: the
    product centre and ``gto_rcut`` of ``NUMINT_fill2c`` (0 where the pair is screened out).
    ``home``/``partner``: :func:`_shell_data` of the i and j shells."""
    ai, ci, li, ri = (x[:, None] for x in home)
    aj, cj, lj, rj = (x[None] for x in partner)
    aij = ai + aj
    centre = (ai[..., None] * ri + aj[..., None] * rj) / aij[..., None]
    d2 = np.sum((ri - rj) ** 2, axis=-1)
    log_c = np.log(ci * cj) - ai * aj / aij * d2
    log_2a = np.log(2 * aij)
    wide = 2 * np.log(10.0) + log_2a > 1  # gto_rcut's two branches, r = 10 first
    prod = np.where(wide, (li + lj + 1) * np.log(10.0) - log_2a, -((li + lj + 4) // 2) * log_2a)
    prod = prod + log_c - log_prec
    prod = np.where(prod < aij, log_c - log_prec, prod)
    return centre, np.sqrt(np.maximum(prod, 0.0) / aij)


def support_box(centres: np.ndarray, radii: np.ndarray, lattice: np.ndarray, mesh) -> tuple:
    """(first mesh index (3,), box points per axis (3,)) of the smallest box of the cell's
    mesh holding every range of radius > 0, plus :data:`MARGIN` points a side."""
    keep = radii > 0
    inv = np.linalg.inv(lattice)
    frac = centres[keep] @ inv  # (n, 3)
    half = radii[keep][:, None] * np.linalg.norm(inv, axis=0)[None]
    n = np.asarray(mesh)
    lo = np.floor((frac - half).min(axis=0) * n).astype(np.int64) - MARGIN
    hi = np.ceil((frac + half).max(axis=0) * n).astype(np.int64) + MARGIN
    return lo, hi - lo


def chunk_matrix(
    atm, bas, env, n_home: int, v_mesh: np.ndarray, lattice: np.ndarray, log_prec: float,
    expdrop: float,
) -> np.ndarray | None:  # fmt: skip
    """⟨i|v|j⟩ (n_j, n_i) Cartesian, of the first ``n_home`` shells (i) against the others
    (j), all placed explicitly (lattice images included); ``v_mesh`` the potential on the
    cell's mesh (3-D). The home shells of one exponent at a time, each group on its own box
    (:func:`support_box`: a tight shell's products need a much smaller box than a diffuse
    one's) when every range fits in it with 3 points to spare on each axis (then no product
    wraps onto itself and the box sums are the periodic sums), else on the periodic mesh.
    None when no product passes the screening."""
    mesh = np.asarray(v_mesh.shape)
    data = _shell_data(atm, bas, env)
    home = tuple(x[:n_home] for x in data)
    centres, radii = product_radii(home, tuple(x[n_home:] for x in data), log_prec)
    if not (radii > 0).any():
        return None
    env = env.copy()
    env[mg.PTR_EXPDROP] = expdrop  # the kernel's amplitude screening, once per chunk
    ao_loc = molgto.moleintor.make_loc(bas, "cart")
    out = np.zeros((ao_loc[-1] - ao_loc[n_home], ao_loc[n_home]))
    for exponent in np.unique(home[0]):
        group = np.flatnonzero((home[0] == exponent) & (radii > 0).any(axis=1))
        if not len(group):
            continue
        sub = np.concatenate([bas[group], bas[n_home:]])
        cols = np.concatenate([np.arange(ao_loc[g], ao_loc[g + 1]) for g in group])
        box = support_box(centres[group], radii[group], lattice, mesh)
        out[:, cols] = _group_matrix(atm, sub, env, len(group), v_mesh, lattice, box, log_prec)
    return out


def _group_matrix(
    atm, bas, env, n_home: int, v_mesh: np.ndarray, lattice: np.ndarray, box: tuple,
    log_prec: float,
) -> np.ndarray:  # fmt: skip
    """:func:`_fill` on the box ``(first index, points)`` of the mesh, or on the periodic
    mesh where the box leaves fewer than 3 points to spare on an axis."""
    mesh = np.asarray(v_mesh.shape)
    lo, dims = box
    if (dims > mesh - 3).any():
        weights = np.ascontiguousarray(v_mesh.reshape(-1))
        return _fill(atm, bas, env, n_home, weights, lattice, mesh, 3, log_prec)
    step = lattice / mesh[:, None]  # one mesh step along each lattice vector (rows)
    idx = [np.arange(lo[k], lo[k] + dims[k]) % mesh[k] for k in range(3)]
    weights = np.ascontiguousarray(v_mesh[np.ix_(*idx)])
    env = env.copy()
    env[atm[:, molgto.PTR_COORD][:, None] + np.arange(3)] -= lo @ step
    if _orthogonal(step):
        return _fill_own_ranges(atm, bas, env, n_home, weights, np.diag(step).copy(), log_prec)
    box_lattice = np.ascontiguousarray(dims[:, None] * step)
    return _fill(atm, bas, env, n_home, weights.reshape(-1), box_lattice, dims, 0, log_prec)


def _orthogonal(lattice: np.ndarray) -> bool:
    """Whether the rows of ``lattice`` (3, 3) lie along x, y and z."""
    return abs(lattice - np.diag(lattice.diagonal())).max() < 1e-12


def _fill_own_ranges(
    atm, bas, env, n_home: int, weights: np.ndarray, step: np.ndarray, log_prec: float
) -> np.ndarray:
    """:func:`_fill` on an orthogonal box ``weights`` (nx, ny, nz) of mesh steps ``step``
    (3,), each pair contracted over its own range (:func:`nextham.dft.grid_kernel.fill_orth`:
    the same numbers, a fraction of the work)."""
    from nextham.dft.grid_kernel import fill_orth  # deferred: numba loads only for large cells

    ao_loc = molgto.moleintor.make_loc(bas, "cart").astype(np.int64)
    ptr = atm[bas[:, molgto.ATOM_OF], molgto.PTR_COORD]
    return fill_orth(
        weights, step, bas[:, molgto.ANG_OF].astype(np.int64), env[bas[:, molgto.PTR_EXP]],
        env[bas[:, molgto.PTR_COEFF]], env[ptr[:, None] + np.arange(3)], ao_loc, n_home,
        log_prec, float(env[mg.PTR_EXPDROP]), COMMON_FAC,
    )  # fmt: skip


def _fill(
    atm, bas, env, n_home: int, weights: np.ndarray, lattice: np.ndarray, mesh, dimension: int,
    log_prec: float,
) -> np.ndarray:  # fmt: skip
    """PySCF's ``NUMINT_fill2c`` (LDA, one image: the partners are placed already) of the
    first ``n_home`` shells against the rest, on ``mesh`` points spanning ``lattice``;
    ``env`` holds the screening threshold (``PTR_EXPDROP``) already."""
    ao_loc = molgto.moleintor.make_loc(bas, "cart")
    nbas = len(bas)
    naoi, naoj = ao_loc[n_home], ao_loc[nbas] - ao_loc[n_home]
    lattice = np.ascontiguousarray(lattice, dtype=float)
    b = np.linalg.inv(lattice.T)
    fn = getattr(libdft, "NUMINTeval_lda" + ("_orth" if _orthogonal(lattice) else "_nonorth"))
    mat = np.zeros((1, 1, naoj, naoi))
    c_int3 = ctypes.c_int * 3
    ls = np.zeros((1, 3))
    libdft.NUMINT_fill2c(
        fn, weights.ctypes.data_as(ctypes.c_void_p), mat.ctypes.data_as(ctypes.c_void_p),
        ctypes.c_int(1), ctypes.c_int(0), (ctypes.c_int * 4)(0, n_home, n_home, nbas),
        ao_loc.ctypes.data_as(ctypes.c_void_p), ctypes.c_double(log_prec),
        ctypes.c_int(dimension), ctypes.c_int(1), ls.ctypes.data_as(ctypes.c_void_p),
        lattice.ctypes.data_as(ctypes.c_void_p), b.ctypes.data_as(ctypes.c_void_p),
        c_int3(0, 0, 0), c_int3(*mesh), c_int3(*mesh),
        atm.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(len(atm)),
        bas.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(nbas),
        env.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(len(env)),
    )  # fmt: skip
    return mat[0, 0]
