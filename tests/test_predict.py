"""Prediction with the shipped model: checks, reliability flag, CLI, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read
from model_kit import ALP_EXAMPLE

from nextham.cli.main import main
from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.predict import default_model_path
from nextham.record import keys as K
from nextham.store.dataset import Dataset
from nextham.testing import hermiticity_error


def test_shipped_model_metadata(predictor):
    meta = predictor.meta
    assert default_model_path().stat().st_size <= 25e6  # the shipped file stays ≤ 25 MB
    assert len(meta["elements"]) >= 60  # the universal model
    assert {"Si", "As", "C", "Sr", "Ti", "O", "Pb", "I", "Mo"} <= set(meta["elements"])
    assert meta["element_details"]["Si"]["pseudo"] == "gth-pbe"
    assert meta["element_details"]["Ti"]["basis"].endswith("molopt-sr")
    assert "Si-Si" in meta["domain"]["pairs"]
    assert predictor.settings.spin == "scalar"
    assert predictor.has_uncertainty  # a committee: gate and calibrated flag


def test_prediction_record(alp_prediction):
    rec = alp_prediction.record
    assert rec[K.HT].shape == rec[K.H0].shape
    assert rec[K.META]["hamiltonian"] == "predicted"
    assert np.isfinite(rec[K.META]["fermi_level"])
    assert hermiticity_error(rec, rec[K.HT]) < 1e-10
    assert not np.allclose(rec[K.HT], rec[K.H0])  # the model corrects H0


def test_in_domain_structure_is_ok(alp_prediction):
    rel = alp_prediction.reliability
    assert rel["flag"] == "ok", rel["reasons"]
    assert rel["uncertainty"]["gate_mean"] > 0.5  # in domain the gate keeps the correction
    assert rel["unseen_pairs"] == []
    assert rel["out_of_range"] < 0.05


def test_out_of_domain_structure_is_flagged(predictor):
    """Si diamond compressed by a fifth (bonds of 1.9 Å, shorter than any Si bond in
    training): the estimate doubts it, so the default checks it, and the check finds the
    correction harmful and returns H0."""
    from ase.build import bulk

    pred = predictor.predict(bulk("Si", "diamond", a=4.4), "Si_compressed")
    rel = pred.reliability
    assert rel["estimated_flag"] in ("warn", "fail")
    assert rel["out_of_range"] > 0.1  # overlap weight at distances never trained on
    assert rel["flag"] in ("warn", "fail") and rel["verification"]["step_back"]
    assert any("the returned H is H0" in r for r in rel["reasons"])
    assert np.array_equal(pred.record[K.HT], pred.record[K.H0])


def test_onsite_outlier_is_flagged(predictor, alp_prediction):
    """An atom whose on-site H0 spread lies outside its element's training range is named,
    and alone sets the flag."""
    from nextham.predict.domain import onsite_spreads, reliability

    rec = alp_prediction.record
    stats = predictor.meta["domain"]
    assert reliability(rec, rec[K.HT], stats)["onsite_outliers"] == []
    spread = onsite_spreads(rec)[0]  # Al0 of the AlP example
    narrow = {**stats, "onsite_spread_ev": {**stats["onsite_spread_ev"], "Al": [spread + 1.0] * 2}}
    rel = reliability(rec, rec[K.HT], narrow)
    assert [o.split()[0] for o in rel["onsite_outliers"]] == ["Al0"]
    assert rel["flag"] == "warn" and any("on-site" in r for r in rel["reasons"])


def test_prediction_beats_h0_against_dft(predictor, alp_prediction):
    """The shipped model brings H closer to the converged DFT Hamiltonian than H0 is."""
    from nextham.dft.label import compute_record
    from nextham.loss.metrics import gauge_mae

    ref = compute_record(read(ALP_EXAMPLE), predictor.settings)
    model = gauge_mae(ref, alp_prediction.record[K.HT])["overall"]["mae_meV"]
    h0 = gauge_mae(ref, ref[K.H0])["overall"]["mae_meV"]
    assert model < 0.7 * h0


def test_unknown_element_refused(predictor):
    from ase.build import bulk

    with pytest.raises(InputError, match="Fe"):
        predictor.check(bulk("Fe", "bcc", a=2.87), "Fe")


def test_record_with_other_settings_refused(predictor, alp_prediction):
    rec = {**alp_prediction.record, K.META: dict(alp_prediction.record[K.META])}
    rec[K.META][K.ENGINE_SETTINGS] = {**rec[K.META][K.ENGINE_SETTINGS], "kmesh": [1, 1, 1]}
    with pytest.raises(InputError, match="engine settings"):
        predictor.check_record(rec, "other")


def test_cli_predict_writes_store_and_deeph(tmp_path, capsys):
    out = tmp_path / "pred"
    assert main(["predict", str(ALP_EXAMPLE), "--out", str(out), "--format", "deeph"]) == 0
    ds = Dataset(out)
    assert ds.names == ["AlP"]
    rec = ds.load("AlP")
    assert rec[K.META]["hamiltonian"] == "predicted"
    assert rec[K.META]["reliability"]["flag"] == "ok"
    assert (out / "deeph" / "AlP" / "hamiltonians.h5").is_file()
    assert "wrote 1 predictions" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"not a model at all", None], ids=["text", "truncated"])
def test_cli_bad_model_file(tmp_path, capsys, content):
    bad = tmp_path / "bad.safetensors"
    if content is None:  # a real model file cut in half
        content = default_model_path().read_bytes()
        content = content[: len(content) // 2]
    bad.write_bytes(content)
    out = tmp_path / "out"
    code = main(["predict", str(ALP_EXAMPLE), "--model", str(bad), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "bad.safetensors" in err
    assert not out.exists()


def test_cli_unknown_element_and_unreadable_file(tmp_path, capsys):
    fe = tmp_path / "Fe.vasp"
    fe.write_text(ALP_EXAMPLE.read_text().replace("Al", "Fe"))
    out = tmp_path / "out"
    assert main(["predict", str(fe), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Fe" in err and "not covered" in err
    assert not out.exists()
    missing = tmp_path / "missing.cif"
    assert main(["predict", str(missing), "--out", str(out)]) == 2
    assert "missing.cif" in capsys.readouterr().err
    assert not out.exists()


def test_predict_reports_each_stage(predictor):
    lines = []
    predictor.report = lines.append
    try:
        pred = predictor.predict(read(ALP_EXAMPLE), "AlP")
    finally:
        predictor.report = None
    assert len(lines) == 5  # a two-atom cell is checked by default (verify.AUTO_ALWAYS_MAX_ATOMS)
    assert "pairs, S built" in lines[0] and lines[1].startswith("H0 built by")
    assert lines[2].startswith("model applied")
    assert lines[3].startswith("self-consistency check (")
    assert lines[4].startswith(f"Fermi level {pred.record['meta']['fermi_level']:.3f} eV")


def test_budget_counts_the_sparse_spectra_stage(monkeypatch):
    """The spectra stage (matrices and one factorization, whose fill grows with M) enters the
    estimate above the sparse threshold, and only where it is the largest stage."""
    from nextham.dft.cell import build_cell
    from nextham.predict import budget

    settings = EngineSettings(kmesh=(1, 1, 1))
    cell = build_cell(bulk("Si", "diamond", a=5.43, cubic=True), settings)
    args = (cell, settings.overlap_threshold, True, 1)
    dense = budget.estimated_bytes(*args)
    monkeypatch.setattr(budget, "SPARSE_THRESHOLD", 8)  # this cell's 32 orbitals go sparse
    assert budget.estimated_bytes(*args) == dense  # its factor is small: the model stage rules
    monkeypatch.setattr(budget, "FACTOR_FILL", 1e4)
    stored = budget.STORED_FRACTION * budget.pair_entries(cell, settings.overlap_threshold)
    assert budget.estimated_bytes(*args) == budget.spectra_bytes(stored, cell.nao_nr()) > dense
    one = budget.spectra_bytes(1e7, 40_000) - budget.BASE_BYTES
    assert budget.spectra_bytes(2e7, 80_000) - budget.BASE_BYTES > 2.2 * one  # fill grows


def test_a_cell_that_cannot_fit_is_refused_before_any_work(predictor, monkeypatch):
    from nextham.predict import budget
    from nextham.predict import predictor as predictor_module

    atoms = read(ALP_EXAMPLE).repeat((3, 3, 3))
    need = budget.prediction_bytes(atoms, predictor.settings)
    small = budget.prediction_bytes(read(ALP_EXAMPLE), predictor.settings)
    assert need > small > budget.BASE_BYTES  # grows with the cell
    silicon = bulk("Si", "diamond", a=5.43, cubic=True).repeat((3, 3, 3))  # pair-block H0
    szv = EngineSettings(kspacing=0.55)  # gth-szv: H0 from pair blocks, in worker slabs
    one, two, many = (budget.prediction_bytes(silicon, szv, workers=w) for w in (1, 2, 4))
    assert many > two == one  # with many H0 workers their slabs outweigh the model stage
    monkeypatch.setattr(budget, "available_bytes", lambda: 0.5 * need)
    monkeypatch.setattr(predictor_module, "zeroth_step", lambda *a, **k: pytest.fail("work"))
    with pytest.raises(InputError, match=r"big: predicting this cell needs about .* GB of memory"):
        predictor.predict(atoms, "big")
