"""Calibrate a committee's uncertainty and choose its gate on validation records.

``scale`` c: c² = Σ_b ‖ΔH_mean,b − ΔH_DFT,b‖² / Σ_b s_b² over every block of the validation
structures, s_b the members' raw spread (:func:`nextham.predict.gate.member_spread`); the
block error is taken after the gauge shift μ*S of the Gauge MAE
(:func:`nextham.loss.metrics.gauge_difference`), so that a constant potential offset, which no
observable sees, does not count as error. With c the predicted Σσ² equals the observed
squared error on the validation split.

``tau``: the largest value of :data:`TAU_GRID` whose gated prediction keeps the validation
Gauge MAE within ``budget`` (default 5 %) of the ungated one — the strongest gate the
in-distribution data allow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nextham.loss.metrics import MEV, gauge_difference
from nextham.predict.gate import (
    LIMITS,
    block_norms,
    gate_factors,
    gated_hamiltonian,
    member_spread,
    relative_error,
)
from nextham.record import keys as K

TAU_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
BUDGET = 0.05


def _gauge_mae(record: dict, h: np.ndarray) -> tuple[float, int]:
    """Sum (meV) and count of the gauge-corrected absolute errors of ``h``."""
    diff, _ = gauge_difference(record, h)
    return float(np.sum(np.abs(diff)) * MEV), diff.size


def calibration_scale(records: Sequence[dict], outputs: Sequence[tuple]) -> dict:
    """c from validation ``records`` and their committee ``outputs`` (mean ΔH, members ΔH);
    also the Spearman correlation of per-block σ and error (how well σ ranks errors)."""
    errs, spreads = [], []
    for rec, (delta, members) in zip(records, outputs, strict=True):
        diff, _ = gauge_difference(rec, np.asarray(rec[K.H0]) + delta)
        errs.append(block_norms(rec, diff))
        spreads.append(member_spread(rec, members))
    e, s = np.concatenate(errs), np.concatenate(spreads)
    scale = float(np.sqrt(np.sum(e**2) / max(np.sum(s**2), 1e-300)))
    rank = np.corrcoef(np.argsort(np.argsort(e)), np.argsort(np.argsort(s)))[0, 1]
    inside = float(np.mean(e <= scale * s))
    return {"scale": scale, "spearman_block": float(rank), "fraction_within_sigma": inside}


def choose_tau(
    records: Sequence[dict], outputs: Sequence[tuple], scale: float, budget: float = BUDGET
) -> dict:
    """The strongest gate within ``budget`` of the ungated validation Gauge MAE, with the
    Gauge MAE (meV) of every τ tried."""
    table = {}
    for tau in TAU_GRID:
        total, count = 0.0, 0
        for rec, (delta, members) in zip(records, outputs, strict=True):
            sigma = scale * member_spread(rec, members)
            g = gate_factors(block_norms(rec, delta), sigma, tau)
            t, n = _gauge_mae(rec, gated_hamiltonian(rec, delta, g))
            total, count = total + t, count + n
        table[tau] = total / count
    allowed = [t for t in TAU_GRID if table[t] <= (1 + budget) * table[0.0]]
    return {"tau": max(allowed), "budget": budget, "val_gauge_mae_meV": table}


def calibrate(records: Sequence[dict], outputs: Sequence[tuple], budget: float = BUDGET) -> dict:
    """The model file's ``"uncertainty"`` entry: scale, τ, flag limits and the validation
    numbers they came from (per-structure U of the validation structures included)."""
    scaled = calibration_scale(records, outputs)
    chosen = choose_tau(records, outputs, scaled["scale"], budget)
    ratios = [
        relative_error(block_norms(r, d), scaled["scale"] * member_spread(r, m))
        for r, (d, m) in zip(records, outputs, strict=True)
    ]
    return {
        "method": "committee",
        "scale": scaled["scale"],
        "tau": chosen["tau"],
        "limits": dict(LIMITS),
        "validation": {
            "n_structures": len(records),
            "spearman_block": scaled["spearman_block"],
            "fraction_within_sigma": scaled["fraction_within_sigma"],
            "ratio": [float(u) for u in ratios],
            "budget": budget,
            "gauge_mae_meV_by_tau": {str(t): v for t, v in chosen["val_gauge_mae_meV"].items()},
        },
    }
