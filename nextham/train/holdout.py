"""What a run never trains on: held-out elements and held-out element pairs.

A structure goes to the "ood" split when it holds a held-out element, or both elements of a
held-out pair. The pairs measure transfer to unseen compositions: with the pair Ga–As held out,
no training structure contains Ga and As together (GaAs in any prototype, and every ternary with
both), while GaP, AlAs, Ga and As crystals stay in training. Pairs are given (``"Ga-As"``) or
drawn: a fraction of the element pairs of the two-element structures, seeded, so that a run
and its resumption hold out the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from nextham.errors import InputError
from nextham.train.stable import unit_hash

Pair = tuple[int, int]


def parse_pair(text: str) -> Pair:
    """``"Ga-As"`` → (31, 33), the atomic numbers in increasing order."""
    parts = [p.strip() for p in str(text).split("-")]
    bad = [p for p in parts if p not in atomic_numbers or p == "X"]
    if len(parts) != 2 or bad or parts[0] == parts[1]:
        raise InputError(f"data.holdout_pairs: {text!r} is not a pair of two elements like Ga-As")
    a, b = sorted(atomic_numbers[p] for p in parts)
    return a, b


def pair_name(pair: Pair) -> str:
    """(31, 33) → ``"Ga-As"``."""
    return "-".join(chemical_symbols[z] for z in pair)


def binary_pairs(numbers: Sequence[Iterable[int]]) -> list[Pair]:
    """The element pairs of the two-element structures among ``numbers`` (one atomic-number list
    per structure), sorted."""
    pairs = {tuple(sorted(set(int(z) for z in n))) for n in numbers}
    return sorted(p for p in pairs if len(p) == 2)


def draw_pairs(
    numbers: Sequence[Iterable[int]], fraction: float, seed: int, stable: bool = False
) -> list[Pair]:
    """``round(fraction × n)`` of the n binary element pairs (at least one when fraction > 0 and
    a pair exists), drawn with ``seed``; sorted. ``stable``: each pair is held out when the hash
    of its name and ``seed`` (:func:`nextham.train.stable.unit_hash`) is below ``fraction`` — a
    pair's fate does not change when structures are added (where none is drawn, the pair of the
    smallest hash)."""
    pairs = binary_pairs(numbers)
    if fraction <= 0 or not pairs:
        return []
    if stable:
        u = {p: unit_hash(seed, "pair", pair_name(p)) for p in pairs}
        return sorted(p for p in pairs if u[p] < fraction) or [min(pairs, key=u.__getitem__)]
    n = max(1, round(fraction * len(pairs)))
    pick = np.random.default_rng(seed).choice(len(pairs), size=n, replace=False)
    return sorted(pairs[i] for i in pick)


def held_out(
    numbers: Sequence[Iterable[int]], elements: Iterable[int], pairs: Iterable[Pair]
) -> list[int]:
    """Indices of the structures holding a held-out element or both elements of a held pair."""
    elements, pairs = set(elements), [set(p) for p in pairs]
    out = []
    for i, n in enumerate(numbers):
        z = set(int(x) for x in n)
        if z & elements or any(p <= z for p in pairs):
            out.append(i)
    return out
