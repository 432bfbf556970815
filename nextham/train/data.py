"""Training data: the split by structure and the merged basis (records: train/source.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nextham.errors import InputError
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
