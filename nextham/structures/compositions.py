"""Which compositions the universal recipe builds, and their ideal cells (:class:`Base`).

Rules (tables in :mod:`nextham.structures.chemistry`, bond lengths by its ionic/covalent rule):

* **Elements**: every element in ``reference`` (where it differs from the five lattices) and
  fcc, bcc, hcp, diamond, sc (:mod:`nextham.structures.elemental`).
* **Cations** are never nonmetals (:data:`NONMETALS`: H, C, N, O, P, S, Se, the halogens and
  noble gases; B, Si, Ge, As, Sb, Te may be cations).
* **AB**: A with common oxidation state +n and X with −n (n = 1…4), A ≠ X; when the table
  allows both orders, the less electronegative element is A. Every pair once, in rocksalt,
  zincblende, wurtzite and CsCl.
* **AB₂**: A with +2 and X ∈ {F, Cl, Br, I} (−1), or A with +4 and X = O (−2); fluorite and
  rutile.
* **ABX₃**: A with a Shannon CN-XII radius (alkali, alkaline-earth and other large cations),
  B from the d or p block, X ∈ {O, F, Cl, Br, I}, q_A + q_B = 3|q_X| with q_B ≥ q_A,
  Goldschmidt's tolerance factor t = (r_A + r_X) / (√2 (r_B + r_X)) in [0.80, 1.06] and the
  octahedral factor μ = r_B / r_X in [0.41, 0.90] (C. Li et al., Acta Cryst. B64, 702 (2008));
  B–X = r_B + r_X (CN VI). Cubic and a⁰a⁰c⁺-tilted cells.
* **MX₂**: M from groups 4–6 (Ti, V, Cr, Zr, Nb, Mo, Hf, Ta, W) as M⁴⁺, X ∈ {S, Se, Te};
  2H bulk and single layer, M–X from the bond rule at CN 6.

Candidates a rule turns down for a reason worth seeing (no radius, t outside the window, no
reference crystal) are returned as skipped ``(name, reason)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ase import Atoms
from ase.data import atomic_numbers

from nextham.structures.chemistry import (
    bond_length,
    electronegativity,
    oxidation_states,
    shannon_radius,
)
from nextham.structures.compounds import AB2_CN, BINARY_CN, ab2, binary
from nextham.structures.elemental import (
    COORDINATION,
    elemental,
    reference_crystal,
    reference_lattice,
)
from nextham.structures.groups import D_BLOCK, P_BLOCK
from nextham.structures.layered import LAYERED_PROTOTYPES, layered
from nextham.structures.perovskite import PEROVSKITE_PROTOTYPES, perovskite

AB2_ANIONS = ("O", "F", "Cl", "Br", "I")
PEROVSKITE_ANIONS = ("O", "F", "Cl", "Br", "I")
TOLERANCE_WINDOW = (0.80, 1.06)
OCTAHEDRAL_WINDOW = (0.41, 0.90)
MX2_METALS = ("Ti", "V", "Cr", "Zr", "Nb", "Mo", "Hf", "Ta", "W")
MX2_ANIONS = ("S", "Se", "Te")
NONMETALS = frozenset(
    {"H", "C", "N", "O", "F", "P", "S", "Cl", "Se", "Br", "I", "At",
     "He", "Ne", "Ar", "Kr", "Xe", "Rn"}
)  # fmt: skip
FAMILIES = ("elemental", "AB", "AB2", "ABX3", "MX2")

Skipped = tuple[str, str]
"""(name, reason) of a structure or candidate that was not built."""


@dataclass(frozen=True, eq=False)
class Base:
    """One ideal cell: composition, prototype, cell, bond rule, axes a supercell may repeat."""

    composition: str
    prototype: str
    atoms: Atoms
    rule: str
    axes: tuple[int, ...] = (0, 1, 2)

    @property
    def name(self) -> str:
        """``<composition>_<prototype>``."""
        return f"{self.composition}_{self.prototype}"


def _by_z(elements) -> list[str]:
    return sorted(set(elements), key=atomic_numbers.__getitem__)


def cation_states(symbol: str) -> tuple[int, ...]:
    """Positive oxidation states of ``symbol`` as a cation (none for :data:`NONMETALS`)."""
    return () if symbol in NONMETALS else tuple(q for q in oxidation_states(symbol) if q > 0)


def elemental_bases(elements) -> tuple[list[Base], list[Skipped]]:
    """The elemental prototypes of every element."""
    bases, skipped = [], []
    for s in _by_z(elements):
        if reference_lattice(s) is None:
            if reference_crystal(s) is None:
                skipped.append((f"{s}_reference", "no reference crystal: ASE cannot build one"))
            else:
                bases.append(Base(s, "reference", elemental(s, "reference"), "reference"))
        for kind in COORDINATION:
            rule = "reference" if reference_lattice(s) == kind else "radius rule"
            bases.append(Base(s, kind, elemental(s, kind), rule))
    return bases, skipped


def binary_pairs(elements) -> list[tuple[str, str, int]]:
    """(cation, anion, n) of every AB composition the oxidation-state rule allows."""
    els, seen, out = _by_z(elements), set(), []
    for n in (1, 2, 3, 4):
        for a in els:
            for x in els:
                if a == x or n not in cation_states(a) or -n not in oxidation_states(x):
                    continue
                both = -n in oxidation_states(a) and n in cation_states(x)
                if both and (electronegativity(a), a) > (electronegativity(x), x):
                    continue
                if frozenset((a, x)) not in seen:
                    seen.add(frozenset((a, x)))
                    out.append((a, x, n))
    return out


def binary_bases(elements) -> list[Base]:
    """Every AB pair in every :data:`~nextham.structures.compounds.BINARY_CN` prototype."""
    out = []
    for a, x, n in binary_pairs(elements):
        for kind, cn in BINARY_CN.items():
            d, rule = bond_length((a, n), (x, -n), cn)
            out.append(Base(f"{a}{x}", kind, binary(a, x, kind, d), rule))
    return out


def ab2_bases(elements) -> list[Base]:
    """AX₂ in fluorite and rutile: A²⁺ with halide X⁻, A⁴⁺ with O²⁻."""
    els, out = _by_z(elements), []
    for x in (x for x in AB2_ANIONS if x in els):
        q = -1 if x != "O" else -2
        for a in els:
            if a == x or -2 * q not in cation_states(a):
                continue
            for kind, cn in AB2_CN.items():
                d, rule = bond_length((a, -2 * q), (x, q), cn)
                out.append(Base(f"{a}{x}2", kind, ab2(a, x, kind, d), rule))
    return out


def tolerance_factor(ra: float, rb: float, rx: float) -> float:
    """Goldschmidt's tolerance factor t = (r_A + r_X) / (√2 (r_B + r_X))."""
    return (ra + rx) / (math.sqrt(2) * (rb + rx))


def _perovskite_check(a: tuple[str, int], b: tuple[str, int], x: tuple[str, int]) -> str | None:
    """Why A–B–X fails the radius rules, or None when it passes."""
    rb = shannon_radius(*b)
    if rb is None:
        return f"no Shannon radius: {b[0]}{b[1]:+d} (CN VI)"
    ra, rx = shannon_radius(a[0], a[1], "XII"), shannon_radius(*x)
    t, mu = tolerance_factor(ra, rb, rx), rb / rx
    (tlo, thi), (mlo, mhi) = TOLERANCE_WINDOW, OCTAHEDRAL_WINDOW
    if not tlo <= t <= thi:
        return f"tolerance factor: t = {t:.3f} outside [{tlo}, {thi}]"
    if not mlo <= mu <= mhi:
        return f"octahedral factor: mu = {mu:.3f} outside [{mlo}, {mhi}]"
    return None


def perovskite_bases(elements) -> tuple[list[Base], list[Skipped]]:
    """ABX₃ compositions of the rule, cubic and tilted; radius-rule failures are skipped."""
    els, bases, skipped = _by_z(elements), [], []
    a_sites = [(a, q) for a in els for q in cation_states(a) if shannon_radius(a, q, "XII")]
    b_sites = [b for b in els if atomic_numbers[b] in D_BLOCK | P_BLOCK]
    for x in (x for x in PEROVSKITE_ANIONS if x in els):
        qx = -2 if x == "O" else -1
        for a, qa in a_sites:
            for b in b_sites:
                qb = -3 * qx - qa
                if b in (a, x) or qb < qa or qb not in cation_states(b):
                    continue
                comp = f"{a}{b}{x}3"
                why = _perovskite_check((a, qa), (b, qb), (x, qx))
                if why is not None:
                    skipped.append((f"{comp}_perovskite", why))
                    continue
                d, rule = bond_length((b, qb), (x, qx), 6)
                for kind in PEROVSKITE_PROTOTYPES:
                    bases.append(Base(comp, kind, perovskite(a, b, x, kind, d), rule))
    return bases, skipped


def mx2_bases(elements) -> list[Base]:
    """2H MX₂ bulk and single layer for the group 4–6 metals and S, Se, Te."""
    els, out = set(elements), []
    for m in (m for m in MX2_METALS if m in els):
        for x in (x for x in MX2_ANIONS if x in els):
            d, rule = bond_length((m, 4), (x, -2), 6)
            for kind in LAYERED_PROTOTYPES:
                axes = (0, 1) if kind.startswith("1L") else (0, 1, 2)
                out.append(Base(f"{m}{x}2", kind, layered(m, x, kind, d), rule, axes))
    return out


def all_bases(elements, families=FAMILIES) -> tuple[list[Base], list[Skipped]]:
    """Ideal cells of every family in ``families`` over ``elements``, and what was skipped."""
    bases, skipped = [], []
    if "elemental" in families:
        b, s = elemental_bases(elements)
        bases, skipped = bases + b, skipped + s
    if "AB" in families:
        bases += binary_bases(elements)
    if "AB2" in families:
        bases += ab2_bases(elements)
    if "ABX3" in families:
        b, s = perovskite_bases(elements)
        bases, skipped = bases + b, skipped + s
    if "MX2" in families:
        bases += mx2_bases(elements)
    return bases, skipped
