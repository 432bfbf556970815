"""A record of a supercell built from a record's blocks (no new engine run).

Atom (i, cell offset c) of the supercell is atom ``c_index · N + i``; the pair (i, j, R) seen
from offset c lands on cell t = c + R, i.e. atom (j, t mod n) in supercell image t div n.
Blocks are copied, so the supercell describes exactly the same crystal Hamiltonian; the
position matrix (``K.R_MATRIX``), where present, moves with its atoms: r + T S for offset T.
"""

from __future__ import annotations

import itertools

import numpy as np

from nextham.record import keys as K
from nextham.record.layout import block_pointers, orbital_counts


def supercell_record(record: dict, reps: tuple[int, int, int]) -> dict:
    """The (reps[0] × reps[1] × reps[2]) supercell of ``record``, lattice vectors scaled."""
    reps_arr = np.asarray(reps, dtype=np.int64)
    n_atoms = len(record[K.NUMBERS])
    offsets = np.array(list(itertools.product(*[range(r) for r in reps])), dtype=np.int64)
    index = {tuple(o): q for q, o in enumerate(offsets)}
    cell = np.asarray(record[K.CELL], dtype=float)
    ptr, mult = record[K.BLOCK_PTR], 4 if record[K.SPINOR] else 1
    edges, shifts, parts = [], [], {key: [] for key in K.MATRIX_KEYS if key in record}
    r_parts = [] if K.R_MATRIX in record else None
    for q, c in enumerate(offsets):
        target = c + record[K.CELL_SHIFT]
        image, home = np.floor_divide(target, reps_arr), np.mod(target, reps_arr)
        for e, (i, j) in enumerate(record[K.EDGE_INDEX]):
            edges.append((q * n_atoms + i, index[tuple(home[e])] * n_atoms + j))
            shifts.append(image[e])
            for key, out in parts.items():
                m = 1 if key == K.S else mult
                out.append(record[key][m * ptr[e] : m * ptr[e + 1]])
            if r_parts is not None:
                sl = slice(ptr[e], ptr[e + 1])
                r_parts.append(record[K.R_MATRIX][:, sl] + (c @ cell)[:, None] * record[K.S][sl])
    n_cells = len(offsets)
    n_orb = np.tile(orbital_counts(record), n_cells)
    meta = dict(record.get(K.META, {}))
    if "n_electrons" in meta:
        meta["n_electrons"] = meta["n_electrons"] * n_cells
    extra = {} if r_parts is None else {K.R_MATRIX: np.concatenate(r_parts, axis=1)}
    return {
        **extra,
        K.CELL: cell * reps_arr[:, None],
        K.POSITIONS: np.concatenate([record[K.POSITIONS] + o @ cell for o in offsets]),
        K.NUMBERS: np.tile(record[K.NUMBERS], n_cells),
        K.EDGE_INDEX: np.asarray(edges, dtype=np.int64),
        K.CELL_SHIFT: np.asarray(shifts, dtype=np.int64),
        K.BLOCK_PTR: block_pointers(np.asarray(edges, dtype=np.int64), n_orb),
        **{key: np.concatenate(out) for key, out in parts.items()},
        K.BASIS_LS: dict(record[K.BASIS_LS]),
        K.SPINOR: record[K.SPINOR],
        K.META: meta,
    }
