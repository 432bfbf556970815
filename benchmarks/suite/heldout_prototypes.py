"""Crystal prototypes that the universal recipe never makes: out of distribution by geometry.

The universal dataset (``nextham generate --recipe universal``) has AB compounds in rocksalt,
zincblende, wurtzite and CsCl and MX₂ in fluorite, rutile and the 2H (trigonal-prismatic)
layer. Two prototypes it lacks keep the chemistry of its compositions and change the geometry:

* ``nickelarsenide`` (NiAs type, P6₃/mmc, 4 atoms): anions in hcp, cations in every octahedral
  hole. The cation is six-fold coordinated as in rocksalt, but its octahedra share faces along
  c, so cation–cation contacts are c/2 = 2d/√3 ≈ 1.15 d, against √2·d in rocksalt.
  Ideal hcp: a = √2·d, c = √(8/3)·a.
* ``1T-MX2`` (CdI₂ type, P-3m1, 3 atoms): one layer of edge-sharing octahedra per cell, against
  the trigonal prisms of the recipe's 2H layer. Ideal octahedra: a = √2·d, layer height
  h = 2d/√3; interlayer X–X contact twice X's van der Waals radius, as the 2H bulk
  (:func:`nextham.structures.layered.bulk_mx2`).

The bond length d of each composition is taken from its own training structure (the nearest
cation–anion distance of the record), so only the arrangement is new.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, vdw_radii

HELDOUT_PROTOTYPES = ("nickelarsenide", "1T-MX2")


def _hexagonal(a: float, c: float) -> np.ndarray:
    return np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])


def nickel_arsenide(a: str, x: str, d: float) -> Atoms:
    """NiAs-type AX (cation ``a`` octahedral in hcp ``x``) with A–X = ``d`` (Å)."""
    lat = np.sqrt(2) * d
    frac = [[0, 0, 0], [0, 0, 0.5], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]]
    return Atoms(
        [a, a, x, x], scaled_positions=frac, cell=_hexagonal(lat, lat * np.sqrt(8 / 3)), pbc=True
    )


def octahedral_mx2(m: str, x: str, d: float) -> Atoms:
    """1T (CdI₂-type) MX₂ bulk, one layer per cell, with M–X = ``d`` (Å)."""
    lat, h = np.sqrt(2) * d, 2 * d / np.sqrt(3)
    contact = 2 * float(vdw_radii[atomic_numbers[x]])
    gap = np.sqrt(max(contact**2 - lat**2 / 3, (0.5 * contact) ** 2))
    c = h + gap
    z = h / (2 * c)
    frac = [[0, 0, 0], [1 / 3, 2 / 3, z], [2 / 3, 1 / 3, -z]]
    return Atoms([m, x, x], scaled_positions=frac, cell=_hexagonal(lat, c), pbc=True)


def build(kind: str, a: str, x: str, d: float) -> Atoms:
    """Prototype ``kind`` (:data:`HELDOUT_PROTOTYPES`) of ``a``–``x`` with bond length ``d``."""
    if kind == "nickelarsenide":
        return nickel_arsenide(a, x, d)
    if kind == "1T-MX2":
        return octahedral_mx2(a, x, d)
    raise ValueError(f"unknown held-out prototype {kind!r}; choose from {HELDOUT_PROTOTYPES}")


def nearest_distance(atoms: Atoms, a: str, x: str) -> float:
    """Shortest ``a``–``x`` distance of a periodic structure (Å)."""
    sym = np.array(atoms.get_chemical_symbols())
    ia, ix = np.flatnonzero(sym == a), np.flatnonzero(sym == x)
    if not len(ia) or not len(ix):
        raise ValueError(f"{atoms.get_chemical_formula()} has no {a}–{x} pair")
    shifts = np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T
    images = shifts @ np.asarray(atoms.cell)
    pos = atoms.positions
    vec = pos[ix][None, :, None] - pos[ia][:, None, None] + images[None, None]
    return float(np.linalg.norm(vec, axis=-1).min())


def distorted(atoms: Atoms, rattle: float, seed: int, kind: str) -> Atoms:
    """A copy rattled by ``rattle`` Å (Gaussian, seeded) and tagged with its prototype."""
    out = atoms.copy()
    out.rattle(stdev=rattle, seed=seed)
    out.info["prototype"] = kind
    return out
