"""Where each block of a record lives: orbital counts, block pointers, the layout object.

A record stores all blocks of a matrix concatenated in one 1-D array (:mod:`nextham.record.keys`).
Block e of pair (i, j) starts at ``f² · BLOCK_PTR[e]`` and has shape (f n_i, f n_j), with f = 2
for spinor Hamiltonians and 1 for scalar ones and for S. :class:`BlockLayout` carries the five
arrays every k-space or per-block computation needs, so they travel as one argument.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from nextham.conventions import n_orbitals
from nextham.errors import InputError
from nextham.record import keys as K

BlockKey = tuple[int, int, int, int, int]
"""(i, j, Rx, Ry, Rz): atom i in the home cell, atom j in cell R."""


def orbitals_per_atom(numbers: Sequence[int], basis_ls: Mapping) -> np.ndarray:
    """Number of spatial basis functions of each atom, shape (N,) int64.

    ``basis_ls`` maps the atomic number (int or its string) to the l of each shell.
    """
    out = []
    for z in np.asarray(numbers).tolist():
        ls = basis_ls[z] if z in basis_ls else basis_ls[str(z)]
        out.append(n_orbitals(ls))
    return np.asarray(out, dtype=np.int64)


def orbital_counts(record: Mapping) -> np.ndarray:
    """:func:`orbitals_per_atom` of a record, shape (N,) int64."""
    return orbitals_per_atom(record[K.NUMBERS], record[K.BASIS_LS])


def atom_offsets(n_orb_per_atom: np.ndarray) -> np.ndarray:
    """First dense row of each atom (scalar layout), shape (N,) int64."""
    n = np.asarray(n_orb_per_atom, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)


def block_pointers(edge_index: np.ndarray, n_orb_per_atom: np.ndarray) -> np.ndarray:
    """Scalar-layout offsets of the blocks of ``edge_index`` (E, 2), shape (E + 1,) int64."""
    n = np.asarray(n_orb_per_atom, dtype=np.int64)
    ei = np.asarray(edge_index, dtype=np.int64).reshape(-1, 2)
    sizes = n[ei[:, 0]] * n[ei[:, 1]]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def spin_factor(record: Mapping, key: str) -> int:
    """2 if the blocks of matrix ``key`` are spinor blocks, else 1 (S is always scalar)."""
    return 2 if (record[K.SPINOR] and key != K.S) else 1


@dataclass(frozen=True)
class BlockLayout:
    """The flat block layout of one matrix of a record.

    Attributes
    ----------
    block_ptr : (E + 1,) int64
        Scalar-layout block offsets (spinor offsets are ``4 * block_ptr``).
    edge_index : (E, 2) int64
        Pairs (i, j), atom j in cell R.
    cell_shift : (E, 3) int64
        Translation R of each pair.
    n_orb : (N,) int64
        Spatial basis functions per atom.
    spinor : bool
        Whether the flat array holds (2 n_i, 2 n_j) spinor blocks.
    """

    block_ptr: np.ndarray
    edge_index: np.ndarray
    cell_shift: np.ndarray
    n_orb: np.ndarray
    spinor: bool

    @classmethod
    def of(cls, record: Mapping, key: str = K.HT) -> BlockLayout:
        """The layout of matrix ``key`` of ``record`` (``K.S``: always scalar)."""
        return cls(
            block_ptr=np.asarray(record[K.BLOCK_PTR], dtype=np.int64),
            edge_index=np.asarray(record[K.EDGE_INDEX], dtype=np.int64).reshape(-1, 2),
            cell_shift=np.asarray(record[K.CELL_SHIFT], dtype=np.int64).reshape(-1, 3),
            n_orb=orbital_counts(record),
            spinor=spin_factor(record, key) == 2,
        )

    def scalar(self) -> BlockLayout:
        """The same pairs in the scalar layout (that of S)."""
        return self if not self.spinor else replace(self, spinor=False)

    @property
    def spin(self) -> int:
        """2 for spinor blocks, 1 for scalar ones."""
        return 2 if self.spinor else 1

    @property
    def n_edges(self) -> int:
        return len(self.edge_index)

    @property
    def n_entries(self) -> int:
        """Length of a flat array in this layout."""
        return self.spin**2 * int(self.block_ptr[-1])

    def block_slice(self, e: int) -> slice:
        """Where block ``e`` lies in a flat array of this layout."""
        f2 = self.spin**2
        return slice(f2 * int(self.block_ptr[e]), f2 * int(self.block_ptr[e + 1]))

    def block_shape(self, e: int) -> tuple[int, int]:
        i, j = self.edge_index[e]
        return self.spin * int(self.n_orb[i]), self.spin * int(self.n_orb[j])


def iter_blocks(record: Mapping, key: str) -> Iterator[tuple[BlockKey, np.ndarray]]:
    """Yield ((i, j, Rx, Ry, Rz), block) for matrix ``key`` in nextham's convention."""
    layout = BlockLayout.of(record, key)
    data = record[key]
    for e, (i, j) in enumerate(layout.edge_index):
        shift = tuple(int(x) for x in layout.cell_shift[e])
        yield (int(i), int(j), *shift), data[layout.block_slice(e)].reshape(layout.block_shape(e))


def block_list(record: Mapping, key: str, values: np.ndarray | None = None) -> list[np.ndarray]:
    """The blocks of ``key`` (or of ``values`` in the layout of ``key``), in pair order."""
    rec = record if values is None else {**record, key: values}
    return [b for _, b in iter_blocks(rec, key)]


def require_h0(record: Mapping, name: str = "record") -> None:
    """Refuse a record without H0 where a model needs it as input (imported data).

    Raises :class:`~nextham.errors.InputError` naming the record, its source and the fix.
    """
    if K.H0 in record:
        return
    source = (record.get(K.META) or {}).get("source") or {}
    origin = f" (imported from {source['format']}, {source.get('path')})" if source else ""
    raise InputError(
        f"{name}{origin} has no H0, the engine's starting Hamiltonian that a nextham model "
        "corrects; give the structure file to `nextham predict` (it computes H0), or compute "
        "the structures with `nextham generate`"
    )


def position_blocks(record: Mapping, values: np.ndarray | None = None) -> list[np.ndarray]:
    """The blocks of the position matrix (``K.R_MATRIX`` or ``values``, (3, len(S))), each
    (3, n_i, n_j) in Å, in pair order."""
    r = np.asarray(record[K.R_MATRIX] if values is None else values)
    rows = [block_list(record, K.S, r[a]) for a in range(3)]
    return [np.stack(parts) for parts in zip(*rows)]
