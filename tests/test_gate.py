"""Committee uncertainty, the gate H = H0 + g ⊙ ΔH and the reliability flag: the gate's
limits, a tiny committee trained on Si pulled back to H0 on a foreign structure (carbon, an
element it never saw), ``--no-gate``, and the calibration's round trip through the file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.io import write

from nextham.cli.main import main
from nextham.model import ModelConfig, NextHAM
from nextham.model.committee import Committee
from nextham.model.files import load_model, save_model
from nextham.predict import Predictor, domain_statistics, gate_factors
from nextham.predict.calibrate import calibrate
from nextham.predict.core import predict_committee
from nextham.predict.gate import block_norms, combine_flags, gated_hamiltonian
from nextham.record import keys as K
from nextham.store.dataset import Dataset

TINY = dict(node_irreps="8x0e+2x1o+2x1e+2x2e", edge_mul=2, num_layers=1, num_heads=2,
            head_dim=4, sh_lmax=2, num_radial=4, radial_hidden=8, tracegrad_hidden=8,
            cutoff=5.0, dtype="float32")  # fmt: skip


def test_gate_limits():
    rng = np.random.default_rng(0)
    norms, sigma = rng.uniform(0, 1, 50), rng.uniform(0, 2, 50)
    g = gate_factors(norms, sigma, 1.0)
    assert np.all((g >= 0) & (g <= 1))
    assert np.all(gate_factors(norms, np.zeros(50), 1.0) == 1.0)
    assert np.all(gate_factors(norms, sigma, 0.0) == 1.0)  # τ = 0: no gate
    assert np.all(gate_factors(norms, 1e6 * (sigma + 1), 1.0) < 1e-10)
    assert np.all(np.diff(gate_factors(np.ones(5), np.arange(5.0), 1.0)) < 0)  # monotone


@pytest.fixture(scope="module")
def foreign(si_settings):
    """Engine record of a C2 diamond cell: an element the committee never saw."""
    from nextham.dft.label import compute_record

    return compute_record(bulk("C", "diamond", a=3.57), si_settings)


def _member(seed: int, basis_ls: dict, records: list[dict]) -> NextHAM:
    """A tiny network fitted to the ΔH of ``records`` (60 Adam steps, squared error)."""
    torch.manual_seed(seed)
    model = NextHAM(ModelConfig(basis_ls=basis_ls, **TINY))
    batch = model.make_batch(records)
    target = torch.as_tensor(np.concatenate([r[K.HT] - r[K.H0] for r in records])).float()
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = ((model(batch)["delta_flat"] - target) ** 2).mean()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def committee(si_record, foreign, si_settings):
    """(Committee of 3 tiny members trained on Si2, its model-file metadata)."""
    basis = {**foreign[K.BASIS_LS], **si_record[K.BASIS_LS]}
    com = Committee([_member(s, basis, [si_record]) for s in range(3)]).eval()
    unc = calibrate([si_record], predict_committee(com, [si_record]))
    meta = {K.ENGINE_SETTINGS: si_settings.to_dict(), "elements": ["C", "Si"],
            "domain": domain_statistics([si_record]), "uncertainty": unc,
            "committee": {"size": 3}}  # fmt: skip
    return com, meta


def test_tau_keeps_gauge_and_band_mae_within_budget(committee, si_record):
    """τ is the largest value of the grid whose gated validation Gauge *and* band MAE stay
    within the budget of the ungated ones; a zero budget on the bands forbids any band loss."""
    from nextham.predict.calibrate import TAU_GRID, choose_tau

    com, meta = committee
    outputs = predict_committee(com, [si_record])
    scale = meta["uncertainty"]["scale"]
    chosen = choose_tau([si_record], outputs, scale, budget=0.05)
    gauge, band = chosen["val_gauge_mae_meV"], chosen["val_band_mae_meV"]
    assert set(gauge) == set(band) == set(TAU_GRID)
    for tau in TAU_GRID:
        ok = gauge[tau] <= 1.05 * gauge[0.0] and band[tau] <= 1.05 * band[0.0]
        assert (tau <= chosen["tau"]) or not ok
    assert gauge[chosen["tau"]] <= 1.05 * gauge[0.0] and band[chosen["tau"]] <= 1.05 * band[0.0]
    strict = choose_tau([si_record], outputs, scale, budget=0.0)
    assert all(band[t] <= band[0.0] for t in TAU_GRID if t <= strict["tau"])
    assert meta["uncertainty"]["validation"]["band_mae_meV_by_tau"]


def test_foreign_structure_is_pulled_to_h0_and_flagged(committee, si_record, foreign):
    """The committee's spread alone (no domain statistics) pulls the foreign structure's
    correction toward H0 and flags it, while the training structure keeps its correction."""
    com, meta = committee
    alone = {k: v for k, v in meta.items() if k != "domain"}
    p = Predictor(com, {**alone, "uncertainty": {**meta["uncertainty"], "tau": 3.0}})
    home, away = p.predict_record(si_record, "Si2"), p.predict_record(foreign, "C2")
    p.gate = False
    raw_away = p.predict_record(foreign, "C2")
    h0 = foreign[K.H0]
    gated, raw = away.record[K.HT] - h0, raw_away.record[K.HT] - h0
    assert np.linalg.norm(gated) < 0.3 * np.linalg.norm(raw)
    assert home.reliability["uncertainty"]["gate_mean"] > 0.7
    assert away.reliability["uncertainty"]["gate_mean"] < 0.2
    assert away.reliability["flag"] in ("warn", "fail")
    assert any("committee uncertainty" in r for r in away.reliability["reasons"])
    assert home.reliability["uncertainty"]["ratio"] < away.reliability["uncertainty"]["ratio"]
    assert raw_away.reliability["uncertainty"]["gate_applied"] is False


def test_unseen_element_pairs_fall_back_to_h0(committee, si_record, foreign):
    """With the training-domain statistics, blocks of element pairs never seen in training
    get g = 0: the carbon cell is predicted as H0 exactly and flagged fail, saying why."""
    com, meta = committee
    p = Predictor(com, meta)
    away = p.predict_record(foreign, "C2")
    assert np.array_equal(away.record[K.HT], foreign[K.H0])
    rel = away.reliability
    assert rel["flag"] == "fail" and rel["uncertainty"]["closed_unfamiliar"] == 1.0
    assert any("gate closed on 100% of the correction" in r for r in rel["reasons"])
    assert any("never seen in training: C-C" in r for r in rel["reasons"])
    assert rel["unseen_elements"] == ["C"]
    assert any("elements never in training: C" in r for r in rel["reasons"])
    home = p.predict_record(si_record, "Si2").reliability
    assert home["uncertainty"]["closed_unfamiliar"] == 0.0 and home["unseen_elements"] == []


def test_an_element_never_in_training_makes_the_flag_at_least_warn():
    """The committee's own flag says ok (a tiny share of the correction sits on the new
    element's blocks), but a neighbour of an element never trained on is never vouched for."""
    unc = {"flag": "ok", "reasons": [], "ratio": 0.3}
    domain = {"flag": "warn", "reasons": ["elements never in training: Cs"]}
    new = combine_flags({**domain, "unseen_elements": ["Cs"]}, unc, domain_raises=False)
    assert new["flag"] == "warn" and new["domain_flag"] == "warn"
    known = combine_flags({**domain, "unseen_elements": []}, unc, domain_raises=False)
    assert known["flag"] == "ok"  # other domain reasons alone do not raise a committee's flag
    failing = combine_flags({**domain, "unseen_elements": ["Cs"]}, {**unc, "flag": "fail"}, False)
    assert failing["flag"] == "fail"


def test_no_gate_gives_the_mean_prediction(committee, foreign):
    com, meta = committee
    p = Predictor(com, meta)
    p.gate = False
    ((delta, members),) = predict_committee(com, [foreign])
    out = p.predict_record(foreign, "C2").record[K.HT]
    assert np.allclose(out, foreign[K.H0] + delta, atol=1e-12)
    assert np.allclose(delta, members.mean(axis=0), atol=1e-12)
    g = np.zeros(len(foreign[K.EDGE_INDEX]))
    assert np.allclose(gated_hamiltonian(foreign, delta, g), foreign[K.H0])
    assert block_norms(foreign, delta).shape == g.shape


def test_committee_file_round_trip_and_cli(committee, foreign, tmp_path, capsys):
    com, meta = committee
    path = tmp_path / "committee.safetensors"
    save_model(com, path, {k: v for k, v in meta.items() if k != "committee"})
    model, back = load_model(path)
    assert isinstance(model, Committee) and model.size == 3
    assert back["uncertainty"] == meta["uncertainty"]
    ((d1, m1),) = predict_committee(model, [foreign])
    ((d2, m2),) = predict_committee(com, [foreign])
    assert np.allclose(m1, m2, atol=1e-12) and np.allclose(d1, d2, atol=1e-12)
    write(tmp_path / "C.vasp", bulk("C", "diamond", a=3.57), format="vasp")
    for flag, out in (([], "gated"), (["--no-gate"], "raw")):
        args = ["predict", str(tmp_path / "C.vasp"), "--model", str(path), "--h0", "reference"]
        assert main([*args, "--out", str(tmp_path / out), *flag]) == 0
    text = capsys.readouterr().out
    assert "committee of 3" in text and "gate off (--no-gate)" in text
    gated, raw = (Dataset(tmp_path / o).load("C") for o in ("gated", "raw"))
    assert gated[K.META]["reliability"]["flag"] in ("warn", "fail")
    assert np.linalg.norm(gated[K.HT] - gated[K.H0]) < np.linalg.norm(raw[K.HT] - raw[K.H0])


def test_model_without_committee_flags_from_domain_only(committee):
    report = combine_flags({"flag": "warn", "reasons": ["x"]}, None)
    assert report["flag"] == "warn" and report["reasons"] == ["x"]
    assert "no committee" in report["uncertainty"]
    com, meta = committee
    p = Predictor(com.members[0], {k: v for k, v in meta.items() if k != "uncertainty"})
    assert not p.has_uncertainty  # a single network


@pytest.fixture(scope="module")
def si_fcc(si_settings):
    """Engine record of fcc Si: a training element in a geometry never trained on."""
    from nextham.dft.label import compute_record

    return compute_record(bulk("Si", "fcc", a=3.80), si_settings)


def test_foreign_geometry_of_a_training_element_is_pulled_to_h0(committee, si_record, si_fcc):
    """Twelve-fold Si (the committee saw four-fold Si only): the members agree, the element
    pair is known, but the environment is not — the gate closes and the flag says why."""
    from nextham.predict.environment import coordination, familiarity

    com, meta = committee
    ranges = meta["domain"]["coordination"]
    assert coordination(si_fcc).min() > 1.3 * ranges["Si"][1]
    assert np.all(familiarity(si_record, ranges) == 1.0)
    assert np.all(familiarity(si_fcc, ranges) < 1e-3)
    p = Predictor(com, meta)
    away = p.predict_record(si_fcc, "Si-fcc")
    assert np.allclose(away.record[K.HT], si_fcc[K.H0], atol=1e-6)
    rel = away.reliability
    assert rel["flag"] == "fail" and rel["uncertainty"]["closed_unfamiliar"] > 0.99
    assert any("environments unlike training: Si0" in r for r in rel["reasons"])
    home = p.predict_record(si_record, "Si2").reliability
    assert home["uncertainty"]["closed_unfamiliar"] == 0.0


def test_familiarity_decays_outside_the_training_range(si_record):
    from nextham.predict.environment import MARGIN, WIDTH, coordination, familiarity

    c = coordination(si_record)
    lo, hi = float(c.min()), float(c.max())
    scales = [1.0, 1 + MARGIN, 1 + MARGIN + WIDTH, 1 + MARGIN + 3 * WIDTH]
    f = [familiarity(si_record, {"Si": [lo / s, hi / s]}).min() for s in scales]
    assert f[0] == 1.0 and f[1] == pytest.approx(1.0, abs=1e-9)
    assert f[2] == pytest.approx(np.exp(-1), rel=0.05) and f[3] < 1e-3
    assert np.all(familiarity(si_record, {"C": [lo, hi]}) == 0.0)  # element not in training


def test_unseen_pairs_keep_their_correction_and_raise_the_flag(committee, si_record):
    """Blocks of training elements that never met in training (here: statistics without the
    Si–Si pair) keep the gated correction; the flag counts their share and says why."""
    com, meta = committee
    known, estimate = (
        Predictor(com, meta),
        Predictor(com, {**meta, "domain": {**meta["domain"], "pairs": {}}}),
    )
    known.verify = estimate.verify = (
        "never"  # the gate and the estimated flag (the check: test_predict_verify)
    )
    home = known.predict_record(si_record, "Si2")
    novel = estimate.predict_record(si_record, "Si2")
    assert np.array_equal(novel.record[K.HT], home.record[K.HT])
    unc = novel.reliability["uncertainty"]
    assert unc["closed_unfamiliar"] == 0.0 and unc["unseen_pairs_share"] > 0.99
    assert novel.reliability["flag"] == "fail" and home.reliability["flag"] == "ok"
    assert any("never trained together (kept" in r for r in novel.reliability["reasons"])


def test_margin_is_the_narrowest_the_validation_split_allows(committee, si_record):
    """A validation cell 15 % beyond its element's training coordination, with a correction
    that is right: the 10 % margin closes most of it, so the calibration widens δ to 20 %; a
    cell inside the range keeps the narrowest δ."""
    from nextham.predict.calibrate import MARGIN_GRID, calibration_scale, choose_margin
    from nextham.predict.environment import coordination

    delta = np.asarray(si_record[K.HT] - si_record[K.H0])
    noise = 1e-4 * np.random.default_rng(0).normal(size=(3, len(delta)))
    outputs = [(delta, delta + noise - noise.mean(axis=0))]
    scale = calibration_scale([si_record], outputs)["scale"]
    c = coordination(si_record)
    inside = {"Si": [float(c.min()), float(c.max())]}
    beyond = {"Si": [float(c.min()) / 1.15, float(c.max()) / 1.15]}
    assert choose_margin([si_record], outputs, scale, 1.0, inside)["margin"] == MARGIN_GRID[0]
    wide = choose_margin([si_record], outputs, scale, 1.0, beyond)
    assert wide["margin"] == 0.2
    gauge = wide["val_gauge_mae_meV"]
    assert gauge[0.1] > 2 * gauge[0.2] and set(gauge) == set(MARGIN_GRID)
    assert committee[1]["uncertainty"]["margin"] == MARGIN_GRID[0]
