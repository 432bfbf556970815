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


def add_kind_sums(totals: dict[str, list], record: dict) -> None:
    """Add a record's Σ|ΔH|² and entry count per kind of block
    (:func:`~nextham.model.config.pair_scale_key`) into ``totals`` {key: [sum, count]}."""
    delta = np.abs(np.asarray(record[K.HT]) - np.asarray(record[K.H0])) ** 2
    ptr = np.asarray(record[K.BLOCK_PTR], dtype=np.int64)
    if len(ptr) < 2 or ptr[-1] == 0:
        return
    ptr = ptr * (delta.size // int(ptr[-1]))  # spinor blocks: 4 entries per scalar one
    z = np.asarray(record[K.NUMBERS], dtype=np.int64)
    ei, shift = np.asarray(record[K.EDGE_INDEX]), np.asarray(record[K.CELL_SHIFT])
    zi, zj = z[ei[:, 0]], z[ei[:, 1]]
    onsite = (ei[:, 0] == ei[:, 1]) & ~np.any(shift, axis=1)
    kind = np.where(onsite, -zi, np.minimum(zi, zj) * 1000 + np.maximum(zi, zj))
    kinds, which = np.unique(kind, return_inverse=True)
    sq = np.bincount(which, np.add.reduceat(delta, ptr[:-1]), len(kinds))
    count = np.bincount(which, np.diff(ptr), len(kinds))
    for k, a, b in zip(kinds, sq, count):
        key = pair_scale_key(-k, -k, True) if k < 0 else pair_scale_key(k // 1000, k % 1000, False)
        total = totals.setdefault(key, [0.0, 0])
        total[0] += float(a)
        total[1] += int(b)


def kind_rms(totals: dict[str, list], floor: float = 1e-4) -> dict[str, float]:
    """RMS (eV) per kind of block from :func:`add_kind_sums` totals, each at least ``floor``."""
    return {k: max(float(np.sqrt(a / b)), floor) for k, (a, b) in sorted(totals.items())}


def pair_scales(records, floor: float = 1e-4) -> dict[str, float]:
    """RMS of ΔH = HT − H0 (eV) per kind of block (:func:`~nextham.model.config.pair_scale_key`:
    on-site per element, other blocks per element pair) over ``records`` (an iterable, read
    once), each at least ``floor`` eV (a kind whose ΔH vanishes keeps a usable scale)."""
    totals: dict[str, list] = {}
    for record in records:
        add_kind_sums(totals, record)
    return kind_rms(totals, floor)
