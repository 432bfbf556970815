"""Prototype cells: stoichiometry and neighbour distances against the radius rules, computed
here from the published radii (Shannon 1976, Cordero 2008, ASE's reference states)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from ase.build import bulk
from ase.neighborlist import neighbor_list

from nextham.structures.compounds import ab2, binary
from nextham.structures.elemental import elemental, nn_distance
from nextham.structures.layered import bulk_mx2, monolayer_mx2, vacuum_gap
from nextham.structures.perovskite import cubic_perovskite, tilted_perovskite

G = {4: 0.88, 6: 0.96, 8: 0.97, 12: 1.00}  # Goldschmidt's coordination factors


def shortest(atoms):
    """(shortest distance, neighbours of every atom at it) — each a sorted list per atom."""
    i, d = neighbor_list("id", atoms, 6.0)
    dmin = d.min()
    return dmin, sorted(Counter(i[d < dmin + 1e-6]).values())


def ratio(atoms):
    counts = Counter(atoms.get_chemical_symbols())
    return {k: v / min(counts.values()) for k, v in counts.items()}


@pytest.mark.parametrize(
    "symbol,kind,d,cn",
    [
        ("Cu", "fcc", 3.61 / np.sqrt(2), 12),  # the reference state itself
        ("Cu", "bcc", 3.61 / np.sqrt(2) * G[8], 8),
        ("Cu", "sc", 3.61 / np.sqrt(2) * G[6], 6),
        ("Si", "fcc", 5.43 * np.sqrt(3) / 4 / G[4], 12),
        ("Si", "hcp", 5.43 * np.sqrt(3) / 4 / G[4], 12),
        ("Fe", "diamond", 2.87 * np.sqrt(3) / 2 * G[4] / G[8], 4),
        ("H", "fcc", 2 * 0.31 / G[4], 12),  # no reference crystal: covalent radius
        ("He", "bcc", 2 * 1.40 * G[8], 8),  # noble gas: van der Waals radius
    ],
)
def test_elemental_neighbour_distance(symbol, kind, d, cn):
    atoms = elemental(symbol, kind)
    dmin, counts = shortest(atoms)
    assert set(atoms.get_chemical_symbols()) == {symbol}
    assert dmin == pytest.approx(d, rel=2e-3)
    assert set(counts) == {cn}


def test_elemental_reference_lattice_and_reference_prototype():
    zn = elemental("Zn", "hcp")  # Zn's reference is hcp with c/a = 1.856
    assert np.allclose(zn.cell.cellpar(), bulk("Zn").cell.cellpar())
    assert len(elemental("As", "reference")) == 2  # rhombohedral A7, not one of the lattices
    assert nn_distance("As", 3)[1] == "reference"
    with pytest.raises(ValueError, match="reference"):
        elemental("H", "reference")
    with pytest.raises(ValueError, match="built as that"):
        elemental("Cu", "reference")


@pytest.mark.parametrize(
    "kind,d,cn",
    [
        ("rocksalt", 1.02 + 1.81, 6),
        ("zincblende", (1.02 + 1.81) * G[4] / G[6], 4),
        ("wurtzite", (1.02 + 1.81) * G[4] / G[6], 4),
        ("cesiumchloride", (1.02 + 1.81) * G[8] / G[6], 8),
    ],
)
def test_binary_prototypes(kind, d, cn):
    atoms = binary("Na", "Cl", kind, d)
    dmin, counts = shortest(atoms)
    assert ratio(atoms) == {"Na": 1, "Cl": 1}
    assert dmin == pytest.approx(d, rel=1e-9) and set(counts) == {cn}


@pytest.mark.parametrize("kind,cn_a", [("fluorite", 8), ("rutile", 6)])
def test_ab2_prototypes(kind, cn_a):
    d = 0.605 + 1.40  # Ti4+ (VI) + O2-
    atoms = ab2("Ti", "O", kind, d)
    assert ratio(atoms) == {"Ti": 1, "O": 2}
    i, j, dist = neighbor_list("ijd", atoms, d + 1e-6)
    assert dist.min() == pytest.approx(d, rel=1e-9)
    for a in np.where(atoms.symbols == "Ti")[0]:
        assert np.sum(i == a) == cn_a and set(atoms.symbols[j[i == a]]) == {"O"}
    assert shortest(atoms)[0] == pytest.approx(d, rel=1e-9)  # no O–O closer than Ti–O


def _angles(atoms, centre, cutoff):
    """Angles (degrees) at every ``centre`` atom between its two neighbours within cutoff."""
    i, vec = neighbor_list("iD", atoms, cutoff)
    out = []
    for k in np.where(atoms.symbols == centre)[0]:
        v = vec[i == k]
        assert len(v) == 2
        cos = v[0] @ v[1] / np.linalg.norm(v[0]) / np.linalg.norm(v[1])
        out.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return np.array(out)


def test_cubic_perovskite():
    d = 0.605 + 1.40
    atoms = cubic_perovskite("Sr", "Ti", "O", d)
    assert ratio(atoms) == {"Sr": 1, "Ti": 1, "O": 3}
    assert np.allclose(atoms.cell.lengths(), 2 * d)
    assert np.allclose(_angles(atoms, "O", d + 0.01), 180.0)


@pytest.mark.parametrize("tilt", [5.0, 8.0, 12.0])
def test_tilted_perovskite_has_tilted_octahedra(tilt):
    d = 0.605 + 1.40
    atoms = tilted_perovskite("Sr", "Ti", "O", d, tilt)
    assert len(atoms) == 10 and ratio(atoms) == {"Sr": 1, "Ti": 1, "O": 3}
    i, dist = neighbor_list("id", atoms, d + 0.01)
    for b in np.where(atoms.symbols == "Ti")[0]:  # regular octahedra: six O at d
        assert np.allclose(np.sort(dist[i == b]), d) and np.sum(i == b) == 6
    angles = np.sort(_angles(atoms, "O", d + 0.01))
    assert np.allclose(angles[:4], 180.0 - 2 * tilt, atol=1e-6)  # equatorial O, tilted
    assert np.allclose(angles[4:], 180.0)  # apical O along the rotation axis
    assert shortest(atoms)[0] == pytest.approx(d)  # the tilt brings no atom closer than B–X


def test_layered_mx2():
    d = 0.65 + 1.84  # Mo4+ (VI) + S2-
    for atoms in (bulk_mx2("Mo", "S", d), monolayer_mx2("Mo", "S", d)):
        assert ratio(atoms) == {"Mo": 1, "S": 2}
        i, j, dist = neighbor_list("ijd", atoms, d + 1e-6)
        for m in np.where(atoms.symbols == "Mo")[0]:
            assert np.sum(i == m) == 6 and np.allclose(dist[i == m], d)
        assert atoms.cell.lengths()[0] == pytest.approx(d * np.sqrt(12 / 7))
    layer = monolayer_mx2("Mo", "S", d)
    assert len(layer) == 3 and vacuum_gap(layer) >= 12.0
    i, j, D = neighbor_list("ijD", layer, 5.0)
    assert np.abs(D[:, 2]).max() < 5.0  # no bond crosses the vacuum
    two = bulk_mx2("Mo", "S", d)
    assert vacuum_gap(two) < 4.0  # bulk: layers stacked at the van der Waals contact
    s = np.where(two.symbols == "S")[0]
    i, j, dist = neighbor_list("ijd", two, 3.7)
    inter = dist[np.isin(i, s) & np.isin(j, s) & (dist > atoms.cell.lengths()[0] + 1e-3)]
    assert inter.min() == pytest.approx(2 * 1.80, rel=1e-6)  # S vdW radius (Bondi)
