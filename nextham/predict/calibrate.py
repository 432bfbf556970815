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
Gauge within 2 %, band MAE 31 % worse, docs/gate-benchmark.md). The grid stops at τ = 1: with
σ calibrated, g = ‖ΔH‖² / (‖ΔH‖² + σ²) is the minimum-mean-square-error shrinkage of a
correction measured with noise σ, and a larger τ shrinks more than the noise warrants (on the
universal committee τ = 2 kept the validation MAEs within 2 % and cost the test split 10 % of
its Gauge and 29 % of its band MAE, docs/gate-universal.md).

``margin``: the smallest familiarity margin δ of :data:`MARGIN_GRID`
(:mod:`nextham.predict.environment`) whose gate (with the chosen τ) keeps the same budget. A
training set of a few prototypes has validation cells inside its coordination ranges and keeps
the narrowest δ; a broad one whose validation cells put elements in prototypes they were never
trained in (Xe in diamond, Ar in hcp) needs a wider δ not to close corrections that help.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nextham.loss.metrics import gauge_difference
from nextham.loss.report import aggregate_metrics, structure_metrics
from nextham.predict.environment import MARGIN, block_familiarity
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

TAU_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
MARGIN_GRID = (0.1, 0.2, 0.3, 0.5)
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


def _gated_errors(
    records: Sequence[dict], outputs: Sequence[tuple], scale: float, tau: float, kpts, familiar=None
) -> tuple:
    """Validation (Gauge MAE, band MAE) of the gate τ (times each record's block familiarity
    from ``familiar(record)``, if given)."""
    hams = []
    for rec, (delta, members) in zip(records, outputs, strict=True):
        g = gate_factors(block_norms(rec, delta), scale * member_spread(rec, members), tau)
        if familiar is not None:
            g = g * familiar(rec)
        hams.append(gated_hamiltonian(rec, delta, g))
    return _errors(records, hams, kpts)


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
    table = {tau: _gated_errors(records, outputs, scale, tau, kpts) for tau in TAU_GRID}
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


def choose_margin(
    records: Sequence[dict],
    outputs: Sequence[tuple],
    scale: float,
    tau: float,
    ranges: Mapping[str, list[float]],
    budget: float = BUDGET,
    kmesh: tuple[int, int, int] = BAND_KMESH,
    ungated: tuple | None = None,
) -> dict:
    """The smallest familiarity margin δ of :data:`MARGIN_GRID` whose gate (τ times the
    familiarity against the training coordination ``ranges``) keeps the validation Gauge and
    band MAE within ``budget`` of the ungated ones (the widest if none does); both for every δ.
    ``ungated``: the ungated (Gauge, band) MAE if known (:func:`choose_tau`'s τ = 0)."""
    kpts = gamma_mesh(kmesh)
    g0, b0 = ungated or _gated_errors(records, outputs, scale, 0.0, kpts)
    table = {
        m: _gated_errors(
            records, outputs, scale, tau, kpts, lambda r, m=m: block_familiarity(r, ranges, m)
        )
        for m in MARGIN_GRID
    }
    allowed = [m for m, errs in table.items() if all(map(_within, errs, (g0, b0), (budget,) * 2))]
    return {
        "margin": min(allowed) if allowed else max(MARGIN_GRID),
        "val_gauge_mae_meV": {m: v[0] for m, v in table.items()},
        "val_band_mae_meV": {m: v[1] for m, v in table.items()},
    }


def calibrate(
    records: Sequence[dict],
    outputs: Sequence[tuple],
    budget: float = BUDGET,
    ranges: Mapping[str, list[float]] | None = None,
) -> dict:
    """The model file's ``"uncertainty"`` entry: scale, τ, the familiarity margin (from the
    training coordination ``ranges``; :data:`~nextham.predict.environment.MARGIN` without),
    flag limits and the validation numbers they came from (per-structure U included)."""
    scaled = calibration_scale(records, outputs)
    chosen = choose_tau(records, outputs, scaled["scale"], budget)
    margin = {"margin": MARGIN}
    if ranges is not None:
        ungated = (chosen["val_gauge_mae_meV"][0.0], chosen["val_band_mae_meV"][0.0])
        margin = choose_margin(
            records, outputs, scaled["scale"], chosen["tau"], ranges, budget, ungated=ungated
        )
    ratios = [
        relative_error(block_norms(r, d), scaled["scale"] * member_spread(r, m))
        for r, (d, m) in zip(records, outputs, strict=True)
    ]
    validation = {
        "n_structures": len(records),
        "spearman_block": scaled["spearman_block"],
        "fraction_within_sigma": scaled["fraction_within_sigma"],
        "ratio": [float(u) for u in ratios],
        "budget": budget,
        "gauge_mae_meV_by_tau": {str(t): v for t, v in chosen["val_gauge_mae_meV"].items()},
        "band_mae_meV_by_tau": {str(t): v for t, v in chosen["val_band_mae_meV"].items()},
    }
    if ranges is not None:
        validation["gauge_mae_meV_by_margin"] = {
            str(m): v for m, v in margin["val_gauge_mae_meV"].items()
        }
        validation["band_mae_meV_by_margin"] = {
            str(m): v for m, v in margin["val_band_mae_meV"].items()
        }
    return {
        "method": "committee",
        "scale": scaled["scale"],
        "tau": chosen["tau"],
        "margin": margin["margin"],
        "limits": dict(LIMITS),
        "validation": validation,
    }
