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


def two_centre_position(record: Mapping) -> np.ndarray:
    """The two-centre approximation of the position matrix, ½ (τ_i + τ_j + R·cell) S_ij(R).

    Returns (3, len(S)) in ``K.R_MATRIX``'s layout (Å): exact for the overlap-weighted bond
    centre, without the intra-atomic and bond dipoles that the exact ⟨φ_i0|r|φ_jR⟩ has.
    """
    pos = np.asarray(record[K.POSITIONS], dtype=float)
    ei = np.asarray(record[K.EDGE_INDEX], dtype=np.int64).reshape(-1, 2)
    centre = pos[ei[:, 0]] + 0.5 * bond_vectors(record)  # (E, 3)
    ptr = np.asarray(record[K.BLOCK_PTR], dtype=np.int64)
    per_entry = np.repeat(centre, np.diff(ptr), axis=0)  # (len(S), 3)
    return (per_entry * np.asarray(record[K.S], dtype=float)[:, None]).T.copy()
