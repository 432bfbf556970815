"""Elemental crystals: ASE's reference state and the fcc, bcc, hcp, diamond and sc lattices.

Lattice constants (rule):

1. The lattice of the element's ASE reference state (``ase.data.reference_states``) is ASE's
   ``bulk(symbol)`` itself, with ASE's lattice constants (and c/a for hcp).
2. Another lattice gets the nearest-neighbour distance d = d_ref · g(CN)/g(CN_ref) from the
   reference crystal (d_ref its shortest distance, CN_ref the neighbours within 5 % of it),
   with Goldschmidt's coordination factor g (:func:`~nextham.structures.chemistry.goldschmidt`).
3. Elements whose reference state ASE cannot build (diatoms, atoms, states without a basis):
   d = 2 r_cov · g(CN)/g(4) (covalent radius as the tetrahedral bond), noble gases
   d = 2 r_vdW · g(CN)/g(12) (van der Waals radius as the close-packed contact).

hcp cells outside rule 1 take the ideal c/a = √(8/3). The ``reference`` prototype is ASE's
reference crystal for elements whose reference is none of the five lattices (In, Sn, As, Sb,
Bi, Hg in the MOLOPT set).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers, reference_states, vdw_radii
from ase.neighborlist import neighbor_list

from nextham.errors import StructureError
from nextham.structures.chemistry import covalent_radius, goldschmidt

COORDINATION = {"fcc": 12, "bcc": 8, "hcp": 12, "diamond": 4, "sc": 6}
"""Nearest-neighbour count of each elemental lattice."""
ELEMENTAL_PROTOTYPES = ("reference", *COORDINATION)
NOBLE_GASES = frozenset({"He", "Ne", "Ar", "Kr", "Xe", "Rn"})
_CUBIC_FACTOR = {"fcc": np.sqrt(2), "bcc": 2 / np.sqrt(3), "diamond": 4 / np.sqrt(3), "sc": 1.0}
"""Cubic lattice constant / nearest-neighbour distance."""


def reference_crystal(symbol: str) -> Atoms | None:
    """ASE's reference crystal of ``symbol`` (``bulk(symbol)``), None if ASE cannot build one."""
    try:
        return bulk(symbol)
    except ValueError:  # diatom, atom, or a state given without its atomic basis
        return None


def reference_lattice(symbol: str) -> str | None:
    """The reference state's lattice name when it is one of :data:`COORDINATION`, else None."""
    state = reference_states[atomic_numbers[symbol]] or {}
    lattice = state.get("symmetry")
    ok = lattice in COORDINATION and reference_crystal(symbol) is not None
    return lattice if ok else None


def nearest_neighbours(atoms: Atoms) -> tuple[float, int]:
    """(shortest distance in Å, neighbours of atom 0 within 5 % of it)."""
    i, d = neighbor_list("id", atoms, 6.0)
    d0 = d[i == 0]
    dmin = float(d.min())
    return dmin, int(np.sum(d0 < 1.05 * dmin))


@cache
def _reference_neighbours(symbol: str) -> tuple[float, int] | None:
    ref = reference_crystal(symbol)
    return None if ref is None else nearest_neighbours(ref)


def nn_distance(symbol: str, cn: int) -> tuple[float, str]:
    """Nearest-neighbour distance (Å) of ``symbol`` at coordination ``cn`` and its rule."""
    ref = _reference_neighbours(symbol)
    if ref is not None:
        d, cn_ref = ref
        return d * goldschmidt(cn) / goldschmidt(cn_ref), "reference"
    if symbol in NOBLE_GASES:
        r = float(vdw_radii[atomic_numbers[symbol]])
        return 2 * r * goldschmidt(cn) / goldschmidt(12), "van der Waals"
    return 2 * covalent_radius(symbol) * goldschmidt(cn) / goldschmidt(4), "covalent"


def elemental(symbol: str, kind: str) -> Atoms:
    """Primitive cell of ``symbol`` in prototype ``kind`` (:data:`ELEMENTAL_PROTOTYPES`).

    Raises :class:`StructureError` for ``reference`` when ASE has no buildable reference
    crystal or the reference is one of the five lattices (then that lattice is the reference).
    """
    if kind == "reference":
        ref = reference_crystal(symbol)
        if ref is None:
            raise StructureError(f"{symbol}: ASE has no buildable reference crystal")
        if reference_lattice(symbol) is not None:
            raise StructureError(
                f"{symbol}: the reference state is {reference_lattice(symbol)}, built as that"
            )
        return ref
    if kind not in COORDINATION:
        raise ValueError(
            f"unknown elemental prototype {kind!r}; choose from {ELEMENTAL_PROTOTYPES}"
        )
    if reference_lattice(symbol) == kind:
        return bulk(symbol)
    d, _ = nn_distance(symbol, COORDINATION[kind])
    if kind == "hcp":
        return bulk(symbol, "hcp", a=d, c=d * np.sqrt(8 / 3))
    return bulk(symbol, kind, a=d * _CUBIC_FACTOR[kind])
