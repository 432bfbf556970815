"""Band structures: path, DOS normalization, eigenvalues vs PySCF, files, CLI (shipped model)."""

from __future__ import annotations

import numpy as np
from ase.build import bulk
from model_kit import MOSE2_EXAMPLE

from nextham.bands import BandStructure, band_path, band_structure, density_of_states, dft_bands
from nextham.cli.main import main
from nextham.record import keys as K
from nextham.store.hdf5 import write_record

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_fcc_path_labels():
    path = band_path(bulk("Si", "diamond", a=5.43).cell.array, npoints=60)
    assert path.kpts.shape == (60, 3)
    assert path.labels[0] == "Γ" and "X" in path.labels and "K|U" in path.labels
    assert len(path.labels) == len(path.special_x)
    assert np.all(np.diff(path.x) >= -1e-12)


def test_dos_counts_states():
    eps = np.random.default_rng(0).uniform(-5, 5, (10, 7))
    energies = np.linspace(-8, 8, 4000)
    for degeneracy in (1.0, 2.0):
        dos = density_of_states(eps, energies, 0.2, degeneracy)
        assert abs(np.trapezoid(dos, energies) - 7 * degeneracy) < 1e-6


def test_gamma_bands_match_scf_eigenvalues(si_tight):
    """Bands of the stored HT at Γ reproduce PySCF's SCF eigenvalues (Γ-only SCF)."""
    _, _, rec = si_tight
    bs = band_structure(rec, npoints=40, kmesh=(1, 1, 1))
    scf = np.asarray(rec[K.META]["eigenvalues"])[0]
    assert np.abs(np.asarray(bs.bands)[0] - scf).max() < 0.01


def test_dft_bands_agree_with_stored_hamiltonian(si_tight):
    """PySCF get_bands along the path = Bloch sums of the stored blocks away from Γ too."""
    atoms, settings, rec = si_tight
    path = band_path(rec[K.CELL], npoints=40)
    ref = dft_bands(atoms, settings, path.kpts)
    stored = band_structure(rec, path=path, kmesh=(1, 1, 1))
    assert np.abs(np.asarray(ref["bands"]) - np.asarray(stored.bands)).max() < 0.01
    assert abs(ref["fermi_level"] - rec[K.META]["fermi_level"]) < 1e-6


def test_json_roundtrip_and_csv(tmp_path, si_record):
    bs = band_structure(si_record, npoints=40, kmesh=(2, 2, 2))
    bs.reference = {"bands": bs.bands, "fermi_level": bs.fermi_level, "label": "same"}
    bs.to_json(tmp_path / "b.json")
    assert BandStructure.from_json(tmp_path / "b.json") == bs
    bs.to_csv(tmp_path / "b.csv")
    rows = np.loadtxt(tmp_path / "b.csv", delimiter=",", skiprows=1)
    assert rows.shape == (len(bs.x), 1 + 2 * len(bs.bands[0]))


def test_cli_bands_on_entry_and_bad_input(tmp_path, si_record, capsys):
    entry = tmp_path / "si.h5"
    write_record(entry, si_record, "si")
    out = tmp_path / "plots" / "si.png"
    assert main(["bands", str(entry), "--out", str(out), "--kmesh", "2,2,2"]) == 0
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert out.with_suffix(".json").is_file() and out.with_suffix(".csv").is_file()
    assert main(["bands", str(tmp_path / "nope.h5"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.h5" in err


def test_readme_main_job_shipped_model(tmp_path, capsys):
    """The README's main job: band plot of the embedded MoSe₂ monolayer from the shipped
    (universal) model."""
    out = tmp_path / "bands.png"
    assert main(["bands", str(MOSE2_EXAMPLE), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    bs = BandStructure.from_json(out.with_suffix(".json"))
    assert bs.source == "nextham" and bs.formula == "MoSe2"
    bands = np.asarray(bs.bands)
    gap = bands[bands > bs.fermi_level].min() - bands[bands <= bs.fermi_level].max()
    assert 0.5 < gap < 2.5  # a semiconductor (PBE/szv-molopt-sr gap ≈ 1 eV here)
    assert "E_F" in capsys.readouterr().out
