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
    f = layout.spin
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
    return FlatIndex(
        edge=edge,
        row=row,
        col=col,
        spin=2 * spin_r + spin_c,
        dense_row=spin_r * n_tot + off[ei[edge, 0]] + orb_r,
        dense_col=spin_c * n_tot + off[ei[edge, 1]] + orb_c,
        n_dense=f * n_tot,
    )


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
