"""The universal recipe: prototypes over the periodic table, in shards by element group.

``universal_structures(UniversalSpec(elements))`` builds every composition the rules of
:mod:`nextham.structures.compositions` allow over ``elements``, strained and rattled copies of
each primitive cell, some 8–16-atom supercells and some vacancies
(:mod:`nextham.structures.variants`). The output is a pure function of the spec; each shard
(:data:`~nextham.structures.groups.SHARDS`) is the same structures as the whole recipe
restricted to that shard. Nothing is dropped silently: what a rule or the validation refused
comes back as ``skipped`` (name, reason).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from ase import Atoms
from ase.data import atomic_numbers

from nextham.errors import InputError
from nextham.structures.compositions import FAMILIES, Skipped, all_bases
from nextham.structures.groups import SHARD_NAMES, composition_elements, parse_shards, shard_of
from nextham.structures.variants import CELL_MODES, variants

RECIPES = ("universal",)


@dataclass(frozen=True)
class UniversalSpec:
    """What the universal recipe generates.

    Attributes
    ----------
    elements : the element set; compositions use only these.
    shards : element groups to keep (names of :data:`~nextham.structures.groups.SHARDS`);
        empty keeps all.
    n_per_prototype : strained and rattled copies per (composition, prototype).
    strain : maximum |ε_ab| of the random symmetric strain.
    rattle : standard deviation of the random displacement (Å).
    vacancy_fraction : probability that a (composition, prototype) also gets a supercell copy
        with one atom removed.
    cells : "primitive" (copies of the base's own cell, plus a supercell copy with probability
        ``supercell_fraction``) or "supercell" (every copy an 8–16-atom supercell, 10–20×
        dearer to label); see :func:`~nextham.structures.variants.variants`.
    supercell_fraction : probability of the supercell copy with ``cells="primitive"``.
    seed : seed of the random generators.
    families : composition families (:data:`~nextham.structures.compositions.FAMILIES`).
    """

    elements: tuple[str, ...]
    shards: tuple[str, ...] = ()
    n_per_prototype: int = 2
    strain: float = 0.04
    rattle: float = 0.05
    vacancy_fraction: float = 0.25
    cells: str = "primitive"
    supercell_fraction: float = 0.25
    seed: int = 0
    families: tuple[str, ...] = field(default=FAMILIES)

    def __post_init__(self) -> None:
        unknown = [s for s in self.elements if s not in atomic_numbers or s == "X"]
        if unknown:
            raise InputError(f"unknown element symbol(s) {unknown}; write them as Si, Ga, …")
        if not self.elements:
            raise InputError("the recipe needs at least one element (--elements Si,O,…)")
        object.__setattr__(self, "shards", parse_shards(self.shards))
        bad = [f for f in self.families if f not in FAMILIES]
        if bad:
            raise InputError(f"unknown composition families {bad}; choose from {FAMILIES}")
        if self.n_per_prototype < 1:
            raise InputError(f"--n must be at least 1, got {self.n_per_prototype}")
        if not 0 <= self.strain < 0.2 or self.rattle < 0:
            raise InputError("--strain must be in [0, 0.2) and --rattle at least 0")
        if self.cells not in CELL_MODES:
            raise InputError(f"cells must be one of {CELL_MODES}, got {self.cells!r}")
        if not 0 <= self.supercell_fraction <= 1:
            raise InputError(f"supercell fraction must be in [0, 1], got {self.supercell_fraction}")
        if not 0 <= self.vacancy_fraction <= 1:
            raise InputError(f"vacancy fraction must be in [0, 1], got {self.vacancy_fraction}")


class Generated(NamedTuple):
    """Structures (name, atoms) and what was skipped (name, reason)."""

    structures: list[tuple[str, Atoms]]
    skipped: list[Skipped]


def _kept(name: str, shards: tuple[str, ...]) -> bool:
    return not shards or shard_of(composition_elements(name)) in shards


def universal_structures(spec: UniversalSpec) -> Generated:
    """Every structure of ``spec`` (deterministic order), and what was skipped and why."""
    bases, skipped = all_bases(spec.elements, spec.families)
    skipped = [s for s in skipped if _kept(s[0], spec.shards)]
    out = []
    for base in bases:
        if not _kept(base.name, spec.shards):
            continue
        made, refused = variants(
            base, spec.seed, spec.n_per_prototype, spec.strain, spec.rattle,
            spec.vacancy_fraction, spec.cells, spec.supercell_fraction,
        )  # fmt: skip
        out += made
        skipped += refused
    return Generated(out, skipped)


def count_report(structures: list[tuple[str, Atoms]], skipped: list[Skipped]) -> dict:
    """Counts per prototype, element, shard and skip reason, for a dry run.

    Returns a dict with ``structures``, ``atoms`` (total), ``elements`` (distinct),
    ``per_prototype``, ``per_element`` (structures holding the element), ``per_shard`` (in
    shard order), ``skipped`` and ``skipped_by_reason`` (the reason's text before its colon).
    """
    per_prototype, per_element, per_shard = Counter(), Counter(), Counter()
    for _, atoms in structures:
        symbols = set(atoms.get_chemical_symbols())
        per_prototype[atoms.info.get("prototype", "file")] += 1
        per_element.update(symbols)
        per_shard[shard_of(symbols)] += 1
    return {
        "structures": len(structures),
        "atoms": sum(len(a) for _, a in structures),
        "elements": len(per_element),
        "per_prototype": dict(per_prototype.most_common()),
        "per_element": dict(sorted(per_element.items(), key=lambda kv: atomic_numbers[kv[0]])),
        "per_shard": {s: per_shard[s] for s in SHARD_NAMES if per_shard[s]},
        "skipped": len(skipped),
        "skipped_by_reason": dict(Counter(r.split(":")[0] for _, r in skipped).most_common()),
    }
