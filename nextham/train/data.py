"""Training data: records from datasets, a split by structure, and batches bounded by pair count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.record import keys as K
from nextham.store.dataset import Dataset


def load_records(paths: Sequence[str]) -> tuple[list[str], list[dict], EngineSettings]:
    """All finished entries of the datasets; returns (names, records, engine settings).

    Names are ``<dataset dir name>/<entry>``. All datasets must share their engine settings.
    """
    names, records, settings = [], [], None
    for p in paths:
        ds = Dataset(p)
        if settings is None:
            settings = ds.settings
        elif ds.settings != settings:
            raise InputError(f"{p} was generated with other engine settings than {paths[0]}")
        for name in ds.names:
            names.append(f"{ds.path.name}/{name}")
            records.append(ds.load(name))
    if not records:
        raise InputError(f"no finished structures in {list(paths)}; run `nextham generate` first")
    return names, records, settings


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
