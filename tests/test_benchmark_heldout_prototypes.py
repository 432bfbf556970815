"""The held-out prototypes of benchmarks/gate_universal.py: coordination and bond lengths."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from suite.heldout_prototypes import (
    build,
    distorted,
    nearest_distance,
    nickel_arsenide,
    octahedral_mx2,
)


def _neighbours(atoms, i: int, cutoff: float) -> np.ndarray:
    """Distances from atom ``i`` to every periodic image within ``cutoff`` Å."""
    shifts = np.array(np.meshgrid(*[[-2, -1, 0, 1, 2]] * 3, indexing="ij")).reshape(3, -1).T
    vec = atoms.positions[None] + (shifts @ np.asarray(atoms.cell))[:, None] - atoms.positions[i]
    d = np.linalg.norm(vec, axis=-1).ravel()
    return np.sort(d[(d > 1e-8) & (d < cutoff)])


def test_nickel_arsenide_octahedra_share_faces():
    d = 2.5
    atoms = nickel_arsenide("Ni", "As", d)
    sym = atoms.get_chemical_symbols()
    for i in (0, 1):
        first = _neighbours(atoms, i, 1.01 * d)
        assert len(first) == 6 and np.allclose(first, d)
        # two cations across the shared faces at c/2 = 2d/√3, closer than rocksalt's √2 d
        near = _neighbours(atoms, i, 1.2 * d)
        assert np.allclose(near[6:], 2 * d / np.sqrt(3)) and len(near) == 8
    assert sym == ["Ni", "Ni", "As", "As"]
    for i in (2, 3):  # the anion is trigonal-prismatic: six cations at d
        assert np.allclose(_neighbours(atoms, i, 1.01 * d), d)


def test_octahedral_mx2_is_one_layer_of_octahedra():
    d = 2.43
    atoms = octahedral_mx2("Ti", "S", d)
    first = _neighbours(atoms, 0, 1.01 * d)
    assert len(first) == 6 and np.allclose(first, d)
    # the anion has three metal neighbours (one layer), none across the van der Waals gap
    anion = _neighbours(atoms, 1, 1.01 * d)
    assert len(anion) == 3 and np.allclose(anion, d)


def test_nearest_distance_and_tags():
    atoms = build("nickelarsenide", "Pd", "Te", 2.9)
    assert nearest_distance(atoms, "Pd", "Te") == pytest.approx(2.9)
    moved = distorted(atoms, 0.03, 1, "nickelarsenide")
    assert moved.info["prototype"] == "nickelarsenide"
    assert 0 < np.abs(moved.positions - atoms.positions).max() < 0.2
    with pytest.raises(ValueError, match="no Pd–S pair"):
        nearest_distance(atoms, "Pd", "S")
    with pytest.raises(ValueError, match="unknown held-out prototype"):
        build("rocksalt", "Pd", "Te", 2.9)
