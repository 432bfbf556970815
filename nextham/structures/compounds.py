"""Ideal cells of binary (AB) and AB₂ prototypes from a cation–anion bond length d (Å).

Lattice constants from d (every cation–anion nearest-neighbour distance equals d):

=================  =====  ==============================================================
prototype          CN(A)  cell
=================  =====  ==============================================================
rocksalt           6      a = 2d (fcc primitive cell, 2 atoms)
zincblende         4      a = 4d/√3 (2 atoms)
wurtzite           4      a = d·√(8/3), c = a·√(8/3), u = 3/8 (4 atoms)
cesiumchloride     8      a = 2d/√3 (2 atoms)
fluorite (AB₂)     8      a = 4d/√3 (3 atoms)
rutile (AB₂)       6      c/a = 0.644 (TiO₂), u = 1/4 + (c/a)²/8 (all six bonds equal),
                          a = d/(√2·u) (6 atoms)
=================  =====  ==============================================================
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk

BINARY_CN = {"rocksalt": 6, "zincblende": 4, "wurtzite": 4, "cesiumchloride": 8}
"""AB prototypes and the cation's coordination number."""
AB2_CN = {"fluorite": 8, "rutile": 6}
"""AB₂ prototypes and the cation's coordination number."""
RUTILE_C_OVER_A = 0.644


def binary(a: str, x: str, kind: str, d: float) -> Atoms:
    """Primitive cell of the AB compound ``a``–``x`` in ``kind`` with bond length ``d`` (Å)."""
    name = f"{a}{x}"
    if kind == "rocksalt":
        return bulk(name, "rocksalt", a=2 * d)
    if kind == "zincblende":
        return bulk(name, "zincblende", a=4 * d / np.sqrt(3))
    if kind == "cesiumchloride":
        return bulk(name, "cesiumchloride", a=2 * d / np.sqrt(3))
    if kind == "wurtzite":
        lat = d * np.sqrt(8 / 3)
        return bulk(name, "wurtzite", a=lat, c=lat * np.sqrt(8 / 3), u=3 / 8)
    raise ValueError(f"unknown binary prototype {kind!r}; choose from {tuple(BINARY_CN)}")


def fluorite(a: str, x: str, d: float) -> Atoms:
    """Fluorite AX₂ (CaF₂ type): A on fcc sites, X in every tetrahedral hole; A–X = ``d``."""
    return bulk(f"{a}{x}2", "fluorite", a=4 * d / np.sqrt(3))


def rutile(a: str, x: str, d: float, c_over_a: float = RUTILE_C_OVER_A) -> Atoms:
    """Rutile AX₂ (TiO₂ type, P4₂/mnm) with all six A–X bonds equal to ``d``."""
    u = 0.25 + c_over_a**2 / 8
    lat = d / (np.sqrt(2) * u)
    frac = [[0, 0, 0], [0.5, 0.5, 0.5], [u, u, 0], [1 - u, 1 - u, 0],
            [0.5 + u, 0.5 - u, 0.5], [0.5 - u, 0.5 + u, 0.5]]  # fmt: skip
    cell = np.diag([lat, lat, lat * c_over_a])
    return Atoms([a, a, x, x, x, x], scaled_positions=frac, cell=cell, pbc=True)


def ab2(a: str, x: str, kind: str, d: float) -> Atoms:
    """AB₂ prototype ``kind`` (:data:`AB2_CN`) of ``a``–``x`` with bond length ``d`` (Å)."""
    if kind == "fluorite":
        return fluorite(a, x, d)
    if kind == "rutile":
        return rutile(a, x, d)
    raise ValueError(f"unknown AB2 prototype {kind!r}; choose from {tuple(AB2_CN)}")
