"""The self-consistency check: residual of F[ρ[H]] − H, its flag and the step back to H0."""

from __future__ import annotations

import numpy as np
import pytest

from nextham.conventions import HARTREE_EV
from nextham.errors import InputError
from nextham.predict import verify
from nextham.predict.verify import (
    AUTO_ALWAYS_MAX_ATOMS,
    AUTO_MAX_ATOMS,
    MAX_ATOMS,
    auto_check,
    check_verifiable,
    fock_residuals,
    residual_rms_mev,
    verification,
    verify_policy,
    with_verification,
)
from nextham.record import keys as K


def _lowdin(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return v / np.sqrt(w)


def test_residual_drops_a_common_shift_and_keeps_the_rest():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 5, 5)) + 1j * rng.normal(size=(2, 5, 5))
    s_k = np.stack([np.eye(5) + 0.05 * (x + x.conj().T) for x in a])
    bases = [_lowdin(s) for s in s_k]
    assert residual_rms_mev(0.3 * s_k, bases) < 1e-9  # H + μS: no residual
    e = rng.normal(size=(2, 5, 5))
    e = e + e.transpose(0, 2, 1)
    e -= np.trace(e, axis1=1, axis2=2).mean() / 5 * np.eye(5)  # no common shift in it
    half = []
    for s in s_k:
        w, v = np.linalg.eigh(s)
        half.append((v * np.sqrt(w)) @ v.conj().T)
    r_k = np.stack([h @ x @ h for h, x in zip(half, e, strict=True)]) + 0.7 * s_k
    expect = 1e3 * HARTREE_EV * np.sqrt(np.sum(e**2) / (2 * 25))
    assert residual_rms_mev(r_k, bases) == pytest.approx(expect, rel=1e-10)


def test_residual_vanishes_at_scf_and_is_linear_in_the_error(si_tight):
    _atoms, settings, rec = si_tight
    h0, ht = np.asarray(rec[K.H0]), np.asarray(rec[K.HT])
    hams = {"ht": ht, "half": h0 + 0.5 * (ht - h0), "shifted": ht + 0.2 * np.asarray(rec[K.S])}
    res = fock_residuals(rec, settings, hams)
    assert res["h0"] > 10.0  # H0 is far from self-consistency (meV)
    assert res["ht"] < 0.02 * res["h0"]
    assert res["half"] / res["h0"] == pytest.approx(0.5, abs=0.05)
    # c S on the stored pairs only: S beyond them (|S| < 1e-5) leaves ~0.01 meV at c = 0.2 eV
    assert res["shifted"] == pytest.approx(res["ht"], abs=0.05)


def test_verification_flags_and_steps_back():
    ok = verification({"h0": 10.0, "raw": 3.5, "gated": 3.0})
    assert ok["flag"] == "ok" and ok["returned"] == "gated" and ok["reasons"] == []
    better_raw = verification({"h0": 10.0, "raw": 3.0, "gated": 7.0})  # gate closed needlessly
    assert better_raw["flag"] == "ok" and better_raw["returned"] == "raw"
    assert verification({"h0": 10.0, "raw": 3.0, "gated": 7.0}, choose=False)["returned"] == "raw"
    warn = verification({"h0": 10.0, "raw": 12.0})
    assert warn["flag"] == "warn" and warn["returned"] == "h0"
    assert warn["ratio"] == pytest.approx(1.2)
    bad = verification({"h0": 10.0, "raw": 16.0, "gated": 10.5})
    assert bad["flag"] == "fail" and bad["step_back"] and bad["returned"] == "h0"
    assert any("self-consistency" in r for r in bad["reasons"])
    kept = verification({"h0": 10.0, "raw": 16.0, "gated": 8.0})  # the gate already stepped back
    assert kept["flag"] == "fail" and kept["returned"] == "gated"
    assert verification({"h0": 10.0, "raw": 9.9})["flag"] == "ok"


def test_large_cells_are_refused():
    check_verifiable(MAX_ATOMS)
    with pytest.raises(InputError, match="--verify"):
        check_verifiable(MAX_ATOMS + 1, "big")


def test_checked_prediction_keeps_a_good_correction_and_drops_a_harmful_one(
    predictor, alp_prediction, monkeypatch
):
    rec = alp_prediction.record
    monkeypatch.setattr(predictor, "verify", True)
    good = predictor.predict_record(dict(rec), "AlP")
    check = good.reliability["verification"]
    assert good.reliability["flag"] == "ok" and check["ratio"] < 0.7
    assert good.reliability["estimated_flag"] == alp_prediction.reliability["flag"]
    assert np.array_equal(good.record[K.HT], rec[K.HT])

    harmful = rec[K.H0] + 6.0 * (rec[K.HT] - rec[K.H0])  # the correction six times over
    monkeypatch.setattr(predictor, "_apply", lambda r: (harmful, harmful, None))
    bad = predictor.predict_record(dict(rec), "AlP")
    assert bad.reliability["flag"] == "fail" and bad.reliability["verification"]["step_back"]
    assert np.array_equal(bad.record[K.HT], rec[K.H0])
    assert "self-consistency" in bad.reliability["reasons"][0]
    monkeypatch.setattr(predictor, "gate", False)  # --no-gate: the raw H, flagged
    raw = predictor.predict_record(dict(rec), "AlP")
    assert raw.reliability["flag"] == "fail" and np.array_equal(raw.record[K.HT], harmful)


def test_cli_predict_verify_stores_the_check_and_refuses_large_cells(tmp_path, capsys):
    from ase.build import bulk
    from ase.io import write
    from model_kit import ALP_EXAMPLE

    from nextham.cli.main import main
    from nextham.store.dataset import Dataset

    out = tmp_path / "pred"
    assert main(["predict", str(ALP_EXAMPLE), "--out", str(out), "--verify"]) == 0
    rel = Dataset(out).load("AlP")[K.META]["reliability"]
    assert rel["flag"] == "ok" and rel["verification"]["residual_meV"]["h0"] > 0
    assert "checked: residual" in capsys.readouterr().out
    big = tmp_path / "Si_big.extxyz"
    write(big, bulk("Si", "diamond", a=5.43, cubic=True).repeat((3, 3, 1)))  # 72 atoms
    assert main(["predict", str(big), "--out", str(tmp_path / "big"), "--verify"]) != 0
    assert "--verify" in capsys.readouterr().err
    assert not (tmp_path / "big").exists()  # refused before any work


def test_policy_names_and_the_automatic_rule():
    assert verify_policy(True) == "always" and verify_policy(False) == "never"
    assert verify_policy("auto") == "auto"
    with pytest.raises(InputError, match="auto, always, never"):
        verify_policy("sometimes")
    assert auto_check("warn", AUTO_MAX_ATOMS) and auto_check("fail", AUTO_MAX_ATOMS)
    assert not auto_check("ok", AUTO_ALWAYS_MAX_ATOMS + 1)
    assert not auto_check("fail", AUTO_MAX_ATOMS + 1)
    assert auto_check("ok", AUTO_ALWAYS_MAX_ATOMS)  # small cells: always measured
    assert not auto_check("fail", 2, spinor=True)


def test_a_strongly_doubted_correction_needs_a_clear_gain_to_be_cleared():
    check = verification({"h0": 10.0, "raw": 9.5})  # q = 0.95: closer, but barely
    assert check["flag"] == "ok"
    trusted = with_verification({"flag": "warn", "reasons": ["r"]}, check)
    assert trusted["flag"] == "ok" and trusted["estimated_flag"] == "warn"
    doubted = with_verification({"flag": "fail", "reasons": ["r"]}, check)
    assert doubted["flag"] == "warn" and doubted["reasons"][-1] == "r"
    assert "too little gain" in doubted["reasons"][0]
    clear = verification({"h0": 10.0, "raw": 8.0})  # q = 0.8: a clear gain clears it
    assert with_verification({"flag": "fail", "reasons": []}, clear)["flag"] == "ok"


def test_a_check_clears_a_doubted_correction_on_an_unseen_element_to_warn_at_most():
    clear = verification({"h0": 10.0, "raw": 4.0})  # q = 0.4: a clear gain
    seen = with_verification({"flag": "fail", "reasons": [], "unseen_elements": []}, clear)
    assert seen["flag"] == "ok"
    unseen = {"flag": "fail", "reasons": ["r"], "unseen_elements": ["Cs", "I"]}
    out = with_verification(unseen, clear)
    assert out["flag"] == "warn" and "Cs, I" in out["reasons"][0] and out["reasons"][-1] == "r"
    estimated_warn = with_verification({**unseen, "flag": "warn"}, clear)
    assert estimated_warn["flag"] == "ok"  # only a doubted (fail) estimate is held at warn
    harmful = verification({"h0": 10.0, "raw": 16.0})
    assert with_verification(unseen, harmful)["flag"] == "fail"


def test_default_checks_only_where_the_estimate_doubts(predictor, alp_prediction, monkeypatch):
    """Auto (the default): a small cell is always checked; a larger trusted prediction is not,
    a doubted one is, and a harmful correction is then replaced by H0 with the check's flag;
    ``never`` leaves it as it is."""
    rec = alp_prediction.record
    assert predictor.verify == "auto"
    small = predictor.predict_record(dict(rec), "AlP")  # two atoms: measured whatever the estimate
    assert small.reliability["estimated_flag"] == "ok" and "verification" in small.reliability
    monkeypatch.setattr(verify, "AUTO_ALWAYS_MAX_ATOMS", 0)  # as a cell too large for that
    trusted = predictor.predict_record(dict(rec), "AlP")
    assert trusted.reliability["flag"] == "ok" and "verification" not in trusted.reliability

    harmful = rec[K.H0] + 6.0 * (rec[K.HT] - rec[K.H0])
    doubt = {"flag": "warn", "reasons": ["an element pair never trained together"]}
    monkeypatch.setattr(predictor, "_apply", lambda r: (harmful, harmful, None))
    monkeypatch.setattr(predictor, "_estimate", lambda *a: dict(doubt))
    checked = predictor.predict_record(dict(rec), "AlP")
    rel = checked.reliability
    assert rel["flag"] == "fail" and rel["estimated_flag"] == "warn"
    assert rel["verification"]["step_back"] and np.array_equal(checked.record[K.HT], rec[K.H0])
    assert rel["reasons"][-1] == doubt["reasons"][0]  # the estimate's reasons kept, last
    monkeypatch.setattr(predictor, "verify", "never")
    unchecked = predictor.predict_record(dict(rec), "AlP")
    assert unchecked.reliability["flag"] == "warn" and "verification" not in unchecked.reliability
    assert np.array_equal(unchecked.record[K.HT], harmful)


def test_cli_verify_options_are_exclusive(capsys):
    from nextham.cli.main import main

    with pytest.raises(SystemExit):
        main(["predict", "x.vasp", "--out", "o", "--verify", "--no-verify"])
    assert "not allowed with" in capsys.readouterr().err
