"""Records ↔ {(i, j, R): block} in another code's convention (shared by the formats).

A converter states an atom's mapping as ``atom_map(shell_ls, spinor)``: a (n, n) or (2n, 2n)
orthogonal matrix ``U`` with ``block_X = U_i @ block @ U_j.T`` (:mod:`nextham.conventions`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nextham.record import keys as K
from nextham.record.layout import iter_blocks

AtomMap = Callable[[tuple[int, ...], bool], np.ndarray]


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
