"""Training data: the split by structure, the merged basis and the output scales per kind of
block (records: train/source.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nextham.errors import InputError
from nextham.model.config import pair_scale_key
from nextham.record import keys as K
from nextham.store.dataset import Dataset
from nextham.train.stable import unit_hash


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


def split_groups(
    keys: Sequence[str], fractions: Sequence[float], seed: int, stable: bool = False
) -> tuple[list[int], ...]:
    """Split of ``range(len(keys))`` into train/validation/test in which equal keys stay
    together (sorted lists): the groups, shuffled, fill validation and then test up to their
    fractions of the structures; the rest train. Distinct keys: :func:`split_indices`.

    ``stable``: each key's part is drawn from a hash of the key and ``seed``
    (:func:`nextham.train.stable.unit_hash`: validation below the validation fraction, test
    below the two together), so that it does not change when keys are added; the fractions
    then hold on average over keys (a set so small that a part drew no group still gets one,
    as without ``stable``)."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    members = list(groups.values())
    n = len(keys)
    parts: list[list[int]] = [[], [], []]
    if stable:
        for key, group in groups.items():
            u = unit_hash(seed, "split", key)
            parts[1 if u < fractions[1] else 2 if u < fractions[1] + fractions[2] else 0] += group
    else:
        sizes = [n * f for f in fractions[1:]]
        for g in np.random.default_rng(seed).permutation(len(members)):
            group = members[int(g)]
            part = next((p for p in (1, 2) if len(parts[p]) + len(group) / 2 <= sizes[p - 1]), 0)
            parts[part] += group
    for p in (1, 2):  # a non-empty fraction gets a group when there is one to spare
        if fractions[p] > 0 and not parts[p] and len(members) >= 3:
            moved = min((g for g in members if g[0] in parts[0]), key=len, default=None)
            if moved is not None and len(parts[0]) > len(moved):
                parts[0] = [i for i in parts[0] if i not in moved]
                parts[p] = list(moved)
    if not parts[0]:
        raise InputError(f"{n} structures are too few for the split {tuple(fractions)}")
    return tuple(sorted(p) for p in parts)


def cell_keys(datasets: Sequence[str], refs) -> list[str]:
    """The base cell of each entry ``refs[i]`` (dataset directory ``.dataset``, entry
    ``.name``): ``composition/prototype`` from the structures file of its dataset (the recipe's
    ``info``), or the entry's own label where the structure carries none."""
    info: dict[tuple[str, str], str] = {}
    for path in datasets:
        ds = Dataset(path)
        for name, atoms in ds.structures():
            comp, proto = atoms.info.get("composition"), atoms.info.get("prototype")
            if comp and proto:
                info[(str(ds.path), name)] = f"{comp}/{proto}"
    return [info.get((r.dataset, r.name), r.label) for r in refs]


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
