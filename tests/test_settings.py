"""Engine settings as one object: one key in every file, strict reading, no drifting defaults."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.data import atomic_numbers
from pyscf import gto

from nextham.bands import band_structure
from nextham.config import from_mapping
from nextham.dft.element_table import measured_table
from nextham.dft.label import compute_record
from nextham.dft.settings import (
    _MOLOPT,
    KE_CUTOFF_EV,
    MOLOPT_FAMILIES,
    SCALAR_BASIS,
    EngineSettings,
    check_elements,
    element_choice,
    ke_cutoff_ev,
    stored_settings,
)
from nextham.errors import InputError
from nextham.generate import build_dataset
from nextham.model.config import ModelConfig
from nextham.model.files import load_model
from nextham.optics import optical_spectrum
from nextham.predict import Predictor, default_model_path
from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.spectra.eigen import mesh_fermi_level
from nextham.store.dataset import MANIFEST, Dataset
from nextham.train.config import OptimConfig

KMESH = (2, 2, 2)


def with_smearing(record: dict, smearing_ev: float | None, n_electrons: float = 7.0) -> dict:
    """The record with its stored smearing replaced (None: no settings stored) and an odd
    electron count, so that the Fermi level depends on the smearing (a partly filled band)."""
    meta = {k: v for k, v in record[K.META].items() if k != K.ENGINE_SETTINGS}
    meta["n_electrons"] = n_electrons
    if smearing_ev is not None:
        settings = EngineSettings.from_meta(record[K.META])
        meta[K.ENGINE_SETTINGS] = {**settings.to_dict(), "smearing_ev": smearing_ev}
    return {**record, K.META: meta}


def test_stored_zero_smearing_stays_zero_everywhere(si_record):
    rec = with_smearing(si_record, 0.0)
    at_zero = mesh_fermi_level(rec, rec[K.HT], KMESH, 0.0)[0]
    at_default = mesh_fermi_level(rec, rec[K.HT], KMESH, EngineSettings.smearing_ev)[0]
    assert abs(at_zero - at_default) > 1e-4  # the test can tell the two apart
    bs = band_structure(rec, npoints=4, kmesh=KMESH)
    assert bs.fermi_level == pytest.approx(at_zero, abs=1e-12)

    model, meta = load_model(default_model_path())
    meta = {**meta, K.ENGINE_SETTINGS: {**meta[K.ENGINE_SETTINGS], "smearing_ev": 0.0}}
    predictor = Predictor(model, meta)
    mesh = {"kmesh": KMESH, "kspacing": None}
    predictor.settings = EngineSettings.from_dict({**predictor.settings.to_dict(), **mesh})
    assert predictor.fermi_level(rec) == pytest.approx(at_zero, abs=1e-12)

    spec = optical_spectrum(rec, (1, 1, 1), np.array([1.0, 2.0]), fermi_level=at_zero)
    assert spec.settings["smearing_ev"] == 0.0


def test_record_without_settings_takes_the_engine_default(si_record):
    rec = with_smearing(si_record, None)
    spec = optical_spectrum(rec, (1, 1, 1), np.array([1.0]), fermi_level=0.0)
    assert spec.settings["smearing_ev"] == EngineSettings.smearing_ev
    bs = band_structure(rec, npoints=4, kmesh=KMESH)
    want = mesh_fermi_level(rec, rec[K.HT], KMESH, EngineSettings.smearing_ev)[0]
    assert bs.fermi_level == pytest.approx(want, abs=1e-12)


def test_one_key_and_older_files(si_record, tmp_path):
    settings = EngineSettings.from_meta(si_record[K.META])
    assert K.ENGINE_SETTINGS in si_record[K.META]
    assert K.LEGACY_ENGINE_SETTINGS not in si_record[K.META]
    legacy = {K.LEGACY_ENGINE_SETTINGS: settings.to_dict()}
    assert stored_settings(legacy) == settings
    assert stored_settings({}) is None

    ds = Dataset.create(tmp_path / "ds", settings, [("si", bulk("Si", "diamond", a=5.43))])
    manifest = json.loads((ds.path / MANIFEST).read_text())
    assert manifest[K.ENGINE_SETTINGS] == settings.to_dict()
    manifest[K.LEGACY_ENGINE_SETTINGS] = manifest.pop(K.ENGINE_SETTINGS)  # an older manifest
    (ds.path / MANIFEST).write_text(json.dumps(manifest))
    assert Dataset(ds.path).settings == settings


def test_spin_properties():
    assert (EngineSettings().spinor, EngineSettings().degeneracy) == (False, 2.0)
    assert (EngineSettings(spin="soc").spinor, EngineSettings(spin="soc").degeneracy) == (True, 1.0)


def test_soc_method_choices_and_older_files():
    """``soc_method='gth'``: every element keeps its GTH-PBE pseudopotential, basis family and
    measured cutoff, with the spin–orbit flag where its k are nonzero; settings written before
    the field existed read as the SO-ECP path."""
    gth = EngineSettings(spin="soc", soc_method="gth", basis="dzvp-molopt-sr")
    pb, h = element_choice(82, gth), element_choice(1, gth)
    assert (pb.pseudo, pb.ecp, pb.basis, pb.spin_orbit) == ("gth-pbe", None,
                                                          "gth-dzvp-molopt-sr", True)  # fmt: skip
    assert not h.spin_orbit and gth.gth_spin_orbit
    scalar = EngineSettings(basis="dzvp-molopt-sr")
    assert ke_cutoff_ev([82], gth) == ke_cutoff_ev([82], scalar)
    ecp = EngineSettings(spin="soc")
    assert element_choice(82, ecp).ecp == "ecpds60mdfso" and not ecp.gth_spin_orbit
    old = {k: v for k, v in gth.to_dict().items() if k != "soc_method"}
    assert EngineSettings.from_dict(old).soc_method == "ecp"
    assert EngineSettings.from_dict(gth.to_dict()) == gth
    with pytest.raises(ValueError, match="needs spin='soc'"):
        EngineSettings(soc_method="gth")
    with pytest.raises(ValueError, match="soc_method must be one of"):
        EngineSettings(spin="soc", soc_method="hgh")


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda: EngineSettings.from_dict({"smearing": 0.1}), "unknown engine settings keys"),
        (lambda: EngineSettings.from_dict({"spin": "magnetic"}), "spin must be one of"),
        (lambda: ModelConfig.from_dict({"layers": 2}), "unknown model config keys"),
        (lambda: from_mapping(OptimConfig, {"ema_decay": 1.5}, "optim"), "ema_decay"),
        (lambda: from_mapping(OptimConfig, [1, 2], "optim"), "expected a mapping"),
    ],
)
def test_every_settings_mapping_is_read_strictly(read, message):
    with pytest.raises(InputError, match=message):
        read()


@pytest.mark.parametrize("family", MOLOPT_FAMILIES)
def test_molopt_families_use_one_basis_for_every_element(family):
    settings = EngineSettings(basis=family)
    for z in sorted(_MOLOPT):
        choice = element_choice(z, settings)
        assert choice.basis == SCALAR_BASIS[family][1]
        assert gto.basis.load(choice.basis, choice.symbol)
    assert element_choice(14, EngineSettings(basis="szv")).basis == "gth-szv"


def test_unsupported_element_refused_before_any_work(tmp_path):
    gd = bulk("Gd", "hcp", a=3.63, c=5.78)
    with pytest.raises(InputError, match=r"Gd .*no basis family"):
        build_dataset(tmp_path / "ds", [("gd", gd)], EngineSettings(basis="szv-molopt-sr"))
    assert not (tmp_path / "ds").exists()


def test_gth_dzvp_dataset_needs_the_tight_pair_rule(tmp_path):
    """gth-dzvp passes the spectral check only with pairs down to 1e-7 (measured): a looser
    threshold is refused before any work, naming the fix; the CLI's default for it is 1e-7."""
    from nextham.dft.settings import check_pair_rule, default_overlap_threshold

    si = bulk("Si", "diamond", a=5.43)
    with pytest.raises(InputError, match=r"dzvp needs --threshold 1e-07.*dzvp-molopt-sr"):
        build_dataset(tmp_path / "ds", [("si", si)], EngineSettings(basis="dzvp"))
    assert not (tmp_path / "ds").exists()
    assert default_overlap_threshold("dzvp") == 1e-7
    assert default_overlap_threshold("dzvp-molopt-sr") == EngineSettings.overlap_threshold
    assert default_overlap_threshold("szv") == default_overlap_threshold("szv-molopt-sr") == 1e-6
    check_pair_rule(EngineSettings(basis="dzvp", overlap_threshold=1e-7))  # accepted


@pytest.mark.parametrize("symbol", ["C", "Al"])
def test_molopt_label_of_a_reference_crystal(symbol):
    """A cheap label in the MOLOPT-SR family (Γ only, an 800 eV mesh): Hermitian blocks and a
    small round-trip error."""
    settings = EngineSettings(basis="szv-molopt-sr", kmesh=(1, 1, 1), ke_cutoff_ev=800.0)
    rec = compute_record(bulk(symbol), settings)
    assert rec[K.META]["elements"][symbol]["basis"] == "gth-szv-molopt-sr"
    assert rec[K.META][K.ENGINE_SETTINGS]["basis"] == "szv-molopt-sr"
    assert rec[K.META]["roundtrip_error_ht_ev"] < 1e-2
    blocks = dict(iter_blocks(rec, K.HT))
    for (i, j, *r), blk in blocks.items():
        partner = blocks[(j, i, *(-np.array(r)))]
        np.testing.assert_allclose(blk, partner.T, atol=1e-8)


def test_measured_element_table_sets_the_molopt_cutoffs():
    """The package table (written by benchmarks/element_table.py) states its run and sets the
    cutoffs of its family only; the older families keep theirs."""
    table = measured_table()
    run = table["runs"]["szv-molopt-sr"]
    assert run["date"] and run["machine"] and "element_table.py" in run["command"]
    rows = table["families"]["szv-molopt-sr"]
    assert len(rows) >= 10
    for symbol, row in rows.items():
        z = atomic_numbers[symbol]
        if row["converged"]:
            assert row["delta_mev"] <= 10.0
        else:  # the ladder ended first (Mg, 16.5 meV at 8000 eV): the table says so
            assert row["delta_mev"] > 10.0 and row["cutoff_ev"] >= 8000
        assert "restricted" in row["spin_treatment"]
        assert ke_cutoff_ev([z], EngineSettings(basis="szv-molopt-sr")) == row["cutoff_ev"]
        assert ke_cutoff_ev([z], EngineSettings(basis="szv")) == KE_CUTOFF_EV.get(symbol)


def test_magnetic_elements_are_said_to_be_computed_non_magnetic(tmp_path):
    """Fe, Ni … are computed spin-restricted; records say so per element, the summary lists
    them; nothing is refused on that ground."""
    from nextham.dft.settings import element_details
    from nextham.store.summary import dataset_summary

    details = element_details([26, 14], EngineSettings(basis="szv-molopt-sr"))
    assert "magnetic ground state is not computed" in details["Fe"]["spin_treatment"]
    assert details["Si"]["spin_treatment"] == "restricted (non-magnetic)"
    check_elements([26, 28], EngineSettings(basis="szv-molopt-sr"))  # no error
    ds = Dataset.create(tmp_path / "ds", EngineSettings(basis="szv-molopt-sr"), [])
    ds.manifest["entries"] = {"feni": {"numbers": [26, 28], "natoms": 2, "n_edges": 1,
                                       "n_entries": 1, "time_h0_s": 1.0, "time_scf_s": 1.0,
                                       "scf_converged": True}}  # fmt: skip
    summary = dataset_summary(ds)
    assert summary["magnetic elements computed non-magnetic"] == ["Fe", "Ni"]
