"""Element groups of the periodic table: the blocks the composition rules use and the shards
of a recipe.

Shards follow :data:`SHARDS` in order; a structure belongs to the *last* group (in that order)
among its elements. Shards 1…k together therefore hold exactly the structures made only of the
elements of groups 1…k: a campaign stopped after any shard is a complete dataset over a
smaller part of the table.
"""

from __future__ import annotations

from ase.data import atomic_numbers
from ase.symbols import string2symbols

from nextham.errors import InputError


def _z(*ranges: tuple[int, int]) -> frozenset[int]:
    return frozenset(z for lo, hi in ranges for z in range(lo, hi + 1))


SHARDS: dict[str, frozenset[int]] = {
    "s": _z((1, 4), (11, 12), (19, 20), (37, 38), (55, 56), (87, 88)),
    "p-light": _z((5, 10), (13, 18)),
    "p-heavy": _z((31, 36), (49, 54), (81, 86), (113, 118)),
    "3d": _z((21, 30)),
    "4d": _z((39, 48)),
    "5d": _z((72, 80)),
    "4f": _z((57, 71)),
    "5f": _z((89, 112)),
}
"""Shard name → atomic numbers: s block (with H, He), p block of periods 2–3 and 4–7, the 3d,
4d and 5d transition metals, lanthanides (La–Lu) and the actinides with the 6d metals."""
SHARD_NAMES = tuple(SHARDS)
D_BLOCK = SHARDS["3d"] | SHARDS["4d"] | SHARDS["5d"]
P_BLOCK = SHARDS["p-light"] | SHARDS["p-heavy"]
S_BLOCK = SHARDS["s"]


def group_of(symbol: str) -> str:
    """Shard name of one element."""
    z = atomic_numbers[symbol]
    return next(name for name, zs in SHARDS.items() if z in zs)


def shard_of(symbols) -> str:
    """Shard of a structure made of ``symbols``: the last group (in :data:`SHARDS`) of any."""
    return max((group_of(s) for s in set(symbols)), key=SHARD_NAMES.index)


def composition_elements(name: str) -> tuple[str, ...]:
    """Elements of a structure name ``<composition>_<prototype>[_<variant>]``."""
    return tuple(dict.fromkeys(string2symbols(name.split("_")[0])))


def parse_shards(words) -> tuple[str, ...]:
    """Shard names from names or 1-based numbers (``"3d"``, ``"4"``); InputError otherwise."""
    out = []
    for w in words:
        if w.isdigit() and 1 <= int(w) <= len(SHARD_NAMES):
            w = SHARD_NAMES[int(w) - 1]
        if w not in SHARDS:
            numbered = ", ".join(f"{i}={n}" for i, n in enumerate(SHARD_NAMES, 1))
            raise InputError(f"unknown shard {w!r}; give a name or number: {numbered}")
        out.append(w)
    return tuple(dict.fromkeys(out))
