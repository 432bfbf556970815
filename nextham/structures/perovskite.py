"""Perovskites ABX₃: the cubic cell and a tilted cell built explicitly.

Both take the B–X bond length ``d`` (Å); the octahedra are regular and rigid.

* ``perovskite`` (cubic, Pm-3m, 5 atoms): B at the origin, X at the edge centres
  (½,0,0), (0,½,0), (0,0,½), A at the body centre; a = 2d.
* ``perovskite-tilted`` (Glazer a⁰a⁰c⁺, P4/mbm, 10 atoms): the √2×√2×1 cell in which the
  octahedra rotate about c by ±φ in a checkerboard (neighbours in the ab plane turn the
  opposite way, all layers alike). The shared equatorial X moves off the B–B line, the
  in-plane B–B distance shrinks to 2d·cos φ and the in-plane B–X–B angle is 180° − 2φ;
  the apical B–X–B angle stays 180°. Cell: a = b = 2√2·d·cos φ, c = 2d.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

PEROVSKITE_PROTOTYPES = ("perovskite", "perovskite-tilted")
DEFAULT_TILT = 8.0
"""Degrees of octahedral rotation φ of the tilted cell (B–X–B = 164°)."""


def cubic_perovskite(a: str, b: str, x: str, d: float) -> Atoms:
    """Cubic ABX₃ with B–X = ``d`` (Å)."""
    frac = [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]]
    return Atoms([a, b, x, x, x], scaled_positions=frac, cell=np.eye(3) * 2 * d, pbc=True)


def tilted_perovskite(a: str, b: str, x: str, d: float, tilt: float = DEFAULT_TILT) -> Atoms:
    """a⁰a⁰c⁺ ABX₃ (10 atoms) with B–X = ``d`` (Å) and octahedra rotated by ``tilt`` degrees
    about c, alternating in sign between in-plane neighbours."""
    phi = np.radians(tilt)
    s = 2 * np.sqrt(2) * d * np.cos(phi)
    c = 2 * d
    cell = np.diag([s, s, c])
    # the four equatorial X around B(0,0,0), each shared with one B(½,½,0) image
    angles = np.radians(45.0) + phi + np.arange(4) * np.pi / 2
    eq = np.stack([d * np.cos(angles), d * np.sin(angles), np.zeros(4)], axis=1)
    eq_frac = np.mod(eq / [s, s, c], 1.0)
    frac = np.vstack([
        [[0.5, 0, 0.5], [0, 0.5, 0.5]],  # A
        [[0, 0, 0], [0.5, 0.5, 0]],  # B, rotated by +φ and −φ
        eq_frac,  # equatorial X (z = 0)
        [[0, 0, 0.5], [0.5, 0.5, 0.5]],  # apical X
    ])  # fmt: skip
    return Atoms([a, a, b, b, *[x] * 6], scaled_positions=frac, cell=cell, pbc=True)


def perovskite(a: str, b: str, x: str, kind: str, d: float) -> Atoms:
    """ABX₃ prototype ``kind`` (:data:`PEROVSKITE_PROTOTYPES`) with B–X = ``d`` (Å)."""
    if kind == "perovskite":
        return cubic_perovskite(a, b, x, d)
    if kind == "perovskite-tilted":
        return tilted_perovskite(a, b, x, d)
    raise ValueError(f"unknown perovskite prototype {kind!r}; choose from {PEROVSKITE_PROTOTYPES}")
