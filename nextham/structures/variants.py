"""Variants of an ideal cell: strained and rattled copies of the cell and of an 8–16-atom
supercell, a vacancy.

Every base draws its random numbers from its own generator, seeded by the recipe's seed and
the CRC-32 of the base's name, so a structure does not depend on which other structures are
generated with it (shards give the same structures as the whole recipe). The primitive copies
after the first draw from generators of their own (:func:`copy_rng`), so that raising the
number of copies adds structures and changes none: a campaign can grow its recipe and keep
its finished labels.
"""

from __future__ import annotations

import itertools
import math
import zlib
from functools import cache

import numpy as np
from ase import Atoms

from nextham.errors import StructureError
from nextham.structures.compositions import Base, Skipped
from nextham.structures.generate import distort
from nextham.structures.read import validate

ATOM_RANGE = (8, 16)
"""Atoms per supercell (inclusive)."""


def heights(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell (3,) in Å: V / |a_j × a_k|."""
    cell = np.asarray(cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    return np.array([volume / np.linalg.norm(np.cross(cell[j], cell[k]))
                     for j, k in ((1, 2), (2, 0), (0, 1))])  # fmt: skip


@cache
def _repeats(n: int, axes: tuple[int, ...], lo: int, hi: int) -> tuple[tuple[int, int, int], ...]:
    """Every repeat of an ``n``-atom cell along ``axes`` giving ``lo``…``hi`` atoms."""
    ranges = [range(1, hi // n + 1) if i in axes else (1,) for i in range(3)]
    return tuple(r for r in itertools.product(*ranges) if lo <= n * math.prod(r) <= hi)


def choose_repeat(
    atoms: Atoms, axes: tuple[int, ...] = (0, 1, 2), atom_range: tuple[int, int] = ATOM_RANGE
) -> tuple[int, int, int] | None:
    """Repeat of ``atoms`` with ``atom_range`` atoms, repeating only lattice vectors ``axes``.

    Rule: the fewest atoms (cheapest label), then the largest shortest face-to-face height of
    the supercell, then the more even shape (smallest longest/shortest height). None when no
    repeat fits.
    """
    h = heights(atoms.cell.array)
    keys = []
    for rep in _repeats(len(atoms), tuple(axes), *atom_range):
        hr = h * rep
        keys.append((math.prod(rep), -round(hr.min(), 6), round(hr.max() / hr.min(), 6), rep))
    return min(keys)[3] if keys else None


def base_rng(seed: int, name: str) -> np.random.Generator:
    """The random generator of one base: seeded by ``seed`` and the CRC-32 of ``name``."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def copy_rng(seed: int, name: str, k: int) -> np.random.Generator:
    """The generator of a base's primitive copy ``p<k>``, k ≥ 1: independent of the base's own
    (:func:`base_rng`, which draws ``p0``, the supercell and the vacancy)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), k])


def _tag(atoms: Atoms, base: Base, variant: str, rep: tuple[int, int, int]) -> Atoms:
    atoms.info.update(
        prototype=base.prototype, composition=base.composition, variant=variant,
        supercell="x".join(map(str, rep)), bond_rule=base.rule,
    )  # fmt: skip
    return atoms


CELL_MODES = ("primitive", "supercell")


def variants(
    base: Base,
    seed: int,
    n: int,
    strain: float,
    rattle: float,
    vacancy_fraction: float,
    cells: str = "primitive",
    supercell_fraction: float = 0.25,
) -> tuple[list[tuple[str, Atoms]], list[Skipped]]:
    """Strained (|ε| ≤ ``strain``) and rattled (σ = ``rattle`` Å) copies of one base, validated.

    ``cells="primitive"``: copies ``p<k>`` (k < ``n``) of the base's own cell, plus, with
    probability ``supercell_fraction``, one 8–16-atom supercell copy ``d0`` and, with
    probability ``vacancy_fraction``, a supercell copy ``vac`` with one random atom removed (both
    drawn once per base). ``p0``, ``d0`` and ``vac`` come from the base's generator, ``p1``…
    from their own (:func:`copy_rng`): the structures of ``n`` are those of ``n − 1`` and one
    more copy per base. ``cells="supercell"``: every copy ``d<k>`` in the supercell, plus
    ``vac`` with probability ``vacancy_fraction``.

    Returns (structures, skipped) with skipped (name, reason) for a supercell that no 8–16-atom
    repeat gives or a structure :func:`~nextham.structures.read.validate` refuses.
    """
    if cells not in CELL_MODES:
        raise ValueError(f"cells must be one of {CELL_MODES}, got {cells!r}")
    rng = base_rng(seed, base.name)
    keep = tuple(i for i in range(3) if i not in base.axes)
    rep = choose_repeat(base.atoms, base.axes)
    made: list[tuple[str, Atoms, tuple]] = []
    if cells == "primitive":
        made = [("p0", distort(base.atoms, rng, strain, rattle, keep), (1, 1, 1))]
        made += [(f"p{k}", distort(base.atoms, copy_rng(seed, base.name, k), strain, rattle,
                                   keep), (1, 1, 1)) for k in range(1, n)]  # fmt: skip
        want_sc, want_vac = rng.random(2) < (supercell_fraction, vacancy_fraction)
        n_sc = int(want_sc)
    else:
        n_sc, want_vac = n, None
    skipped: list[Skipped] = []
    if rep is None:
        if n_sc or want_vac or cells == "supercell":
            skipped.append((base.name, f"supercell: no repeat of {len(base.atoms)} atoms in 8-16"))
    else:
        cell = base.atoms.repeat(rep)
        made += [(f"d{k}", distort(cell, rng, strain, rattle, keep), rep) for k in range(n_sc)]
        if want_vac if want_vac is not None else rng.random() < vacancy_fraction:
            holed = cell.copy()
            del holed[int(rng.integers(len(holed)))]
            made.append(("vac", distort(holed, rng, strain, rattle, keep), rep))
    out = []
    for variant, atoms, r in made:
        name = f"{base.name}_{variant}"
        try:
            out.append((name, _tag(validate(atoms, name), base, variant, r)))
        except StructureError as exc:
            skipped.append((name, f"validate: {exc}"))
    return out, skipped
