"""Index maps of the flat block layout of a structure record.

A record stores all blocks of a matrix concatenated in one 1-D array (see
:mod:`nextham.store.schema`). The functions here say, for every entry of that array, which
pair (edge) it belongs to, where it sits in its block, which spin block it is part of and
where it lands in the dense matrix of the whole cell. They are pure numpy and cheap, so they
can be recomputed on demand.

Dense layout
------------
Scalar: atom a owns rows ``off[a]:off[a] + n_a`` of the (N_orb, N_orb) matrix, atoms in
record order. Spinor: the (2 N_orb, 2 N_orb) matrix is globally spin-major (PySCF's GHF
order): rows ``off[a] + o`` for spin ↑ and ``N_orb + off[a] + o`` for spin ↓.

Spin-block codes
----------------
``SPIN_UU = 0``, ``SPIN_UD = 1``, ``SPIN_DU = 2``, ``SPIN_DD = 3``; scalar entries are all
``SPIN_UU``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nextham.conventions import n_orbitals
from nextham.store import schema

SPIN_UU, SPIN_UD, SPIN_DU, SPIN_DD = 0, 1, 2, 3


@dataclass(frozen=True)
class FlatIndex:
    """Per-entry index arrays of a flat block layout, all of shape (n_entries,) int64.

    Attributes
    ----------
    edge : pair (edge) index of each entry.
    row, col : row and column of the entry inside its block.
    spin : spin-block code (see module docstring).
    dense_row, dense_col : row and column in the dense cell matrix.
    n_dense : size M of the dense matrix (N_orb, or 2 N_orb for spinors).
    """

    edge: np.ndarray
    row: np.ndarray
    col: np.ndarray
    spin: np.ndarray
    dense_row: np.ndarray
    dense_col: np.ndarray
    n_dense: int


def orbitals_per_atom(numbers: Sequence[int], basis_ls: Mapping) -> np.ndarray:
    """Number of spatial basis functions of each atom, shape (N,) int64.

    ``basis_ls`` maps the atomic number (int or its string) to the l of each shell.
    """
    out = []
    for z in np.asarray(numbers).tolist():
        ls = basis_ls[z] if z in basis_ls else basis_ls[str(z)]
        out.append(n_orbitals(ls))
    return np.asarray(out, dtype=np.int64)


def record_orbitals(record: Mapping) -> np.ndarray:
    """:func:`orbitals_per_atom` of a structure record, shape (N,)."""
    return orbitals_per_atom(record[schema.NUMBERS], record[schema.BASIS_LS])


def atom_offsets(n_orb_per_atom: np.ndarray) -> np.ndarray:
    """First dense row of each atom (scalar layout), shape (N,) int64."""
    n = np.asarray(n_orb_per_atom, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)


def flat_index(
    block_ptr: np.ndarray,
    edge_index: np.ndarray,
    n_orb_per_atom: np.ndarray,
    spinor: bool,
) -> FlatIndex:
    """Index maps of every entry of a flat block array.

    Parameters
    ----------
    block_ptr : (E + 1,) int
        Offsets of the blocks in the scalar layout (spinor offsets are ``4 * block_ptr``).
    edge_index : (E, 2) int
        Atom pairs (i, j).
    n_orb_per_atom : (N,) int
        Spatial basis functions per atom.
    spinor : bool
        Whether the flat array holds (2 n_i, 2 n_j) spinor blocks.

    Returns
    -------
    FlatIndex
        Arrays of length ``f² * block_ptr[-1]`` with ``f = 2`` for spinors, else 1.
    """
    ptr = np.asarray(block_ptr, dtype=np.int64)
    ei = np.asarray(edge_index, dtype=np.int64).reshape(-1, 2)
    norb = np.asarray(n_orb_per_atom, dtype=np.int64)
    ni, nj = norb[ei[:, 0]], norb[ei[:, 1]]
    if not np.array_equal(np.diff(ptr), ni * nj):
        raise ValueError("block_ptr does not match the orbital counts of the edge atoms")
    f = 2 if spinor else 1
    rows, cols = f * ni, f * nj
    sizes = rows * cols
    edge = np.repeat(np.arange(len(ei), dtype=np.int64), sizes)
    local = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(f * f * ptr[:-1], sizes)
    row, col = local // cols[edge], local % cols[edge]
    ni_e, nj_e = ni[edge], nj[edge]
    spin_r, orb_r = row // ni_e, row % ni_e
    spin_c, orb_c = col // nj_e, col % nj_e
    off = atom_offsets(norb)
    n_tot = int(norb.sum())
    dense_row = spin_r * n_tot + off[ei[edge, 0]] + orb_r
    dense_col = spin_c * n_tot + off[ei[edge, 1]] + orb_c
    return FlatIndex(
        edge=edge,
        row=row,
        col=col,
        spin=2 * spin_r + spin_c,
        dense_row=dense_row,
        dense_col=dense_col,
        n_dense=f * n_tot,
    )


def spinor_overlap_flat(
    s_flat: np.ndarray, block_ptr: np.ndarray, edge_index: np.ndarray, n_orb_per_atom: np.ndarray
) -> np.ndarray:
    """Expand a scalar flat S to the spinor layout of S ⊗ I₂ (spin-major blocks).

    Returns an array of length ``4 * block_ptr[-1]`` with the dtype of ``s_flat``: each
    (2 n_i, 2 n_j) block is ``[[S_ij, 0], [0, S_ij]]``.
    """
    idx = flat_index(block_ptr, edge_index, n_orb_per_atom, spinor=True)
    s = np.asarray(s_flat)
    ptr = np.asarray(block_ptr, dtype=np.int64)
    norb = np.asarray(n_orb_per_atom, dtype=np.int64)
    ei = np.asarray(edge_index, dtype=np.int64).reshape(-1, 2)
    ni, nj = norb[ei[:, 0]], norb[ei[:, 1]]
    e = idx.edge
    orb_r, orb_c = idx.row % ni[e], idx.col % nj[e]
    src = ptr[e] + orb_r * nj[e] + orb_c
    diag = (idx.spin == SPIN_UU) | (idx.spin == SPIN_DD)
    return np.where(diag, s[src], np.zeros((), dtype=s.dtype))


def record_overlap_flat(record: Mapping) -> np.ndarray:
    """S of a record in the layout of its H0/HT: scalar S, or S ⊗ I₂ for spinor records."""
    s = np.asarray(record[schema.S])
    if not record[schema.SPINOR]:
        return s
    return spinor_overlap_flat(
        s, record[schema.BLOCK_PTR], record[schema.EDGE_INDEX], record_orbitals(record)
    )


def edge_distances(record: Mapping) -> np.ndarray:
    """Length |r_j + R·cell − r_i| of each pair in Å, shape (E,)."""
    pos = np.asarray(record[schema.POSITIONS], dtype=float)
    cell = np.asarray(record[schema.CELL], dtype=float)
    ei = np.asarray(record[schema.EDGE_INDEX], dtype=np.int64).reshape(-1, 2)
    shift = np.asarray(record[schema.CELL_SHIFT], dtype=float).reshape(-1, 3)
    vec = pos[ei[:, 1]] + shift @ cell - pos[ei[:, 0]]
    return np.linalg.norm(vec, axis=1)
