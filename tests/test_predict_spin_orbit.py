"""A scalar model on spinor records: the correction is added spin-diagonally, H0's spin–orbit
term passes through untouched, and records it cannot correct are refused."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import ALP_EXAMPLE, TRAIN_MODEL, strained_cells

from nextham.errors import InputError
from nextham.predict.spin_orbit import scalar_part, soc_settings, spin_diagonal
from nextham.record import keys as K
from nextham.record.flat import SPIN_DD, SPIN_UU, flat_index
from nextham.record.layout import BlockLayout
from nextham.testing import hermitian_blocks


def _spinor_record(scalar: dict, settings) -> dict:
    """The scalar record's H0 ⊗ I₂ plus a Hermitian, time-reversal-symmetric term whose
    spin-diagonal real part is zero (the shape of a spin–orbit term)."""
    rec = {k: v for k, v in scalar.items() if k != K.HT}
    rec[K.META] = {**scalar[K.META], K.ENGINE_SETTINGS: settings.to_dict(), "magnetic": False}
    rec[K.SPINOR] = True
    v = 0.05 * hermitian_blocks(rec, np.random.default_rng(0), spinor=True)
    v -= spin_diagonal(scalar_part({**rec, K.H0: v})[K.H0], rec)
    rec[K.H0] = spin_diagonal(scalar[K.H0], rec) + v
    return rec


def test_scalar_part_and_spin_diagonal_round_trip(predictor, alp_prediction):
    scalar = alp_prediction.record
    spinor = _spinor_record(scalar, soc_settings(predictor.settings))
    part = scalar_part(spinor)
    assert not part[K.SPINOR] and np.allclose(part[K.H0], scalar[K.H0], atol=1e-12)
    assert part[K.META][K.ENGINE_SETTINGS] == predictor.settings.to_dict()
    up = spin_diagonal(scalar[K.H0], spinor)
    idx = flat_index(BlockLayout.of(spinor, K.H0))
    diag = (idx.spin == SPIN_UU) | (idx.spin == SPIN_DD)
    assert np.all(up[~diag] == 0) and np.allclose(scalar_part({**spinor, K.H0: up})[K.H0],
                                                  scalar[K.H0])  # fmt: skip


def test_scalar_model_corrects_a_spinor_record_spin_diagonally(predictor, alp_prediction):
    scalar = alp_prediction.record
    spinor = _spinor_record(scalar, soc_settings(predictor.settings))
    pred = predictor.predict_record(spinor, "AlP-soc").record
    delta = scalar[K.HT] - scalar[K.H0]  # the scalar model's (gated) correction of this H0
    assert np.abs(delta).max() > 1e-3
    got = pred[K.HT] - spinor[K.H0]
    assert np.allclose(got, spin_diagonal(delta, spinor), atol=1e-10)
    idx = flat_index(BlockLayout.of(spinor, K.H0))
    off = (idx.spin != SPIN_UU) & (idx.spin != SPIN_DD)
    assert np.array_equal(pred[K.HT][off], spinor[K.H0][off])  # H0's spin–orbit term as it is
    assert pred[K.META]["correction"] == "spin-diagonal (scalar model)"
    assert alp_prediction.record[K.META]["correction"] == "full"
    assert np.isfinite(pred[K.META]["fermi_level"])


def test_spinor_records_a_scalar_model_cannot_correct_are_refused(predictor, alp_prediction):
    scalar = alp_prediction.record
    ecp = _spinor_record(scalar, soc_settings(predictor.settings))
    ecp[K.META][K.ENGINE_SETTINGS] = {**ecp[K.META][K.ENGINE_SETTINGS], "soc_method": "ecp"}
    with pytest.raises(InputError, match="GTH spin–orbit"):
        predictor.check_record(ecp, "ecp")
    other = _spinor_record(scalar, soc_settings(predictor.settings))
    other[K.META][K.ENGINE_SETTINGS] = {**other[K.META][K.ENGINE_SETTINGS], "kmesh": [1, 1, 1]}
    with pytest.raises(InputError, match="scalar part"):
        predictor.check_record(other, "other")


def test_run_settings_for_spin(predictor):
    assert predictor.run_settings() == predictor.settings
    soc = predictor.run_settings("soc")
    assert soc.spin == "soc" and soc.soc_method == "gth" and soc.basis == predictor.settings.basis
    with pytest.raises(InputError, match="trained for it"):
        predictor.run_settings("collinear")


def test_cli_predict_spin_soc_writes_a_spinor_prediction(tmp_path, capsys):
    from nextham.cli.main import main
    from nextham.store.dataset import Dataset

    out = tmp_path / "pred"
    assert main(["predict", str(ALP_EXAMPLE), "--out", str(out), "--spin", "soc"]) == 0
    ds = Dataset(out)
    rec = ds.load(ds.names[0])
    assert rec[K.SPINOR] and rec[K.META][K.ENGINE_SETTINGS]["soc_method"] == "gth"
    idx = flat_index(BlockLayout.of(rec, K.H0))
    off = (idx.spin != SPIN_UU) & (idx.spin != SPIN_DD)
    delta = rec[K.HT] - rec[K.H0]
    assert np.abs(rec[K.H0][off]).max() > 1e-3  # H0 carries the spin–orbit term
    assert np.all(delta[off] == 0) and np.abs(delta).max() > 1e-2
    assert rec[K.META]["correction"] == "spin-diagonal (scalar model)"


def test_scalar_model_trained_on_spin_orbit_labels(tmp_path, capsys):
    """``data.scalar_part``: a scalar model trained on GTH spin–orbit labels (their scalar
    part) carries the scalar settings and predicts such a label spin-diagonally; a scalar
    dataset is refused with that option."""
    import yaml

    from nextham.cli.main import main
    from nextham.dft.settings import EngineSettings
    from nextham.generate.runner import build_dataset
    from nextham.model.files import read_model_metadata
    from nextham.predict import Predictor
    from nextham.store.dataset import Dataset

    cheap = {"kmesh": (1, 1, 1), "ke_cutoff_ev": 300.0, "overlap_threshold": 1e-3}
    settings = EngineSettings(spin="soc", soc_method="gth", basis="szv-molopt-sr", **cheap)
    cells = strained_cells("PbTe", "rocksalt", 6.46, 3, seed=1)
    build_dataset(tmp_path / "soc", cells, settings, spectral_gate=False)
    cfg = {"data": {"datasets": [str(tmp_path / "soc")], "split": [0.67, 0.33, 0.0],
                    "scalar_part": True},
           "model": TRAIN_MODEL,
           "kspace": {"n_k": 1, "mesh": [2, 2, 2]}, "optim": {"epochs": 2, "warmup_epochs": 0},
           "out": str(tmp_path / "run")}  # fmt: skip
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "c.yaml")]) == 0
    model = tmp_path / "run" / "model.safetensors"
    meta = read_model_metadata(model)
    assert meta["spin"] == "scalar" and meta[K.ENGINE_SETTINGS]["basis"] == "szv-molopt-sr"
    record = Dataset(tmp_path / "soc").load("s0")
    predictor = Predictor.from_file(model)
    predictor.verify = "never"  # the model's own correction (a 2-epoch model's may not help)
    pred = predictor.predict_record(record, "s0")
    assert pred.record[K.META]["correction"] == "spin-diagonal (scalar model)"
    delta = pred.record[K.HT] - record[K.H0]
    idx = flat_index(BlockLayout.of(record, K.H0))
    assert np.abs(delta[(idx.spin != SPIN_UU) & (idx.spin != SPIN_DD)]).max() == 0
    assert np.abs(delta).max() > 0
    cfg["data"]["datasets"] = [str(tmp_path / "scalar")]
    scalar = EngineSettings(basis="szv-molopt-sr", **cheap)
    build_dataset(tmp_path / "scalar", cells[:1], scalar, spectral_gate=False)
    (tmp_path / "c2.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "c2.yaml")]) != 0
    assert "data.scalar_part needs GTH spin–orbit datasets" in capsys.readouterr().err
