"""Reproducible training structures: prototypes from ASE's bulk builders, strained and rattled.

``generate_structures(spec)`` is a pure function of its spec (the seed included), so a dataset
is regenerated exactly from one command.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers, covalent_radii

ELEMENTAL = ("diamond", "fcc", "bcc", "sc", "hcp")
BINARY = ("zincblende", "rocksalt", "cesiumchloride", "wurtzite")


@dataclass(frozen=True)
class GeneratorSpec:
    """What to generate.

    Attributes
    ----------
    elements : elemental crystals, e.g. ``("Si", "C")``; each in ``elemental_prototypes``.
    binaries : compounds as "AB" pairs, e.g. ``(("Ga", "As"),)``; each in ``binary_prototypes``.
    n_per_prototype : distorted copies per (composition, prototype).
    strain : maximum |ε_ab| of the random symmetric strain.
    rattle : standard deviation of the random displacement (Å).
    supercell : repetition of every cell before distortion.
    seed : seed of the random generator.
    """

    elements: tuple[str, ...] = ()
    binaries: tuple[tuple[str, str], ...] = ()
    elemental_prototypes: tuple[str, ...] = ("diamond", "fcc")
    binary_prototypes: tuple[str, ...] = ("zincblende", "rocksalt")
    n_per_prototype: int = 2
    strain: float = 0.03
    rattle: float = 0.05
    supercell: tuple[int, int, int] = (1, 1, 1)
    seed: int = 0

    def __post_init__(self) -> None:
        for p in self.elemental_prototypes:
            if p not in ELEMENTAL:
                raise ValueError(f"unknown elemental prototype {p!r}; choose from {ELEMENTAL}")
        for p in self.binary_prototypes:
            if p not in BINARY:
                raise ValueError(f"unknown binary prototype {p!r}; choose from {BINARY}")
        for s in [*self.elements, *(x for pair in self.binaries for x in pair)]:
            if s not in atomic_numbers:
                raise ValueError(f"unknown element symbol {s!r}")


def _bond_length(a: str, b: str) -> float:
    return float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])


def prototype(symbols: tuple[str, ...], kind: str) -> Atoms:
    """Ideal primitive cell of ``kind`` with nearest-neighbour distance from covalent radii."""
    a, b = symbols[0], symbols[-1]
    d = _bond_length(a, b)
    if kind == "hcp":
        return bulk(a, "hcp", a=d, c=d * np.sqrt(8 / 3))
    if kind == "wurtzite":
        return bulk(f"{a}{b}", "wurtzite", a=d * np.sqrt(8 / 3), c=d * 8 / 3)
    # conventional cubic constant from the nearest-neighbour distance of each lattice
    factor = {"diamond": 4 / np.sqrt(3), "zincblende": 4 / np.sqrt(3), "fcc": np.sqrt(2),
              "bcc": 2 / np.sqrt(3), "cesiumchloride": 2 / np.sqrt(3), "sc": 1.0,
              "rocksalt": 2.0}[kind]  # fmt: skip
    name = a if len(symbols) == 1 else f"{a}{b}"
    return bulk(name, kind, a=d * factor)


def distort(
    atoms: Atoms, rng: np.random.Generator, strain: float, rattle: float, keep: tuple[int, ...] = ()
) -> Atoms:
    """Random symmetric strain (|ε| ≤ strain) then Gaussian rattle (σ = rattle Å); the
    Cartesian axes in ``keep`` (e.g. the vacuum axis of a slab) are left unstrained."""
    eps = rng.uniform(-strain, strain, size=(3, 3))
    eps = 0.5 * (eps + eps.T)
    eps[list(keep), :] = 0.0
    eps[:, list(keep)] = 0.0
    out = atoms.copy()
    out.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
    out.positions += rng.normal(0.0, rattle, size=out.positions.shape)
    return out


def generate_structures(spec: GeneratorSpec) -> list[tuple[str, Atoms]]:
    """All structures of ``spec`` as (name, atoms), names ``NNNN_<formula>_<prototype>``."""
    rng = np.random.default_rng(spec.seed)
    jobs = [((s,), p) for s in spec.elements for p in spec.elemental_prototypes]
    jobs += [(tuple(pair), p) for pair in spec.binaries for p in spec.binary_prototypes]
    out: list[tuple[str, Atoms]] = []
    for symbols, kind in jobs:
        base = prototype(symbols, kind).repeat(spec.supercell)
        for k in range(spec.n_per_prototype):
            atoms = distort(base, rng, spec.strain, spec.rattle)
            formula = atoms.get_chemical_formula()
            atoms.info.update(prototype=kind, composition=formula, variant=f"d{k}")
            out.append((f"{len(out):04d}_{formula}_{kind}", atoms))
    return out
