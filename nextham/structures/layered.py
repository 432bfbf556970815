"""Layered 2H MX₂ (MoS₂ type): the bulk crystal and a single layer in a vacuum-padded cell.

One layer: M in trigonal-prismatic coordination between two X planes. With the M–X bond
length ``d`` (Å) and the X–X height of the prism equal to the in-plane constant a (MoS₂:
h/a = 1.00), d² = a²/3 + a²/4, so a = d·√(12/7) and h = a.

* ``2H-MX2`` (P6₃/mmc, 6 atoms): two layers per cell, the second rotated by 60° (M over X);
  the closest X–X contact between layers equals twice X's van der Waals radius (ASE's
  ``vdw_radii``), which sets the vertical gap g = √((2 r_vdW)² − a²/3) and c = 2(h + g).
* ``1L-MX2`` (3 atoms): one layer; c = h + vacuum, so the empty gap between the periodic
  images is ``vacuum`` Å (default 15). The engine computes 3D-periodic cells: the slab is a
  periodic cell whose third vector spans the vacuum.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, vdw_radii

LAYERED_PROTOTYPES = ("2H-MX2", "1L-MX2")
DEFAULT_VACUUM = 15.0
"""Å of empty space between the periodic images of a single layer."""


def _hexagonal(a: float, c: float) -> np.ndarray:
    return np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])


def layer_constants(d: float) -> tuple[float, float]:
    """(in-plane a, X–X height h) of a trigonal-prismatic layer with M–X = ``d`` (Å)."""
    a = d * np.sqrt(12 / 7)
    return a, a


def bulk_mx2(m: str, x: str, d: float) -> Atoms:
    """2H MX₂ bulk (two layers per cell) with M–X = ``d`` (Å)."""
    a, h = layer_constants(d)
    contact = 2 * float(vdw_radii[atomic_numbers[x]])
    gap = np.sqrt(max(contact**2 - a**2 / 3, (0.5 * contact) ** 2))
    c = 2 * (h + gap)
    z = h / (2 * c)
    frac = [
        [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.25 - z], [2 / 3, 1 / 3, 0.25 + z],  # layer 1
        [2 / 3, 1 / 3, 0.75], [1 / 3, 2 / 3, 0.75 - z], [1 / 3, 2 / 3, 0.75 + z],  # layer 2
    ]  # fmt: skip
    return Atoms([m, x, x, m, x, x], scaled_positions=frac, cell=_hexagonal(a, c), pbc=True)


def monolayer_mx2(m: str, x: str, d: float, vacuum: float = DEFAULT_VACUUM) -> Atoms:
    """One 2H layer of MX₂ with M–X = ``d`` (Å) and ``vacuum`` Å between periodic images."""
    a, h = layer_constants(d)
    c = h + vacuum
    pos = [[0, 0, c / 2], [a / 2, a / (2 * np.sqrt(3)), c / 2 - h / 2],
           [a / 2, a / (2 * np.sqrt(3)), c / 2 + h / 2]]  # fmt: skip
    return Atoms([m, x, x], positions=pos, cell=_hexagonal(a, c), pbc=True)


def vacuum_gap(atoms: Atoms, axis: int = 2) -> float:
    """Empty width (Å) along Cartesian ``axis`` between the slab and its periodic image, for a
    cell whose ``axis`` lattice vector is perpendicular to the other two."""
    z = np.sort(np.mod(atoms.positions[:, axis], atoms.cell[axis, axis]))
    gaps = np.diff(np.concatenate([z, [z[0] + atoms.cell[axis, axis]]]))
    return float(gaps.max())


def layered(m: str, x: str, kind: str, d: float) -> Atoms:
    """MX₂ prototype ``kind`` (:data:`LAYERED_PROTOTYPES`) with M–X = ``d`` (Å)."""
    if kind == "2H-MX2":
        return bulk_mx2(m, x, d)
    if kind == "1L-MX2":
        return monolayer_mx2(m, x, d)
    raise ValueError(f"unknown layered prototype {kind!r}; choose from {LAYERED_PROTOTYPES}")
