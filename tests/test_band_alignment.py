"""Band MAE as a band structure shows the bands: each spectrum from its own VBM or E_F."""

from __future__ import annotations

import numpy as np
import pytest
from test_band_window import insulator
from test_loss_records import make_record
from test_metrics_bands import KPTS

from nextham.loss.metrics import aligned_band_mae, energy_window, reference_level
from nextham.loss.report import aggregate_reports, evaluate_structure, structure_metrics
from nextham.record import keys as K

# two occupied levels per k (four electrons, scalar), a gap of ≥ 3 eV
EPS = np.array([[-6.0, -1.0, 2.0, 5.0], [-5.5, -1.5, 2.5, 4.0]])


def test_a_rigid_shift_is_no_error_and_is_the_offset():
    win = energy_window(EPS, 0.5, 2.0)
    got = aligned_band_mae(EPS, EPS + 0.3, win, 2.0, 2.0, 0.1)
    assert win.insulator and got["count"] > 0
    assert got["mae_meV"] == pytest.approx(0.0, abs=1e-9)
    assert got["offset_meV"] == pytest.approx(300.0)


def test_a_gap_error_is_an_error_of_the_empty_bands():
    win = energy_window(EPS, 0.5, 2.0)  # VBM −1 … CBM + 2 = −3 … 4: 4 levels inside
    pred = EPS + np.array([0.0, 0.0, 0.2, 0.2])  # conduction bands 0.2 eV too high
    got = aligned_band_mae(EPS, pred + 0.5, win, 2.0, 2.0, 0.1)
    inside = (EPS >= win.lo) & (EPS <= win.hi)
    want = 200.0 * inside[:, 2:].sum() / inside.sum()
    assert got["mae_meV"] == pytest.approx(want) and got["offset_meV"] == pytest.approx(500.0)


def test_a_metal_is_read_from_its_own_fermi_level():
    eps = np.array([[-5.0, -0.5, 0.3], [-5.0, 0.6, 1.2]])  # overlapping bands: a metal
    win = energy_window(eps, 0.1, 2.0)
    assert not win.insulator
    ef = reference_level(eps, win, 2.0, 2.0, 0.1)
    assert reference_level(eps - 0.7, win, 2.0, 2.0, 0.1) == pytest.approx(ef - 0.7)
    got = aligned_band_mae(eps, eps - 0.7, win, 2.0, 2.0, 0.1)
    assert got["mae_meV"] == pytest.approx(0.0, abs=1e-6)
    assert got["offset_meV"] == pytest.approx(-700.0, abs=1e-6)
    # one band moved: E_F moves too, and the error is no longer zero
    bent = eps + np.array([0.0, 0.3, 0.0])
    assert aligned_band_mae(eps, bent, win, 2.0, 2.0, 0.1)["mae_meV"] > 10.0


def test_no_electron_count_no_aligned_mae():
    win = energy_window(EPS, 0.5, None)
    got = aligned_band_mae(EPS, EPS + 0.3, win, None, 2.0, 0.1)
    assert got["mae_meV"] is None and got["count"] == 0 and got["offset_meV"] is None


def test_a_shift_of_the_window_levels_that_mu_star_misses():
    rec = insulator()  # levels −9, −3 | 3, 9, 12 eV, S = I
    pred = np.asarray(rec[K.HT], dtype=float).copy()
    pred[[5, 10]] += 0.4  # the O levels at −3 and +3 eV (diagonal entries 1 and 2 of O's block)
    m = structure_metrics(rec, pred, KPTS[:1])
    bands = m["bands"]
    assert bands["mae_aligned_meV"] == pytest.approx(0.0, abs=1e-9)
    assert bands["offset_meV"] == pytest.approx(400.0)
    assert bands["mae_meV"] > 100.0  # μ* fitted to the five diagonal entries is not 0.4 eV


def test_aggregation_pools_the_aligned_errors():
    recs = [make_record(61, fermi_level=0.1), insulator()]
    reports = [evaluate_structure(r, np.asarray(r[K.HT]) + 0.02, KPTS) for r in recs]
    per = [r["model"]["bands"] for r in reports]
    want = sum(b["sum_aligned_meV"] for b in per) / sum(b["count_aligned"] for b in per)
    got = aggregate_reports(reports)["model"]["bands"]["mae_aligned_meV"]
    assert got == pytest.approx(want)
    assert all(b["count_aligned"] == b["count"] for b in per)


def test_ghost_states_counted_on_the_aligned_spectra_too(monkeypatch):
    import nextham.loss.report as report

    rec = insulator([-9.0, -3.0, 3.0, 7.5], [8.0])  # window VBM−2 … CBM+2 = −5 … 5
    pred = np.asarray(rec[K.HT], dtype=float) - 3.5 * np.asarray(rec[K.S], dtype=float)
    assert structure_metrics(rec, pred, KPTS)["ghost_states"]["count"] == 0  # μ* = −3.5 eV

    def missed(*args, **kwargs):  # a μ* that leaves the rigid shift, as on real records
        return {**real(*args, **kwargs), "mu_star_meV": 0.0}

    real = report.gauge_mae
    monkeypatch.setattr(report, "gauge_mae", missed)
    m = structure_metrics(rec, pred, KPTS)
    # 7.5 and 8 eV drop to 4.0 and 4.5, inside the window; 3 drops to −0.5; −3 leaves it
    assert m["ghost_states"]["count"] == len(KPTS)
    assert m["ghost_states"]["count_aligned"] == 0
    assert m["bands"]["offset_meV"] == pytest.approx(-3500.0)
    agg = aggregate_reports([{"model": m}, {"model": m}])["model"]["ghost_states"]
    assert (agg["total"], agg["total_aligned"]) == (2 * len(KPTS), 0)
    assert agg["n_structures_with_ghosts_aligned"] == 0
