"""Training data: the split by structure, the merged basis and the output scales per kind of
block (records: train/source.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nextham.errors import InputError
from nextham.model.config import pair_scale_key
from nextham.record import keys as K


def split_indices(n: int, fractions: Sequence[float], seed: int) -> tuple[list[int], ...]:
    """Random split of ``range(n)`` by structure into train/validation/test (sorted lists).

    Every non-empty fraction gets at least one structure when n allows it.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = round(fractions[1] * n)
    n_test = round(fractions[2] * n)
    n_val = max(n_val, 1 if fractions[1] > 0 and n >= 3 else 0)
    n_test = max(n_test, 1 if fractions[2] > 0 and n >= 3 else 0)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise InputError(f"{n} structures are too few for the split {tuple(fractions)}")
    parts = order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
    return tuple(sorted(int(i) for i in p) for p in parts)


def merged_basis(records: Sequence[dict]) -> dict[int, tuple[int, ...]]:
    """Union of the records' basis descriptions; conflicting shells for an element are an error."""
    basis: dict[int, tuple[int, ...]] = {}
    for rec in records:
        for z, ls in rec[K.BASIS_LS].items():
            ls = tuple(int(x) for x in ls)
            if basis.setdefault(int(z), ls) != ls:
                raise InputError(f"element Z={z} has different basis shells in different records")
    return basis


def pair_scales(records, floor: float = 1e-4) -> dict[str, float]:
    """RMS of ΔH = HT − H0 (eV) per kind of block (:func:`~nextham.model.config.pair_scale_key`:
    on-site per element, other blocks per element pair) over ``records`` (an iterable, read
    once), each at least ``floor`` eV (a kind whose ΔH vanishes keeps a usable scale)."""
    sq: dict[str, float] = {}
    count: dict[str, int] = {}
    for rec in records:
        delta = np.abs(np.asarray(rec[K.HT]) - np.asarray(rec[K.H0])) ** 2
        ptr = np.asarray(rec[K.BLOCK_PTR], dtype=np.int64)
        if len(ptr) < 2 or ptr[-1] == 0:
            continue
        ptr = ptr * (delta.size // int(ptr[-1]))  # spinor blocks: 4 entries per scalar one
        per_block, sizes = np.add.reduceat(delta, ptr[:-1]), np.diff(ptr)
        z = np.asarray(rec[K.NUMBERS])
        ei, shift = np.asarray(rec[K.EDGE_INDEX]), np.asarray(rec[K.CELL_SHIFT])
        onsite = (ei[:, 0] == ei[:, 1]) & ~np.any(shift, axis=1)
        for e, (i, j) in enumerate(ei):
            key = pair_scale_key(z[i], z[j], bool(onsite[e]))
            sq[key] = sq.get(key, 0.0) + float(per_block[e])
            count[key] = count.get(key, 0) + int(sizes[e])
    return {k: max(float(np.sqrt(sq[k] / count[k])), floor) for k in sorted(sq)}
