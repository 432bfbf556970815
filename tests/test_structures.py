"""Structure reading (any ASE format), validation, and the reproducible generator."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from nextham.errors import StructureError
from nextham.structures.generate import GeneratorSpec, generate_structures
from nextham.structures.read import read_structures


@pytest.mark.parametrize("fmt,name", [("vasp", "POSCAR"), ("cif", "x.cif"), ("extxyz", "x.xyz")])
def test_read_formats(tmp_path, fmt, name):
    atoms = bulk("GaAs", "zincblende", a=5.65)
    write(tmp_path / name, atoms, format=fmt)
    [(got_name, got)] = read_structures([tmp_path / name])
    assert got_name == (tmp_path / name).stem
    assert got.get_chemical_symbols() == ["Ga", "As"]
    assert np.allclose(got.cell.cellpar(), atoms.cell.cellpar(), atol=1e-4)


def test_multiframe_names(tmp_path):
    write(tmp_path / "t.xyz", [bulk("Si"), bulk("C")], format="extxyz")
    assert [n for n, _ in read_structures([tmp_path / "t.xyz"])] == ["t_0", "t_1"]


def test_bad_inputs(tmp_path):
    with pytest.raises(StructureError, match="no such file"):
        read_structures([tmp_path / "missing.cif"])
    (tmp_path / "junk.cif").write_text("this is not a cif\n")
    with pytest.raises(StructureError, match="cannot read"):
        read_structures([tmp_path / "junk.cif"])
    write(tmp_path / "mol.xyz", Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]), format="xyz")
    with pytest.raises(StructureError, match="not periodic"):
        read_structures([tmp_path / "mol.xyz"])
    close = bulk("Si", "diamond", a=5.43)
    close.positions[1] = close.positions[0] + 0.1
    write(tmp_path / "close.xyz", close, format="extxyz")
    with pytest.raises(StructureError, match="closer than"):
        read_structures([tmp_path / "close.xyz"])


def test_generator_reproducible_and_seeded():
    spec = GeneratorSpec(elements=("Si",), binaries=(("Ga", "As"),), n_per_prototype=2, seed=3)
    a, b = generate_structures(spec), generate_structures(spec)
    assert [n for n, _ in a] == [n for n, _ in b]
    assert len(a) == 2 * 2 + 2 * 2
    for (_, x), (_, y) in zip(a, b):
        assert np.array_equal(x.positions, y.positions) and np.array_equal(x.cell, y.cell)
    c = generate_structures(GeneratorSpec(**{**spec.__dict__, "seed": 4}))
    assert not np.allclose(a[0][1].positions, c[0][1].positions)
    assert a[0][0] == "0000_Si2_diamond" and a[-1][0].endswith("_rocksalt")


def test_generator_distortion_bounds():
    spec = GeneratorSpec(elements=("C",), elemental_prototypes=("diamond",), n_per_prototype=5,
                         strain=0.02, rattle=0.0, supercell=(2, 1, 1))  # fmt: skip
    ideal = bulk("C", "diamond", a=(0.76 * 2) * 4 / np.sqrt(3)).repeat((2, 1, 1))
    for _, atoms in generate_structures(spec):
        assert len(atoms) == 4
        ratio = atoms.cell.volume / ideal.cell.volume
        assert 0.93 < ratio < 1.07


def test_generator_rejects_unknown():
    with pytest.raises(ValueError, match="prototype"):
        GeneratorSpec(elements=("Si",), elemental_prototypes=("perovskite",))
    with pytest.raises(ValueError, match="element symbol"):
        GeneratorSpec(elements=("Xx",))
