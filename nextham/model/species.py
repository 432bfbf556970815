"""Physical descriptors of the elements, so that elements seen in few structures share what
the network learnt on similar ones.

A one-hot element code gives every element its own weights, trained only by that element's
structures; in a dataset over the periodic table many elements occur in a handful of them.
The descriptors place the elements in a space where neighbours in the periodic table are
neighbours: period, group, Pauling electronegativity and covalent radius, each scaled to about
[0, 1].
"""

from __future__ import annotations

import numpy as np
from ase.data import chemical_symbols, covalent_radii

from nextham.structures.chemistry import electronegativity

NOBLE = (2, 10, 18, 36, 54, 86, 118)
"""Atomic numbers closing each period."""


def period_group(z: int) -> tuple[int, int]:
    """(period, group 1–18) of atomic number ``z``; lanthanides and actinides count as group 3."""
    period = next(p for p, last in enumerate(NOBLE, start=1) if z <= last)
    first = 1 if period == 1 else NOBLE[period - 2] + 1
    k = z - first  # position in the period, from 0
    if period == 1:
        return period, 1 if z == 1 else 18
    if period <= 3:
        return period, k + 1 if k < 2 else k + 11
    if period <= 5:
        return period, k + 1
    if k < 2:
        return period, k + 1
    if k < 17:  # La … Lu (Ac … Lr)
        return period, 3
    return period, k - 14 + 1


def species_descriptors(species: tuple[int, ...]) -> np.ndarray:
    """(len(species), 4) float64: period / 7, group / 18, electronegativity / 4,
    covalent radius / 2.5 Å of each atomic number."""
    rows = []
    for z in species:
        period, group = period_group(int(z))
        chi = electronegativity(chemical_symbols[int(z)])
        rows.append((period / 7, group / 18, chi / 4, covalent_radii[int(z)] / 2.5))
    return np.array(rows, dtype=np.float64)
