"""Per-entry index maps of a flat block array, and S in the layout of a spinor Hamiltonian.

For every entry of a flat array (:mod:`nextham.record.layout`): which pair (edge) it belongs to,
where it sits in its block, which spin block it is part of and where it lands in the dense
matrix of the whole cell. Pure numpy and cheap, so recomputed on demand.

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

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from nextham.record import keys as K
from nextham.record.layout import BlockLayout, atom_offsets

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


def flat_index(layout: BlockLayout) -> FlatIndex:
    """Index maps of every entry of a flat array in ``layout``.

    Returns
    -------
    FlatIndex
        Arrays of length ``layout.n_entries`` (``f² * block_ptr[-1]``, f = 2 for spinors).

    Raises
    ------
    ValueError
        If the block pointers do not match the orbital counts of the pairs.
    """
    ptr, ei, norb = layout.block_ptr, layout.edge_index, layout.n_orb
    ni, nj = norb[ei[:, 0]], norb[ei[:, 1]]
    if not np.array_equal(np.diff(ptr), ni * nj):
        raise ValueError("block_ptr does not match the orbital counts of the edge atoms")
    f, off, n_tot = layout.spin, atom_offsets(norb), int(norb.sum())
    out = {name: np.empty(f * f * int(ptr[-1]), dtype=np.int64) for name in _FIELDS}
    shapes = ni * (int(norb.max(initial=0)) + 1) + nj
    for shape in np.unique(shapes):  # blocks of one shape: a pattern plus per-edge offsets
        edges = np.flatnonzero(shapes == shape)
        pattern = _block_pattern(int(ni[edges[0]]), int(nj[edges[0]]), f, n_tot)
        shift = {"edge": edges, "dense_row": off[ei[edges, 0]], "dense_col": off[ei[edges, 1]]}
        size = len(pattern["row"])
        pos = None if len(edges) == len(ei) else (f * f * ptr[edges])[:, None] + np.arange(size)
        for name in _FIELDS:
            value = pattern.get(name, 0) + shift.get(name, np.zeros(1, np.int64))[:, None]
            if pos is None:  # one block shape: every entry in order
                out[name].reshape(-1, size)[:] = value
            else:
                out[name][pos] = value
    return FlatIndex(**out, n_dense=f * n_tot)


_FIELDS = ("edge", "row", "col", "spin", "dense_row", "dense_col")


def _block_pattern(n_i: int, n_j: int, f: int, n_tot: int) -> dict[str, np.ndarray]:
    """The edge-independent index values of the entries of one (f n_i, f n_j) block, each
    (f² n_i n_j,) in row-major order: row, col, spin code and dense row/col less the atoms'
    offsets."""
    rows, cols = f * n_i, f * n_j
    row, col = np.repeat(np.arange(rows), cols), np.tile(np.arange(cols), rows)
    spin_r, spin_c = row // n_i, col // n_j
    return {
        "row": row,
        "col": col,
        "spin": 2 * spin_r + spin_c,
        "dense_row": spin_r * n_tot + row % n_i,
        "dense_col": spin_c * n_tot + col % n_j,
    }


def spin_diagonal_flat(s_flat: np.ndarray, layout: BlockLayout) -> np.ndarray:
    """X ⊗ I₂: a scalar flat array X (pairs of ``layout``; S, or a scalar correction ΔH) in the
    spinor layout.

    Returns an array of length ``4 * block_ptr[-1]`` with the dtype of ``s_flat``: each
    (2 n_i, 2 n_j) block is ``[[X_ij, 0], [0, X_ij]]`` (spin-major).
    """
    idx = flat_index(replace(layout, spinor=True))
    s = np.asarray(s_flat)
    ptr, ei, norb = layout.block_ptr, layout.edge_index, layout.n_orb
    ni, nj = norb[ei[:, 0]], norb[ei[:, 1]]
    e = idx.edge
    orb_r, orb_c = idx.row % ni[e], idx.col % nj[e]
    src = ptr[e] + orb_r * nj[e] + orb_c
    diag = (idx.spin == SPIN_UU) | (idx.spin == SPIN_DD)
    return np.where(diag, s[src], np.zeros((), dtype=s.dtype))


def record_overlap_flat(record: Mapping) -> np.ndarray:
    """S of a record in the layout of its H0/HT: scalar S, or S ⊗ I₂ for spinor records."""
    s = np.asarray(record[K.S])
    if not record[K.SPINOR]:
        return s
    return spin_diagonal_flat(s, BlockLayout.of(record, K.S))
