"""Calibrate a committee's uncertainty and choose its gate on validation records.

``scale`` c: c² = Σ_b ‖ΔH_mean,b − ΔH_DFT,b‖² / Σ_b s_b² over every block of the validation
structures, s_b the members' raw spread (:func:`nextham.predict.gate.member_spread`); the
block error is taken after the gauge shift μ*S of the Gauge MAE
(:func:`nextham.loss.metrics.gauge_difference`), so that a constant potential offset, which no
observable sees, does not count as error. With c the predicted Σσ² equals the observed
squared error on the validation split.

``tau``: the largest value of :data:`TAU_GRID` whose gated prediction keeps both the validation
Gauge MAE and band MAE (band window of :func:`nextham.loss.report.structure_metrics`, on a
Γ-centred :data:`BAND_KMESH`) within ``budget`` (default 5 %) of the ungated ones — the
strongest gate the in-distribution data allow. The Gauge MAE alone is not enough: a gate that
shrinks many small blocks a little costs the bands more than the matrix entries (measured:
Gauge within 2 %, band MAE 31 % worse, docs/gate-benchmark.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nextham.loss.metrics import gauge_difference
from nextham.loss.report import aggregate_metrics, structure_metrics
from nextham.predict.gate import (
    LIMITS,
    block_norms,
    gate_factors,
    gated_hamiltonian,
    member_spread,
    relative_error,
)
from nextham.record import keys as K
from nextham.spectra.kspace import gamma_mesh

TAU_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
BUDGET = 0.05
BAND_KMESH = (4, 4, 4)


def _errors(records: Sequence[dict], hamiltonians: Sequence[np.ndarray], kpts) -> tuple:
    """Gauge MAE and band MAE (meV, or None without a band window) over ``records``."""
    agg = aggregate_metrics(
        [structure_metrics(r, h, kpts) for r, h in zip(records, hamiltonians, strict=True)]
    )
    return agg["gauge_mae"]["overall"]["mae_meV"], agg["bands"]["mae_meV"]


def _within(value: float | None, reference: float | None, budget: float) -> bool:
    return value is None or reference is None or value <= (1 + budget) * reference


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
    records: Sequence[dict],
    outputs: Sequence[tuple],
    scale: float,
    budget: float = BUDGET,
    kmesh: tuple[int, int, int] = BAND_KMESH,
) -> dict:
    """The strongest gate within ``budget`` of the ungated validation Gauge and band MAE,
    with both (meV) for every τ tried."""
    kpts = gamma_mesh(kmesh)
    table = {}
    for tau in TAU_GRID:
        hams = []
        for rec, (delta, members) in zip(records, outputs, strict=True):
            sigma = scale * member_spread(rec, members)
            hams.append(
                gated_hamiltonian(rec, delta, gate_factors(block_norms(rec, delta), sigma, tau))
            )
        table[tau] = _errors(records, hams, kpts)
    (g0, b0) = table[0.0]
    allowed = [
        t for t in TAU_GRID if _within(table[t][0], g0, budget) and _within(table[t][1], b0, budget)
    ]
    return {
        "tau": max(allowed),
        "budget": budget,
        "val_gauge_mae_meV": {t: v[0] for t, v in table.items()},
        "val_band_mae_meV": {t: v[1] for t, v in table.items()},
    }


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
            "band_mae_meV_by_tau": {str(t): v for t, v in chosen["val_band_mae_meV"].items()},
        },
    }
