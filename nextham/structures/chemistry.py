"""Chemistry tables and the bond-length rules of the structure prototypes (Å).

The tables (common oxidation states, Pauling electronegativities, Shannon ionic radii) live in
``nextham/data/structure_chemistry.json`` with their sources. The rules:

* **Coordination correction** (Goldschmidt): a bond length at coordination number CN scales as
  g(CN) with g(12) = 1.00, g(8) = 0.97, g(6) = 0.96, g(≤4) = 0.88 (V. M. Goldschmidt, 1926,
  as tabulated in A. F. Wells, *Structural Inorganic Chemistry*).
* **Ionic bond** A–X at CN: (r_A + r_X) · g(CN)/g(6) with Shannon CN-VI radii, when both ions
  are in the table; otherwise
* **covalent bond**: (r_A + r_X) · g(CN)/g(4) with ASE's covalent radii (Cordero et al. 2008),
  taken as the bond of a four-coordinated (tetrahedral) crystal.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np
from ase.data import atomic_numbers, covalent_radii

TABLE_FILE = "structure_chemistry.json"
GOLDSCHMIDT = {12: 1.00, 8: 0.97, 6: 0.96, 4: 0.88}
"""Relative bond length at coordination number CN (CN ≤ 4 uses the CN-4 value)."""


@cache
def table() -> dict:
    """The chemistry table (oxidation states, electronegativity, Shannon radii, sources)."""
    return json.loads((resources.files("nextham") / "data" / TABLE_FILE).read_text())


def goldschmidt(cn: int) -> float:
    """Goldschmidt's relative bond length at coordination ``cn``: the table at 4, 6, 8, 12,
    linear between them, 0.88 below 4 and 1.00 above 12."""
    cns = sorted(GOLDSCHMIDT)
    return float(np.interp(cn, cns, [GOLDSCHMIDT[c] for c in cns]))


def oxidation_states(symbol: str) -> tuple[int, ...]:
    """Common oxidation states of ``symbol`` in ionic solids (empty for noble gases)."""
    return tuple(table()["oxidation_states"].get(symbol, ()))


def electronegativity(symbol: str) -> float:
    """Pauling electronegativity; elements without a value (He, Ne, Ar) count as 4.0."""
    return float(table()["electronegativity"].get(symbol, 4.0))


def ion(symbol: str, charge: int) -> str:
    """Key of an ion in the radius table, e.g. ``ion("Ti", 4) == "Ti+4"``."""
    return f"{symbol}{charge:+d}"


def shannon_radius(symbol: str, charge: int, cn: str = "VI") -> float | None:
    """Shannon effective ionic radius (Å) at coordination ``cn`` ("VI" or "XII"), or None."""
    return table()["shannon_radii"][cn].get(ion(symbol, charge))


def covalent_radius(symbol: str) -> float:
    """ASE's covalent radius (Cordero et al., Dalton Trans. 2008, 2832), Å."""
    return float(covalent_radii[atomic_numbers[symbol]])


def bond_length(a: tuple[str, int], x: tuple[str, int], cn: int) -> tuple[float, str]:
    """Bond length (Å) between ion ``a`` = (symbol, charge) and ``x`` at coordination ``cn``
    of the cation, and the rule used ("ionic" or "covalent")."""
    ra, rx = shannon_radius(*a), shannon_radius(*x)
    if ra is not None and rx is not None:
        return (ra + rx) * goldschmidt(cn) / GOLDSCHMIDT[6], "ionic"
    d = covalent_radius(a[0]) + covalent_radius(x[0])
    return d * goldschmidt(cn) / GOLDSCHMIDT[4], "covalent"
