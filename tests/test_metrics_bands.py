"""Band MAE, ghost states, baselines and aggregation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
from test_loss_records import make_record
from test_spectra_bloch import loop_bloch

from nextham.loss.metrics import (
    band_mae,
    count_ghost_states,
    count_unmatched_levels,
)
from nextham.loss.report import (
    aggregate_reports,
    evaluate_structure,
    structure_metrics,
)
from nextham.record import keys as K
from nextham.spectra.eigen import generalized_eigh, generalized_eigvalsh

KPTS = np.array([[0.0, 0.0, 0.0], [0.25, 0.1, 0.0], [0.5, 0.5, 0.0]])


def test_generalized_eigvalsh_matches_scipy():
    rec = make_record(51, spinor=True)
    h = loop_bloch(rec, K.HT, KPTS)
    s = np.stack([np.kron(np.eye(2), x) for x in loop_bloch(rec, K.S, KPTS)])
    want = np.stack([scipy.linalg.eigh(a, b, eigvals_only=True) for a, b in zip(h, s)])
    np.testing.assert_allclose(generalized_eigvalsh(h, s), want, atol=1e-10)


def test_generalized_eigh_vectors_solve_the_pencil_and_are_s_orthonormal():
    rec = make_record(52, spinor=True)
    h = loop_bloch(rec, K.HT, KPTS)[1]
    s = np.kron(np.eye(2), loop_bloch(rec, K.S, KPTS)[1])
    eps, c = generalized_eigh(h, s)
    np.testing.assert_allclose(eps, generalized_eigvalsh(h[None], s[None])[0], atol=1e-12)
    np.testing.assert_allclose(h @ c, s @ c * eps, atol=1e-9)
    np.testing.assert_allclose(c.conj().T @ s @ c, np.eye(eps.size), atol=1e-9)


def test_band_mae_index_by_index():
    ref = np.array([[-3.0, -1.5, 0.2, 1.9, 2.5], [-2.5, -2.1, -0.4, 1.0, 3.0]])
    pred = ref + np.array([[0.1, 0.2, -0.3, 0.4, 9.0], [9.0, 0.05, 0.1, -0.2, 9.0]])
    got = band_mae(ref, pred, fermi_level=0.0, window=2.0)
    errs = []
    for k in range(2):
        for n in range(5):
            if abs(ref[k, n]) <= 2.0:
                errs.append(abs(pred[k, n] - ref[k, n]))
    assert got["count"] == len(errs) == 5
    assert got["mae_meV"] == pytest.approx(1000 * np.mean(errs))


def test_ghost_counter_on_arrays():
    ref = np.array([[-1.0, 0.5, 3.0], [-1.2, 0.4, 2.8]])
    pred = np.array([[-1.02, 0.5, 1.4, 3.0], [-1.2, 0.45, 2.1, 2.8]])
    # k0: 1.4 is an extra level inside ±2 eV (2 reference levels in ±2.5 eV) → one ghost;
    # k1: 2.1 is outside the window, so -1.2 and 0.45 match the two reference levels.
    np.testing.assert_array_equal(count_ghost_states(ref, pred, 0.0, 2.0, 0.5), [1, 0])
    # a margin reaching the reference level at 3.0 accounts for the extra level
    np.testing.assert_array_equal(count_ghost_states(ref, pred, 0.0, 2.0, 1.5), [0, 0])


def test_shifted_bands_are_not_ghosts():
    ref = np.array([[-3.0, -1.5, 0.2, 1.9, 2.6]])
    shifted = ref + 0.3  # 2.6 moves into nothing, 1.9 → 2.2 leaves the window
    np.testing.assert_array_equal(count_ghost_states(ref, shifted, 0.0, 2.0, 0.5), [0])
    np.testing.assert_array_equal(count_unmatched_levels(ref, shifted, 0.0, 2.0, 0.1), [2])
    np.testing.assert_array_equal(count_ghost_states(ref, ref - 0.8, 0.0, 2.0, 0.5), [0])
    one = ref.copy()
    one[0, 4] = 1.8  # a level from beyond the margin lands in the window: counted
    np.testing.assert_array_equal(count_ghost_states(ref, one, 0.0, 2.0, 0.5), [1])


def test_unmatched_levels_on_arrays():
    ref = np.array([[-1.0, 0.5, 3.0], [-1.2, 0.4, 2.8]])
    pred = np.array([[-1.02, 0.5, 1.4, 3.0], [-1.2, 0.45, 2.1, 2.8]])
    # k0: 1.4 is 0.9 eV from every reference level; k1: 0.45 is within tol of 0.4
    np.testing.assert_array_equal(count_unmatched_levels(ref, pred, 0.0, 2.0, 0.1), [1, 0])
    np.testing.assert_array_equal(count_unmatched_levels(ref, pred, 0.0, 2.0, 1.0), [0, 0])


def gamma_record(diag_o, diag_h):
    """O + H in a large cell, only R = 0 pairs, S = I, diagonal H (eigenvalues known)."""
    blocks_h = {
        (0, 0): np.diag(diag_o),
        (0, 1): np.zeros((4, 1)),
        (1, 0): np.zeros((1, 4)),
        (1, 1): np.diag(diag_h),
    }
    blocks_s = {
        (0, 0): np.eye(4),
        (0, 1): np.zeros((4, 1)),
        (1, 0): np.zeros((1, 4)),
        (1, 1): np.eye(1),
    }
    keys = list(blocks_h)
    rec = make_record(0)
    rec.update(
        {
            K.CELL: 10.0 * np.eye(3),
            K.POSITIONS: np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
            K.EDGE_INDEX: np.array(keys, dtype=np.int64),
            K.CELL_SHIFT: np.zeros((4, 3), dtype=np.int64),
            K.BLOCK_PTR: np.array([0, 16, 20, 24, 25], dtype=np.int64),
            K.S: np.concatenate([blocks_s[k].ravel() for k in keys]),
            K.HT: np.concatenate([blocks_h[k].ravel() for k in keys]).astype(float),
        }
    )
    rec[K.H0] = rec[K.HT].copy()
    return rec


def test_ghost_state_inserted_in_window():
    rec = gamma_record([-5.0, -1.0, 0.5, 4.0], [6.0])
    pred = gamma_record([-5.0, -1.0, 0.5, 8.5], [1.5])[K.HT]  # trace kept: μ* = 0
    got = structure_metrics(rec, pred, KPTS[:2])
    assert got["gauge_mae"]["mu_star_meV"] == pytest.approx(0.0, abs=1e-9)
    assert got["ghost_states"] == {"count": 2, "n_kpts_with_ghosts": 2, "count_aligned": 2}
    assert got["unmatched_levels"]["count"] == 2
    assert got["bands"]["mae_meV"] == pytest.approx(0.0, abs=1e-9)
    assert structure_metrics(rec, rec[K.HT], KPTS[:2])["ghost_states"]["count"] == 0


def test_evaluate_with_baselines_and_aggregate():
    recs = [make_record(61, fermi_level=0.1), make_record(62, numbers=(1, 8, 1))]
    reports = []
    for rec in recs:
        noise = np.random.default_rng(0).normal(0, 0.01, rec[K.HT].shape)
        rep = evaluate_structure(rec, rec[K.HT] + noise, KPTS)
        assert set(rep) == {"model", "zero_correction", "zero_hamiltonian"}
        direct = structure_metrics(rec, rec[K.H0], KPTS)
        assert rep["zero_correction"] == direct
        json.dumps(rep)
        reports.append(rep)
    agg = aggregate_reports(reports)
    json.dumps(agg)
    sums = [r["model"]["gauge_mae"]["overall"] for r in reports]
    want = sum(s["sum_meV"] for s in sums) / sum(s["count"] for s in sums)
    assert agg["model"]["gauge_mae"]["overall"]["mae_meV"] == pytest.approx(want)
    assert agg["model"]["n_structures"] == 2
    m, z0 = agg["model"], agg["zero_correction"]
    assert m["gauge_mae"]["overall"]["mae_meV"] < z0["gauge_mae"]["overall"]["mae_meV"]
    assert m["bands"]["mae_meV"] < z0["bands"]["mae_meV"]
    assert set(m["gauge_mae"]["element_pair"]) == {"H-H", "H-O", "O-O"}


def test_float32_prediction_is_evaluated_in_double():
    rec = make_record(63, spinor=True)
    got = structure_metrics(rec, rec[K.HT].astype(np.complex64), KPTS)
    assert got["gauge_mae"]["overall"]["mae_meV"] < 1e-3
    assert got["bands"]["mae_meV"] < 1e-2
    assert got["ghost_states"]["count"] == 0
