"""Shared pieces of the block-dictionary formats: records ↔ {(i, j, R): block} in a convention.

A converter states an atom's mapping as ``atom_map(shell_ls, spinor)``: a (n, n) or (2n, 2n)
orthogonal matrix ``U`` with ``block_X = U_i @ block @ U_j.T`` (:mod:`nextham.conventions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from nextham.conventions import n_orbitals
from nextham.store import schema as K

AtomMap = Callable[[tuple[int, ...], bool], np.ndarray]


def atom_orbital_counts(record: dict) -> np.ndarray:
    """Spatial orbitals per atom, shape (N,)."""
    return np.array([n_orbitals(record[K.BASIS_LS][int(z)]) for z in record[K.NUMBERS]])


def iter_blocks(
    record: dict, key: str
) -> Iterator[tuple[tuple[int, int, int, int, int], np.ndarray]]:
    """Yield ((i, j, Rx, Ry, Rz), block) for matrix ``key`` in nextham's convention."""
    n = atom_orbital_counts(record)
    ptr = record[K.BLOCK_PTR]
    spin = 2 if (record[K.SPINOR] and key != K.S) else 1
    data = record[key]
    for e, (i, j) in enumerate(record[K.EDGE_INDEX]):
        a, b = spin * spin * ptr[e], spin * spin * ptr[e + 1]
        shift = tuple(int(x) for x in record[K.CELL_SHIFT][e])
        yield (int(i), int(j), *shift), data[a:b].reshape(spin * n[i], spin * n[j])


def to_convention(record: dict, key: str, atom_map: AtomMap) -> dict[tuple, np.ndarray]:
    """All blocks of ``key`` mapped into another convention, keyed by (i, j, Rx, Ry, Rz)."""
    ls = [tuple(record[K.BASIS_LS][int(z)]) for z in record[K.NUMBERS]]
    spinor = record[K.SPINOR] and key != K.S
    maps = [atom_map(x, spinor) for x in ls]
    return {k: maps[k[0]] @ blk @ maps[k[1]].T for k, blk in iter_blocks(record, key)}


def from_convention(
    blocks: dict[tuple, np.ndarray], ls: list[tuple[int, ...]], spinor: bool, atom_map: AtomMap
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`to_convention`: returns (edge_index, cell_shift, flat data), sorted."""
    maps = [atom_map(x, spinor) for x in ls]
    keys = sorted(blocks)
    flat = [(maps[k[0]].T @ blocks[k] @ maps[k[1]]).ravel() for k in keys]
    arr = np.asarray(keys, dtype=np.int64).reshape(-1, 5)
    data = np.concatenate(flat) if flat else np.zeros(0)
    return arr[:, :2].copy(), arr[:, 2:].copy(), data


def block_ptr(edge_index: np.ndarray, n_per_atom: np.ndarray) -> np.ndarray:
    """Scalar-layout offsets of the blocks of ``edge_index``."""
    sizes = n_per_atom[edge_index[:, 0]] * n_per_atom[edge_index[:, 1]]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
