"""Gauge MAE and its splits against explicit loops over the blocks."""

from __future__ import annotations

import numpy as np
import pytest
from test_loss_records import blocks_of, make_record

from nextham.loss.metrics import gauge_mae
from nextham.record import keys as K
from nextham.record.flat import record_overlap_flat


def brute_gauge(rec, pred):
    """μ*, and per-edge lists of (spin_block, real errors, imag errors), by loops."""
    rp = {**rec, K.HT: pred}
    bp, bt = blocks_of(rp, K.HT), blocks_of(rec, K.HT)
    bs = blocks_of(rec, K.S)
    spinor = rec[K.SPINOR]
    if spinor:
        bs = [np.kron(np.eye(2), s) for s in bs]
    num = sum(np.sum(((p - t) * np.conj(s)).real) for p, t, s in zip(bp, bt, bs))
    den = sum(np.sum(np.abs(s) ** 2) for s in bs)
    mu = num / den
    per_edge = []
    for p, t, s in zip(bp, bt, bs):
        d = p - mu * s - t
        entries = []
        ni, nj = d.shape[0] // (2 if spinor else 1), d.shape[1] // (2 if spinor else 1)
        for a in range(d.shape[0]):
            for b in range(d.shape[1]):
                diag = (a < ni) == (b < nj)
                entries.append((diag, abs(d[a, b].real), abs(d[a, b].imag)))
        per_edge.append(entries)
    return mu, per_edge


def mae_mev(values):
    return 1000.0 * float(np.mean(values))


@pytest.mark.parametrize("spinor", [False, True])
def test_gauge_mae_overall_and_splits(spinor):
    rec = make_record(41, spinor=spinor, numbers=(8, 1, 1))
    pred = np.asarray(rec[K.H0])
    got = gauge_mae(rec, pred, distance_bins=(0.0, 1e-3, 3.0, 100.0))
    mu, per_edge = brute_gauge(rec, pred)
    assert got["mu_star_meV"] == pytest.approx(1000 * mu, rel=1e-10)
    comps = [x for es in per_edge for d, r, i in es for x in ((r, i) if spinor else (r,))]
    assert got["overall"]["count"] == len(comps)
    assert got["overall"]["mae_meV"] == pytest.approx(mae_mev(comps), rel=1e-10)

    numbers = rec[K.NUMBERS]
    sym = {1: "H", 8: "O"}
    for label in ("H-H", "H-O", "O-O"):
        sel = [
            x
            for e, es in enumerate(per_edge)
            if "-".join(sorted(sym[numbers[a]] for a in rec[K.EDGE_INDEX][e]))
            == "-".join(sorted(label.split("-")))
            for d, r, i in es
            for x in ((r, i) if spinor else (r,))
        ]
        assert got["element_pair"][label]["mae_meV"] == pytest.approx(mae_mev(sel), rel=1e-10)

    pos, cell = rec[K.POSITIONS], rec[K.CELL]
    dist = [
        np.linalg.norm(pos[j] + rec[K.CELL_SHIFT][e] @ cell - pos[i])
        for e, (i, j) in enumerate(rec[K.EDGE_INDEX])
    ]
    for label, lo, hi in (("0-0.001", 0.0, 1e-3), ("0.001-3", 1e-3, 3.0), ("3-100", 3.0, 100.0)):
        sel = [
            x
            for e, es in enumerate(per_edge)
            if lo <= dist[e] < hi
            for d, r, i in es
            for x in ((r, i) if spinor else (r,))
        ]
        assert got["distance_shell"][label]["count"] == len(sel)
        assert got["distance_shell"][label]["mae_meV"] == pytest.approx(mae_mev(sel), rel=1e-10)

    if spinor:
        flat = [x for es in per_edge for x in es]
        spin = got["spin"]
        assert spin["uu_dd_real"]["mae_meV"] == pytest.approx(
            mae_mev([r for d, r, i in flat if d]), rel=1e-10
        )
        assert spin["uu_dd_imag"]["mae_meV"] == pytest.approx(
            mae_mev([i for d, r, i in flat if d]), rel=1e-10
        )
        assert spin["ud_du"]["mae_meV"] == pytest.approx(
            mae_mev([x for d, r, i in flat if not d for x in (r, i)]), rel=1e-10
        )
    else:
        assert "spin" not in got


def test_gauge_mae_ignores_rigid_shift():
    rec = make_record(42, spinor=True)
    pred = np.asarray(rec[K.H0])
    base = gauge_mae(rec, pred)
    shifted = gauge_mae(rec, pred + 1.5 * record_overlap_flat(rec))
    assert shifted["overall"]["mae_meV"] == pytest.approx(base["overall"]["mae_meV"], rel=1e-9)
    assert shifted["mu_star_meV"] - base["mu_star_meV"] == pytest.approx(1500.0, rel=1e-9)
    assert gauge_mae(rec, rec[K.HT])["overall"]["mae_meV"] < 1e-9
