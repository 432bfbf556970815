"""The universal recipe: composition rules, supercells, vacancies, seeds, shards, validation,
skipped structures, and the size of the default recipe over the MOLOPT-SR elements."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from ase.data import chemical_symbols
from ase.symbols import string2symbols

from nextham.dft.settings import MOLOPT_ELEMENTS
from nextham.errors import InputError
from nextham.structures.compositions import binary_pairs, perovskite_bases, tolerance_factor
from nextham.structures.elemental import elemental
from nextham.structures.groups import SHARD_NAMES, group_of, shard_of
from nextham.structures.layered import vacuum_gap
from nextham.structures.read import validate
from nextham.structures.universal import UniversalSpec, count_report, universal_structures

SMALL = ("H", "Li", "O", "F", "Si", "S", "Cl", "Ga", "As", "Ti", "Fe", "Sr", "Mo", "Cs", "W",
         "Pb", "I", "He")  # fmt: skip
"""Every family, shard s…5d, noble gas, an element without a reference crystal."""


@pytest.fixture(scope="module")
def small():
    return universal_structures(UniversalSpec(SMALL, seed=7))


@pytest.fixture(scope="module")
def small_supercells():
    return universal_structures(UniversalSpec(SMALL, seed=7, cells="supercell"))


@pytest.fixture(scope="module")
def full():
    return universal_structures(UniversalSpec(MOLOPT_ELEMENTS))


def positions(structures):
    return {n: (a.cell.array.copy(), a.positions.copy(), a.numbers.copy()) for n, a in structures}


def test_binary_rule():
    pairs = {(a, x): n for a, x, n in binary_pairs(["Ga", "As", "Sb", "Na", "Cl", "Si", "C",
                                                    "Mg", "O", "S", "N", "P"])}  # fmt: skip
    for pair, n in {("Ga", "As"): 3, ("Na", "Cl"): 1, ("Si", "C"): 4, ("Mg", "O"): 2,
                    ("Sb", "As"): 3, ("Ga", "N"): 3}.items():  # fmt: skip
        assert pairs[pair] == n
    assert ("As", "Sb") not in pairs  # both orders allowed: the less electronegative is A
    assert ("Cl", "Na") not in pairs and ("S", "C") not in pairs  # S is never a cation
    assert ("P", "N") not in pairs  # nonmetal cation
    assert len({frozenset(p) for p in pairs}) == len(pairs)


def test_perovskite_rule():
    # Shannon: Sr2+ (XII) 1.44, Ti4+ (VI) 0.605, O2- 1.40; Cs+ (XII) 1.88, Nb5+ 0.64
    assert tolerance_factor(1.44, 0.605, 1.40) == pytest.approx(2.84 / (np.sqrt(2) * 2.005))
    bases, skipped = perovskite_bases(["Sr", "Ti", "Cs", "Nb", "Ni", "K", "I", "O"])
    built = {b.composition for b in bases}
    assert {"SrTiO3"} <= built and "CsNbO3" not in built
    reasons = dict(skipped)
    assert reasons["CsNbO3_perovskite"].startswith("tolerance factor: t = 1.137")
    assert reasons["KNiI3_perovskite"].startswith("octahedral factor")  # 0.69/2.20 < 0.41
    assert Counter(b.prototype for b in bases) == {"perovskite": len(built),
                                                   "perovskite-tilted": len(built)}  # fmt: skip


def test_names_and_info(small):
    structures, _ = small
    names = [n for n, _ in structures]
    assert len(set(names)) == len(names)
    for name, atoms in structures:
        info = atoms.info
        comp, proto, variant = info["composition"], info["prototype"], info["variant"]
        assert name == f"{comp}_{proto}_{variant}"
        assert set(atoms.get_chemical_symbols()) == set(string2symbols(comp))


def test_supercells_and_vacancies(small_supercells):
    structures, _ = small_supercells
    by_name = dict(structures)
    vacancies = 0
    for name, atoms in structures:
        rep = [int(r) for r in atoms.info["supercell"].split("x")]
        if atoms.info["variant"] == "vac":
            vacancies += 1
            twin = by_name[name.removesuffix("_vac") + "_d0"]
            assert len(atoms) == len(twin) - 1 and 7 <= len(atoms) <= 15
            diff = Counter(twin.get_chemical_symbols()) - Counter(atoms.get_chemical_symbols())
            assert sum(diff.values()) == 1
        else:
            assert 8 <= len(atoms) <= 16 and len(atoms) % int(np.prod(rep)) == 0
    n_bases = len({n.rsplit("_", 1)[0] for n in by_name})
    assert 0.1 * n_bases < vacancies < 0.4 * n_bases  # vacancy_fraction 0.25


def test_primitive_copies_some_supercells_and_vacancies(small):
    """Default cells: n copies of the primitive cell per base, a supercell copy for about a
    quarter of the bases, a vacancy (in a supercell) for about another quarter."""
    structures, _ = small
    variants = Counter(a.info["variant"] for _, a in structures)
    bases = {n.rsplit("_", 1)[0] for n, _ in structures}
    assert variants["p0"] == variants["p1"] == len(bases) and "p2" not in variants
    assert 0.1 * len(bases) < variants["d0"] < 0.4 * len(bases) and "d1" not in variants
    assert 0.1 * len(bases) < variants["vac"] < 0.4 * len(bases)
    by_name = dict(structures)
    for name, atoms in structures:
        if atoms.info["variant"].startswith("p"):
            assert atoms.info["supercell"] == "1x1x1" and len(atoms) <= 10
        elif atoms.info["variant"] == "d0":
            assert 8 <= len(atoms) <= 16
            assert len(by_name[name.removesuffix("_d0") + "_p0"]) <= len(atoms)
        else:
            assert 7 <= len(atoms) <= 15
    sc, _ = universal_structures(UniversalSpec(("Si",), seed=7, cells="supercell"))
    prim, _ = universal_structures(UniversalSpec(("Si",), seed=7))
    assert sum(len(a) for _, a in sc) > 2 * sum(len(a) for _, a in prim)  # labels ∝ atoms²


def test_strain_rattle_and_single_layer_vacuum(small):
    structures, _ = small
    layers = [a for _, a in structures if a.info["prototype"] == "1L-MX2"]
    assert layers
    for atoms in layers:
        assert atoms.info["supercell"].endswith("x1")
        assert np.allclose(atoms.cell[2, :2], 0) and np.allclose(atoms.cell[:2, 2], 0)
        assert vacuum_gap(atoms) >= 12.0
    si = {n: a for n, a in structures if n.startswith("Si_diamond_p")}
    a, b = si["Si_diamond_p0"], si["Si_diamond_p1"]
    assert not np.allclose(a.cell.array, b.cell.array)  # strained differently
    ideal = a.cell.array / np.cbrt(a.get_volume() / b.get_volume())
    assert not np.allclose(ideal, b.cell.array)


def test_seed_reproducible_and_different():
    few = ("Si", "O", "Sr", "Ti", "Mo", "S")
    once, again = (universal_structures(UniversalSpec(few, seed=7)) for _ in range(2))
    other = universal_structures(UniversalSpec(few, seed=8))
    p, q = positions(once.structures), positions(again.structures)
    assert list(p) == list(q)
    assert all(all(np.array_equal(x, y) for x, y in zip(p[n], q[n])) for n in p)
    r = positions(other.structures)
    common = set(p) & set(r)
    assert all(not np.allclose(p[n][1], r[n][1]) for n in common if n.endswith("_p0"))
    # each base draws its own numbers: two bases do not share a strain
    strains = []
    for kind in ("fcc", "bcc"):
        ideal = elemental("Si", kind).cell.array
        strains.append(np.linalg.solve(ideal, p[f"Si_{kind}_p0"][0]))
    assert not np.allclose(strains[0], strains[1])


def test_more_copies_add_structures_and_change_none(small):
    """n = 3 is n = 2 (the fixture) plus one primitive copy per base, every shared structure
    identical: a campaign grows its recipe without losing a label."""
    more = universal_structures(UniversalSpec(SMALL, seed=7, n_per_prototype=3))
    p, q = positions(small.structures), positions(more.structures)
    assert set(q) - set(p) == {n.replace("_p0", "_p2") for n in p if n.endswith("_p0")}
    assert all(all(np.array_equal(x, y) for x, y in zip(p[n], q[n])) for n in p)
    assert not np.allclose(q["Si_diamond_p2"][1], q["Si_diamond_p1"][1])


def test_shards_partition_the_recipe(small):
    whole = positions(small.structures)
    union: dict = {}
    for k, shard in enumerate(SHARD_NAMES):
        part = universal_structures(UniversalSpec(SMALL, seed=7, shards=(shard,)))
        got = positions(part.structures)
        assert not set(got) & set(union)  # no overlap
        union.update(got)
        for name, (cell, pos, numbers) in got.items():  # the same structures as the whole
            assert np.array_equal(pos, whole[name][1]) and np.array_equal(cell, whole[name][0])
            groups = {group_of(s) for s in np.unique(part_symbols(numbers))}
            assert SHARD_NAMES.index(shard_of(part_symbols(numbers))) == k
            assert all(SHARD_NAMES.index(g) <= k for g in groups)  # closed below the shard
    assert set(union) == set(whole)
    assert len({shard_of(part_symbols(v[2])) for v in whole.values()}) == 6  # s … 5d


def part_symbols(numbers):
    return [chemical_symbols[z] for z in numbers]


def test_every_structure_validates(small):
    for name, atoms in small.structures:
        validate(atoms, name)


def test_skipped_are_reported_with_reasons():
    clean = universal_structures(UniversalSpec(("H",), rattle=0.0))
    shaken = universal_structures(UniversalSpec(("H",), rattle=0.3))
    made = {n for n, _ in shaken.structures}
    refused = {n for n, r in shaken.skipped if r.startswith("validate: ")}
    assert refused and not made & refused
    assert made | refused == {n for n, _ in clean.structures}  # nothing lost silently
    assert all("closer than" in r for n, r in shaken.skipped if n in refused)
    assert ("H_reference", "no reference crystal: ASE cannot build one") in clean.skipped


def test_bad_spec():
    with pytest.raises(InputError, match="unknown element"):
        UniversalSpec(("Si", "Qq"))
    with pytest.raises(InputError, match="unknown shard"):
        UniversalSpec(("Si",), shards=("6d",))
    with pytest.raises(InputError, match="--n"):
        UniversalSpec(("Si",), n_per_prototype=0)


def test_default_recipe_size(full):
    report = count_report(*full)
    assert report["structures"] >= 3000 and report["elements"] >= 60
    assert set(report["per_element"]) == set(MOLOPT_ELEMENTS)
    assert min(report["per_prototype"].values()) > 0 and len(report["per_prototype"]) == 16
    assert sum(report["per_shard"].values()) == report["structures"]
    assert report["skipped"] == len(full.skipped) > 0
    assert all(": " in reason for _, reason in full.skipped)
