"""Symmetry test kit: random crystals and the exact action of E(3), SU(2), permutations and
lattice re-imaging on structure records and their Hamiltonian blocks.

Every check takes a ``predict(record) -> flat ΔH`` callable, so it applies to any module that
maps a record to blocks in the record's flat layout (the model, a baseline, a pipeline).

Rotation of blocks: a proper or improper rotation R (3×3 orthogonal, Cartesian, acting on
positions as r ↦ R r) maps the block of pair (i, j) to D_i B D_j† with D the real Wigner
matrix of each shell in PySCF order, Uᵀ D^l_e3nn(R) U (U = ``PYSCF_TO_E3NN``), including
the parity det(R)^l. For spinors D_i is ``kron(S, D_orb)`` (spin-major) with S ∈ SU(2) the
spin rotation of the proper part det(R)·R (spin is even under inversion). The Wigner
matrices are fitted in float64 from e3nn's spherical harmonics, exact to ~1e-14.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.linalg
import torch
from ase import Atoms
from ase.neighborlist import neighbor_list
from e3nn import o3
from scipy.spatial.transform import Rotation

from nextham.conventions import PYSCF_TO_E3NN, n_orbitals, time_reverse_spinor
from nextham.model.graph import partner_index
from nextham.record import keys as K
from nextham.record.layout import BlockLayout, block_pointers, orbital_counts

Predict = Callable[[dict], np.ndarray]
"""Maps a record to a flat array of blocks in that record's layout."""
PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])


def random_orthogonal(seed: int, improper: bool = False) -> np.ndarray:
    """Random rotation (det +1), or rotation times inversion (det −1) when ``improper``."""
    r = Rotation.random(random_state=seed).as_matrix()
    return -r if improper else r


def su2_from_rotation(rot: np.ndarray) -> np.ndarray:
    """SU(2) matrix S of a proper rotation with S σ_k S† = Σ_l R_lk σ_l, shape (2, 2)."""
    x, y, z, w = Rotation.from_matrix(rot).as_quat()
    return w * np.eye(2) - 1j * (x * PAULI[0] + y * PAULI[1] + z * PAULI[2])


def wigner_e3nn(l: int, rot: np.ndarray) -> np.ndarray:
    """Real Wigner matrix of e3nn's harmonics of degree l, parity (−1)^l, shape (2l+1, 2l+1).

    Fitted from Y(R p) = D Y(p) on random points (float64), for proper or improper R.
    """
    det = float(np.sign(np.linalg.det(rot)))
    pts = torch.as_tensor(np.random.default_rng(l).normal(size=(4 * l + 8, 3)))
    proper = torch.as_tensor(det * rot)
    y = o3.spherical_harmonics(l, pts, normalize=True, normalization="integral")
    y_rot = o3.spherical_harmonics(l, pts @ proper.T, normalize=True, normalization="integral")
    dt = np.linalg.lstsq(y.numpy(), y_rot.numpy(), rcond=None)[0]
    return dt.T * det**l


def orbital_rotation(shell_ls: Sequence[int], rot: np.ndarray, spinor: bool) -> np.ndarray:
    """Matrix D with v' = D v for an atom's orbital coefficients (PySCF order)."""
    d = scipy.linalg.block_diag(
        *[PYSCF_TO_E3NN[l].T @ wigner_e3nn(l, rot) @ PYSCF_TO_E3NN[l] for l in shell_ls]
    )
    if not spinor:
        return d
    det = float(np.sign(np.linalg.det(rot)))
    return np.kron(su2_from_rotation(det * rot), d)


def block_spans(record: dict, flat: np.ndarray) -> list[tuple[int, int, slice, tuple]]:
    """(i, j, span in ``flat``, block shape) of every pair of the record's flat layout (spinor
    blocks when the record is spinor and ``flat`` complex)."""
    layout = BlockLayout.of(record)
    if not np.iscomplexobj(flat):
        layout = layout.scalar()
    return [
        (int(i), int(j), layout.block_slice(e), layout.block_shape(e))
        for e, (i, j) in enumerate(layout.edge_index)
    ]


def rotate_blocks(record: dict, flat: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Blocks of ``flat`` (record layout) rotated: B_ij ↦ D_i B_ij D_j†."""
    spinor = bool(record[K.SPINOR]) and np.iscomplexobj(flat)
    mats = {int(z): orbital_rotation(ls, rot, spinor) for z, ls in record[K.BASIS_LS].items()}
    numbers = record[K.NUMBERS]
    out = np.empty_like(flat)
    for i, j, span, shape in block_spans(record, flat):
        di, dj = mats[int(numbers[i])], mats[int(numbers[j])]
        out[span] = (di @ flat[span].reshape(shape) @ dj.conj().T).ravel()
    return out


def _partners(record: dict) -> np.ndarray:
    return partner_index(np.asarray(record[K.EDGE_INDEX]), np.asarray(record[K.CELL_SHIFT]))


time_reverse_block = time_reverse_spinor
"""Θ B Θ⁻¹ of a spin-major spinor block, Θ = iσ_y K
(:func:`nextham.conventions.time_reverse_spinor`)."""


def hermitian_blocks(record: dict, rng: np.random.Generator, spinor: bool) -> np.ndarray:
    """Random flat blocks with B_ji(−R) = B_ij(R)†; time-reversal symmetric for spinors whose
    record metadata is non-magnetic."""
    dtype = complex if spinor else float
    flat = np.zeros(int(record[K.BLOCK_PTR][-1]) * (4 if spinor else 1), dtype=dtype)
    spans = block_spans(record, flat)
    partner = _partners(record)
    tr = spinor and not record[K.META].get("magnetic", False)
    for e, (_, _, span, shape) in enumerate(spans):
        if partner[e] < e:
            continue
        blk = rng.normal(size=shape) + (1j * rng.normal(size=shape) if spinor else 0)
        if tr:
            blk = 0.5 * (blk + time_reverse_block(blk))
        if partner[e] == e:
            blk = 0.5 * (blk + blk.conj().T)
        flat[span] = blk.ravel()
        flat[spans[partner[e]][2]] = blk.conj().T.ravel()
    return flat


def neighbor_pairs(cell: np.ndarray, positions: np.ndarray, cutoff: float) -> np.ndarray:
    """Directed pairs (i, j, R) within ``cutoff`` plus self pairs, sorted, shape (E, 5).

    Uses ASE's cell-list neighbour search, O(N) for a fixed density.
    """
    atoms = Atoms(positions=positions, cell=cell, pbc=True)
    i, j, shift = neighbor_list("ijS", atoms, cutoff, self_interaction=False)
    n = len(positions)
    rows = np.concatenate(
        [
            np.column_stack([i, j, shift]),
            np.column_stack([np.arange(n), np.arange(n), np.zeros((n, 3), dtype=int)]),
        ]
    ).astype(np.int64)
    return rows[np.lexsort(rows.T[::-1])]


def random_crystal_record(
    basis_ls: dict[int, Sequence[int]],
    numbers: Sequence[int],
    cell: np.ndarray,
    cutoff: float,
    spinor: bool = False,
    magnetic: bool = False,
    seed: int = 0,
    positions: np.ndarray | None = None,
) -> dict:
    """A crystal record with random positions and Hermitian-consistent random H0, HT, S.

    Pairs are all (i, j, R) within ``cutoff`` Å plus self pairs. For non-magnetic spinor
    data H0 and HT are time-reversal symmetric.
    """
    rng = np.random.default_rng(seed)
    cell = np.asarray(cell, dtype=float)
    if positions is None:
        positions = rng.uniform(size=(len(numbers), 3)) @ cell
    rows = neighbor_pairs(cell, positions, cutoff)
    n = np.array([n_orbitals(basis_ls[z]) for z in numbers])
    rec = {
        K.CELL: cell,
        K.POSITIONS: np.asarray(positions, dtype=float),
        K.NUMBERS: np.asarray(numbers, dtype=np.int64),
        K.EDGE_INDEX: rows[:, :2].copy(),
        K.CELL_SHIFT: rows[:, 2:].copy(),
        K.BLOCK_PTR: block_pointers(rows[:, :2], n),
        K.BASIS_LS: {int(z): tuple(basis_ls[z]) for z in set(numbers)},
        K.SPINOR: spinor,
        K.META: {"magnetic": magnetic},
    }
    rec[K.S] = hermitian_blocks(rec, rng, False)
    rec[K.H0] = hermitian_blocks(rec, rng, spinor)
    rec[K.HT] = rec[K.H0] + 0.1 * hermitian_blocks(rec, rng, spinor)
    return rec


def rotate_record(record: dict, rot: np.ndarray) -> dict:
    """The record of the structure rotated by ``rot`` (positions r ↦ R r), blocks rotated."""
    out = dict(record)
    out[K.CELL] = np.asarray(record[K.CELL]) @ rot.T
    out[K.POSITIONS] = np.asarray(record[K.POSITIONS]) @ rot.T
    for key in K.MATRIX_KEYS:
        out[key] = rotate_blocks(record, np.asarray(record[key]), rot)
    return out


def reorder_blocks(record: dict, flat: np.ndarray, edge_perm: np.ndarray) -> np.ndarray:
    """Flat blocks in the pair order ``edge_perm`` (new pair m = old pair edge_perm[m])."""
    spans = block_spans(record, flat)
    return np.concatenate([flat[spans[e][2]] for e in edge_perm])


def permute_record(record: dict, seed: int) -> tuple[dict, np.ndarray]:
    """Random relabelling of atoms and reordering of pairs.

    Returns the new record and ``edge_perm`` (new pair m is old pair edge_perm[m]).
    """
    rng = np.random.default_rng(seed)
    nat, n_edges = len(record[K.NUMBERS]), len(record[K.EDGE_INDEX])
    perm, edge_perm = rng.permutation(nat), rng.permutation(n_edges)
    inv = np.argsort(perm)
    pairs = np.asarray(record[K.EDGE_INDEX])[edge_perm]
    out = dict(record)
    out[K.POSITIONS] = np.asarray(record[K.POSITIONS])[perm]
    out[K.NUMBERS] = np.asarray(record[K.NUMBERS])[perm]
    out[K.EDGE_INDEX] = inv[pairs]
    out[K.CELL_SHIFT] = np.asarray(record[K.CELL_SHIFT])[edge_perm]
    out[K.BLOCK_PTR] = block_pointers(out[K.EDGE_INDEX], orbital_counts(out))
    for key in K.MATRIX_KEYS:
        out[key] = reorder_blocks(record, np.asarray(record[key]), edge_perm)
    return out, edge_perm


def translate_record(record: dict, shift: np.ndarray) -> dict:
    """All atoms moved by the same Cartesian ``shift`` (Å)."""
    out = dict(record)
    out[K.POSITIONS] = np.asarray(record[K.POSITIONS]) + np.asarray(shift)
    return out


def reimage_record(record: dict, atom: int, lattice_shift: np.ndarray) -> dict:
    """Atom ``atom`` replaced by its periodic image r + n·cell; pair shifts R adjusted so
    every pair is the same physical pair (blocks unchanged)."""
    n = np.asarray(lattice_shift, dtype=np.int64)
    out = dict(record)
    pos = np.array(record[K.POSITIONS], dtype=float)
    pos[atom] += n @ np.asarray(record[K.CELL])
    pairs = np.asarray(record[K.EDGE_INDEX])
    shift = np.array(record[K.CELL_SHIFT], dtype=np.int64)
    shift -= np.outer(pairs[:, 1] == atom, n)
    shift += np.outer(pairs[:, 0] == atom, n)
    out[K.POSITIONS], out[K.CELL_SHIFT] = pos, shift
    return out


def hermiticity_error(record: dict, flat: np.ndarray) -> float:
    """max |B_ji(−R) − B_ij(R)†| over all pairs."""
    spans, partner = block_spans(record, flat), _partners(record)
    err = 0.0
    for e, (_, _, span, shape) in enumerate(spans):
        p_span, p_shape = spans[partner[e]][2:]
        diff = flat[span].reshape(shape) - flat[p_span].reshape(p_shape).conj().T
        err = max(err, float(np.abs(diff).max()))
    return err


def time_reversal_error(record: dict, flat: np.ndarray) -> float:
    """max |Θ B Θ⁻¹ − B| over the spinor blocks of ``flat``."""
    err = 0.0
    for _, _, span, shape in block_spans(record, flat):
        blk = flat[span].reshape(shape)
        err = max(err, float(np.abs(time_reverse_block(blk) - blk).max()))
    return err


def symmetry_errors(predict: Predict, record: dict, seed: int = 0) -> dict[str, float]:
    """Max deviations of ``predict`` from every symmetry, relative to max |prediction|.

    Keys: ``rotation``, ``reflection`` (improper rotation), ``permutation``, ``translation``,
    ``image`` (another periodic image of an atom), ``hermiticity``.
    """
    ref = predict(record)
    scale = max(float(np.abs(ref).max()), 1e-30)
    errs = {}
    for name, rot in (
        ("rotation", random_orthogonal(seed)),
        ("reflection", random_orthogonal(seed + 1, improper=True)),
    ):
        got = predict(rotate_record(record, rot))
        errs[name] = float(np.abs(got - rotate_blocks(record, ref, rot)).max())
    permuted, edge_perm = permute_record(record, seed)
    errs["permutation"] = float(
        np.abs(predict(permuted) - reorder_blocks(record, ref, edge_perm)).max()
    )
    shift = np.random.default_rng(seed).normal(size=3)
    errs["translation"] = float(np.abs(predict(translate_record(record, shift)) - ref).max())
    moved = reimage_record(record, 0, np.array([1, -2, 1]))
    errs["image"] = float(np.abs(predict(moved) - ref).max())
    errs["hermiticity"] = hermiticity_error(record, ref)
    return {k: v / scale for k, v in errs.items()}


def assert_equivariant(predict: Predict, record: dict, tol: float, seed: int = 0) -> None:
    """Raise AssertionError listing every symmetry whose relative error exceeds ``tol``."""
    errs = symmetry_errors(predict, record, seed)
    bad = {k: v for k, v in errs.items() if not v <= tol}
    if bad:
        raise AssertionError(f"symmetry errors above {tol:g}: {bad} (all: {errs})")


def irreps_rotation(irreps: o3.Irreps, rot: np.ndarray) -> np.ndarray:
    """Exact (float64) block-diagonal representation matrix of ``irreps`` for rotation ``rot``.

    Same as ``irreps.D_from_matrix(rot)`` but without its float32 constants.
    """
    det = float(np.sign(np.linalg.det(rot)))
    blocks = []
    for mul, ir in o3.Irreps(irreps):
        d = wigner_e3nn(ir.l, rot) * det**ir.l * (ir.p if det < 0 else 1)
        blocks += [d] * mul
    return scipy.linalg.block_diag(*blocks)


SK_HOPPING = {"ss": -0.8, "sp": 0.6, "pp_sigma": 1.0, "pp_pi": -0.3}
"""Slater–Koster hoppings (eV) of :func:`tight_binding_record`; its overlaps are 0.08 times
these times −1 (S stays positive definite: six neighbours, ∑|S_ij| < 1)."""


def _sk_blocks(direction: np.ndarray, v: dict[str, float]) -> np.ndarray:
    """s/p Slater–Koster blocks (E, 4, 4) (s, px, py, pz) for unit bond vectors (E, 3)."""
    d = np.asarray(direction, dtype=float)
    out = np.zeros((len(d), 4, 4))
    out[:, 0, 0] = v["ss"]
    out[:, 0, 1:] = d * v["sp"]
    out[:, 1:, 0] = -d * v["sp"]
    out[:, 1:, 1:] = (v["pp_sigma"] - v["pp_pi"]) * d[:, :, None] * d[:, None, :]
    out[:, 1:, 1:] += v["pp_pi"] * np.eye(3)
    return out


def tight_binding_record(
    cells: Sequence[int] = (2, 2, 2),
    spinor: bool = False,
    electrons_per_atom: float = 2.0,
    gap_ev: float = 10.0,
    disorder_ev: float = 0.3,
    soc_ev: float = 0.2,
    a: float = 2.5,
    seed: int = 0,
) -> dict:
    """A supercell of a simple-cubic s/p tight-binding crystal with a non-orthogonal basis.

    One atom (4 orbitals: s, p) per a³ site, ``cells`` sites per direction, nearest-neighbour
    Slater–Koster hopping and overlap (:data:`SK_HOPPING`), on-site energies ε_p − ε_s =
    ``gap_ev`` plus random on-site disorder (per atom, symmetric) and a random ±10 % scale per
    bond, so levels are not degenerate. ``spinor``: H ⊗ I₂ plus on-site p spin–orbit coupling
    ``soc_ev`` L·σ (complex spinor blocks, spin-major). Two electrons per atom fill the s band
    (an insulator for large ``gap_ev``); one electron per atom makes a metal. Built vectorised,
    O(N) for large supercells. ``META["n_electrons"]`` holds the electron count.
    """
    rng = np.random.default_rng(seed)
    n = np.asarray(cells, dtype=np.int64)
    grid = np.stack(np.meshgrid(*[np.arange(m) for m in n], indexing="ij"), -1).reshape(-1, 3)
    nat = len(grid)
    atom_of = np.arange(nat).reshape(tuple(n))
    steps = np.concatenate([np.eye(3, dtype=np.int64), -np.eye(3, dtype=np.int64)])
    ii = np.repeat(np.arange(nat), 6)
    target = grid[ii] + np.tile(steps, (nat, 1))
    jj, shift = atom_of[tuple((target % n).T)], target // n
    scale = 1.0 + 0.1 * rng.uniform(-1, 1, size=len(ii))
    fwd = np.tile(np.arange(6) < 3, nat)  # a bond and its partner share the scale
    back = np.nonzero(fwd)[0]
    partner = atom_of[tuple((target[back] % n).T)] * 6 + (np.arange(len(back)) % 3) + 3
    scale[partner] = scale[back]
    hop = _sk_blocks(np.tile(steps, (nat, 1)).astype(float), SK_HOPPING) * scale[:, None, None]
    ovl = -0.08 * _sk_blocks(np.tile(steps, (nat, 1)).astype(float), SK_HOPPING)
    onsite = rng.normal(scale=disorder_ev, size=(nat, 4, 4))
    onsite = 0.5 * (onsite + onsite.transpose(0, 2, 1))
    onsite += np.diag([-0.5 * gap_ev, 0.5 * gap_ev, 0.5 * gap_ev, 0.5 * gap_ev])
    ei = np.concatenate([np.column_stack([np.arange(nat)] * 2), np.column_stack([ii, jj])])
    rs = np.concatenate([np.zeros((nat, 3), dtype=np.int64), shift])
    h = np.concatenate([onsite, hop])
    s = np.concatenate([np.broadcast_to(np.eye(4), (nat, 4, 4)), ovl])
    if spinor:
        lvec = np.array([[[0, 0, 0], [0, 0, -1j], [0, 1j, 0]], [[0, 0, 1j], [0, 0, 0],
                         [-1j, 0, 0]], [[0, -1j, 0], [1j, 0, 0], [0, 0, 0]]])  # fmt: skip
        soc = np.zeros((8, 8), dtype=complex)
        for sigma, lk in zip(PAULI, lvec):
            soc += np.kron(sigma, scipy.linalg.block_diag(0, lk))
        h = np.kron(np.eye(2), h).astype(complex)
        h[:nat] += soc_ev * soc
    rec = {
        K.CELL: np.diag(n * a).astype(float),
        K.POSITIONS: grid.astype(float) * a,
        K.NUMBERS: np.full(nat, 14, dtype=np.int64),
        K.EDGE_INDEX: ei.astype(np.int64),
        K.CELL_SHIFT: rs.astype(np.int64),
        K.BLOCK_PTR: block_pointers(ei, np.full(nat, 4)),
        K.S: s.reshape(-1).copy(),
        K.HT: h.reshape(-1).copy(),
        K.BASIS_LS: {14: (0, 1)},
        K.SPINOR: spinor,
        K.META: {"n_electrons": float(electrons_per_atom * nat)},
    }
    rec[K.H0] = rec[K.HT].copy()
    return rec
