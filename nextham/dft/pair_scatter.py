"""One projector centre's image-pair blocks added into a record's flat blocks, compiled.

:func:`nextham.dft.projectors.image_pair_blocks` cuts a centre's M = Aᵀ K A into the blocks
of its image pairs (P, w_i, w_j), :meth:`nextham.dft.grid_pairs.PairTable.find` looks the
pairs up, and the blocks are added at the pairs' offsets: three copies of every kept entry
and a sorted search over all pairs. :func:`add_centre_blocks` does the same in one pass: for
each image pair (p, q) with bound_p · bound_q above the threshold, the pair (i, j, R) is
looked up among the stored pairs of atom i only (the table's keys are sorted by i first),
and M's block is added in place, in the same order of centres and pairs (images of one atom
twice near a centre add up, as ``np.add.at`` does). Compiled with numba on first use (cached
on disk).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _find(keys: np.ndarray, lo: int, hi: int, key: int) -> int:
    """Index of ``key`` in the sorted ``keys[lo:hi]``, or −1."""
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    if lo < end and keys[lo] == key:
        return lo
    return -1


@njit(cache=True)
def add_centre_blocks(
    out: np.ndarray,
    m: np.ndarray,
    ids: np.ndarray,
    shifts: np.ndarray,
    cols: np.ndarray,
    bound: np.ndarray,
    threshold: float,
    keys: np.ndarray,
    order: np.ndarray,
    row_start: np.ndarray,
    ptr: np.ndarray,
    natm: int,
    span: int,
) -> None:
    """``out[ptr[e]:ptr[e + 1]] += M[cols[p], cols[q]]`` (row-major) for every image pair
    (p, q) of one centre with ``bound[p] * bound[q] > threshold`` whose pair (ids[p], ids[q],
    shifts[q] − shifts[p]) is stored: ``keys`` (E,) the table's sorted pair keys
    (:func:`nextham.dft.grid_pairs.pair_keys`), ``order`` their pair indices, ``row_start``
    (natm + 1,) where atom i's keys begin; ``cols`` (n, 2) each image's columns of ``m``."""
    half = span // 2
    cube = span * span * span
    for p in range(len(ids)):
        i = ids[p]
        lo, hi = row_start[i], row_start[i + 1]
        r0, r1 = cols[p, 0], cols[p, 1]
        for q in range(len(ids)):
            if bound[p] * bound[q] <= threshold:
                continue
            code = (shifts[q, 0] - shifts[p, 0] + half) * span + shifts[q, 1] - shifts[p, 1]
            code = (code + half) * span + shifts[q, 2] - shifts[p, 2] + half
            at = _find(keys, lo, hi, (i * natm + ids[q]) * cube + code)
            if at < 0:
                continue
            c0, c1 = cols[q, 0], cols[q, 1]
            width = c1 - c0
            base = ptr[order[at]]
            for x in range(r1 - r0):
                for y in range(width):
                    out[base + x * width + y] += m[r0 + x, c0 + y]
