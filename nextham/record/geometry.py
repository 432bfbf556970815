"""Pair geometry of a record: bond vectors and distances (Å)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nextham.record import keys as K


def bond_vectors(record: Mapping) -> np.ndarray:
    """r_j + R·cell − r_i of each pair in Å, shape (E, 3)."""
    pos = np.asarray(record[K.POSITIONS], dtype=float)
    cell = np.asarray(record[K.CELL], dtype=float)
    ei = np.asarray(record[K.EDGE_INDEX], dtype=np.int64).reshape(-1, 2)
    shift = np.asarray(record[K.CELL_SHIFT], dtype=float).reshape(-1, 3)
    return pos[ei[:, 1]] + shift @ cell - pos[ei[:, 0]]


def edge_distances(record: Mapping) -> np.ndarray:
    """Length |r_j + R·cell − r_i| of each pair in Å, shape (E,)."""
    return np.linalg.norm(bond_vectors(record), axis=1)
