"""``nextham import`` / ``export`` end to end on synthetic datasets: round trips through every
format, analysis of imported entries, atomic failure, and the clear refusals (no H0, NaN
structure, damaged manifest)."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import BASIS, CELL, tiny_model
from records import random_record

from nextham.cli.main import main
from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.evaluate import evaluate_dataset
from nextham.formats import abacus
from nextham.predict import predict_hamiltonians
from nextham.predict.inputs import record_atoms
from nextham.record import keys as K
from nextham.store.dataset import Dataset
from nextham.testing import random_crystal_record


def _conditioned(spinor: bool) -> dict:
    """A random record with S = 1 on site and small off-site overlaps (S(k) positive)."""
    rec = random_record(spinor=spinor, basis_ls={14: (0, 1), 8: (0, 1)})
    f = 2 if spinor else 1
    ptr = rec[K.BLOCK_PTR]
    for e, ((i, j), r) in enumerate(zip(rec[K.EDGE_INDEX], rec[K.CELL_SHIFT])):
        onsite = i == j and not r.any()
        s = slice(ptr[e], ptr[e + 1])
        n = int(np.sqrt(ptr[e + 1] - ptr[e])) if onsite else 0
        rec[K.S][s] = np.eye(n).ravel() if onsite else 0.02 * rec[K.S][s]
        h = slice(f * f * ptr[e], f * f * ptr[e + 1])
        rec[K.HT][h] *= 1.0 if onsite else 0.1
    return rec


def _dataset(path, spinor=False) -> dict:
    rec = _conditioned(spinor)
    settings = EngineSettings(spin="soc" if spinor else "scalar")
    Dataset.create(path, settings, [("xtal", record_atoms(rec))]).add("xtal", rec)
    return rec


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("fmt", ["abacus", "deeph", "deepx", "deeptb"])
@pytest.mark.parametrize("spinor", [False, True])
def test_export_then_import_gives_the_same_matrices(tmp_path, capsys, fmt, spinor):
    rec = _dataset(tmp_path / "ds", spinor)
    assert (
        main(["export", str(tmp_path / "ds"), "--format", fmt, "--out", str(tmp_path / "x")]) == 0
    )
    assert (
        main(["import", str(tmp_path / "x"), "--format", fmt, "--out", str(tmp_path / "im")]) == 0
    )
    ds = Dataset(tmp_path / "im")
    assert ds.names == ["xtal"] and ds.source["format"] == fmt
    back = ds.load("xtal")
    for key in (K.S, K.HT) if fmt == "abacus" else (K.S, K.HT, K.H0):
        np.testing.assert_allclose(back[key], rec[key], atol=1e-10)
    np.testing.assert_array_equal(back[K.NUMBERS], rec[K.NUMBERS])
    assert (K.H0 in back) == (fmt != "abacus")
    if fmt == "abacus":  # no Fermi level in the files: computed at import from n_electrons
        assert "computed at import" in back[K.META]["fermi_level_from"]
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "im"), "--entries"]) == 0
    assert f"imported:{fmt}" in capsys.readouterr().out


def test_abacus_export_in_ev(tmp_path, capsys):
    rec = _dataset(tmp_path / "ds")
    argv = ["export", str(tmp_path / "ds"), "--format", "abacus", "--out", str(tmp_path / "x")]
    assert main([*argv, "--units", "ev"]) == 0
    assert "rR: the exact position matrix for 0 structures, the two-centre approximation" in (
        capsys.readouterr().out
    )
    _, csr = abacus.read_csr(tmp_path / "x" / "xtal" / abacus.HR)
    first = rec[K.HT][0]  # block 0 entry (0, 0): s–s, no sign change, written in eV
    assert np.isclose(csr[tuple(rec[K.CELL_SHIFT][0])][0, 4 * rec[K.EDGE_INDEX][0][1]], first)
    back = abacus.read(tmp_path / "x" / "xtal", units="ev")
    np.testing.assert_allclose(back[K.HT], rec[K.HT], atol=1e-10)
    ry = abacus.read(tmp_path / "x" / "xtal")
    np.testing.assert_allclose(ry[K.HT], rec[K.HT] * abacus.RYDBERG_EV, atol=1e-9)


def test_bands_and_optics_run_on_an_imported_entry(tmp_path):
    _dataset(tmp_path / "ds")
    main(["export", str(tmp_path / "ds"), "--format", "deepx", "--out", str(tmp_path / "x")])
    main(["import", str(tmp_path / "x"), "--format", "deepx", "--out", str(tmp_path / "im")])
    entry = str(tmp_path / "im" / "entries" / "xtal.h5")
    out = tmp_path / "b.png"
    assert main(["bands", entry, "--out", str(out), "--npoints", "12", "--kmesh", "2,2,2"]) == 0
    assert out.is_file() and out.with_suffix(".json").is_file()
    opt = tmp_path / "o.png"
    argv = ["optics", entry, "--out", str(opt), "--kmesh", "2,2,2", "--points", "8"]
    assert main(argv) == 0 and opt.with_suffix(".json").is_file()


def test_a_broken_structure_leaves_no_dataset(tmp_path, capsys):
    _dataset(tmp_path / "ds")
    for name in ("a", "b"):
        main(["export", str(tmp_path / "ds"), "--format", "abacus", "--out", str(tmp_path / name)])
    bad = tmp_path / "b" / "xtal" / abacus.HR
    text = bad.read_text()
    assert "Matrix Dimension of H(R): 8\n" in text  # 2 atoms × (s + p)
    bad.write_text(text.replace("Matrix Dimension of H(R): 8\n", "Matrix Dimension of H(R): 9\n"))
    tree = tmp_path / "tree"
    (tmp_path / "a").rename(tree)
    (tmp_path / "b" / "xtal").rename(tree / "zz")
    capsys.readouterr()
    rc = main(["import", str(tree), "--format", "abacus", "--out", str(tmp_path / "im")])
    err = _one_line_error(capsys)
    assert rc == 2 and "zz/data-HR-sparse_SPIN0.csr: R = " in err and "dimension 9" in err
    assert not (tmp_path / "im").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".im")]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--format", "deepx"], "not a deepx directory (missing POSCAR"),
        (["--format", "deeph", "--units", "ev"], "--units applies to --format abacus only"),
        (["--format", "deeph", "--orbitals", "Si"], "--orbitals takes EL=l,l"),
    ],
)
def test_import_bad_input_is_one_line(tmp_path, capsys, argv, message):
    _dataset(tmp_path / "ds")
    main(["export", str(tmp_path / "ds"), "--format", "deeph", "--out", str(tmp_path / "x")])
    capsys.readouterr()
    rc = main(["import", str(tmp_path / "x"), *argv, "--out", str(tmp_path / "im")])
    assert rc == 2 and message in _one_line_error(capsys)
    assert not (tmp_path / "im").exists()


def test_a_model_refuses_a_record_without_h0():
    rec = random_crystal_record(BASIS, (8, 83), CELL, cutoff=3.2)
    del rec[K.H0]
    rec[K.META] = {"source": {"format": "abacus", "path": "/data/x"}}
    with pytest.raises(InputError, match=r"imported from abacus, /data/x\) has no H0.*predict"):
        predict_hamiltonians(tiny_model(), [rec])


def test_evaluate_refuses_an_imported_dataset_without_h0(tmp_path):
    _dataset(tmp_path / "ds")
    main(["export", str(tmp_path / "ds"), "--format", "abacus", "--out", str(tmp_path / "x")])
    main(["import", str(tmp_path / "x"), "--format", "abacus", "--out", str(tmp_path / "im")])
    with pytest.raises(InputError, match=r"entry xtal .* has no H0"):
        evaluate_dataset(None, {}, str(tmp_path / "im"), "all", np.zeros((1, 3)))
    with pytest.raises(InputError, match=r"imported from abacus .* no nextham engine settings"):
        Dataset(tmp_path / "im").settings  # noqa: B018 (train reads it the same way)


def test_generate_refuses_a_poscar_with_nan(tmp_path, capsys):
    poscar = tmp_path / "POSCAR"
    poscar.write_text("Si\n1.0\n5 0 0\n0 5 0\n0 0 5\nSi\n2\nDirect\n0 0 0\n0.25 nan 0.25\n")
    rc = main(["generate", str(tmp_path / "ds"), str(poscar)])
    err = _one_line_error(capsys)
    assert rc == 2 and str(poscar) in err and "non-finite" in err and "fix the numbers" in err


@pytest.mark.parametrize("command", ["inspect", "export"])
def test_a_manifest_that_is_not_json_is_named(tmp_path, capsys, command):
    _dataset(tmp_path / "ds")
    (tmp_path / "ds" / "manifest.json").write_text('{"names": ["xtal"], "entr')
    extra = ["--format", "deeph", "--out", str(tmp_path / "x")] if command == "export" else []
    rc = main([command, str(tmp_path / "ds"), *extra])
    err = _one_line_error(capsys)
    assert rc == 2 and "manifest.json: not valid JSON" in err and "restore it" in err
