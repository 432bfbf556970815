"""Per-structure metric reports, baselines and their aggregation.

:func:`evaluate_structure` returns, for one record, a JSON-serializable dict keyed by model
name: the prediction under evaluation and the two baselines

* ``zero_correction``: H = H0 (the prediction of a model that learned ΔH = 0);
* ``zero_hamiltonian``: H = 0,

all computed with the same functions and the same reference eigenvalues.
:func:`aggregate_reports` merges a list of such dicts into dataset-level numbers: every
MAE is Σ errors / Σ counts over the structures (entry-weighted); ghost states and unmatched
levels are summed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nextham.conventions import electrons_per_level
from nextham.dft.settings import EngineSettings
from nextham.loss.metrics import (
    DEFAULT_DISTANCE_BINS,
    MEV,
    aligned_band_mae,
    band_mae,
    count_ghost_states,
    count_unmatched_levels,
    energy_window,
    gauge_mae,
    occupied_levels,
)
from nextham.record import keys as K
from nextham.spectra.eigen import band_energies

ZERO_CORRECTION = "zero_correction"
ZERO_HAMILTONIAN = "zero_hamiltonian"


def baseline_predictions(record: Mapping) -> dict[str, np.ndarray]:
    """Flat predictions of the baselines, in the layout of ``record[HT]``."""
    ht = np.asarray(record[K.HT])
    return {ZERO_CORRECTION: np.asarray(record[K.H0]), ZERO_HAMILTONIAN: np.zeros_like(ht)}


def structure_metrics(
    record: Mapping,
    h_pred: np.ndarray,
    kpts: np.ndarray,
    eps_ref: np.ndarray | None = None,
    band_window: float = 2.0,
    window: str = "edges",
    ghost_margin: float = 0.5,
    level_tol: float = 0.1,
    distance_bins: Sequence[float] = DEFAULT_DISTANCE_BINS,
    s_threshold: float = 1e-6,
) -> dict:
    """All metrics of one prediction for one structure.

    Parameters
    ----------
    record
        Structure record; ``META["fermi_level"]`` (eV) and ``META["n_electrons"]`` define the
        band window (:func:`nextham.loss.metrics.energy_window`).
    h_pred : (n_entries,)
        Predicted H in the layout of ``record[HT]``.
    kpts : (nk, 3)
        Fractional k-points for bands and ghost states (a mesh or a band path).
    eps_ref : (nk, m), optional
        Reference eigenvalues at ``kpts`` (computed when omitted).
    band_window, ghost_margin, level_tol
        Half-width w of the band window (beyond the band edges or around E_F), the
        ghost-state margin and the unmatched-level tolerance, eV (:mod:`nextham.loss.metrics`).
    window
        ``"edges"`` (VBM − w … CBM + w for insulators, E_F ± w for metals) or ``"fermi"``
        (E_F ± w always), shared by band MAE, ghost states and unmatched levels.

    Returns
    -------
    dict with ``"gauge_mae"`` (:func:`nextham.loss.metrics.gauge_mae`), ``"window"``
    (:meth:`nextham.loss.metrics.EnergyWindow.to_json`), ``"bands"`` (μ*-shifted, raw and
    aligned at each spectrum's own VBM / E_F: :func:`nextham.loss.metrics.aligned_band_mae`),
    ``"ghost_states"`` (after μ*, and ``count_aligned`` on the aligned spectrum) and
    ``"unmatched_levels"``.
    """
    fermi = float(record[K.META]["fermi_level"])
    if eps_ref is None:
        eps_ref = band_energies(record, record[K.HT], kpts, s_threshold)
    n_occupied = occupied_levels(record)
    win = energy_window(eps_ref, fermi, n_occupied, band_window, window)
    gauge = gauge_mae(record, h_pred, distance_bins)
    mu = gauge["mu_star_meV"] / MEV
    eps_pred = band_energies(record, h_pred, kpts, s_threshold)
    bands = band_mae(eps_ref, eps_pred - mu, fermi, win.bounds)
    raw = band_mae(eps_ref, eps_pred, fermi, win.bounds)
    aligned = aligned_band_mae(eps_ref, eps_pred, win, n_occupied,
                               electrons_per_level(bool(record[K.SPINOR])),
                               EngineSettings.from_meta(record[K.META]).smearing_ev)  # fmt: skip
    bands.update(sum_raw_meV=raw["sum_meV"], mae_raw_meV=raw["mae_meV"], n_kpts=len(kpts),
                 sum_aligned_meV=aligned["sum_meV"], count_aligned=aligned["count"],
                 mae_aligned_meV=aligned["mae_meV"], offset_meV=aligned["offset_meV"])  # fmt: skip
    levels = count_unmatched_levels(eps_ref, eps_pred - mu, fermi, win.bounds, level_tol)
    ghost_states = _ghost_states(eps_ref, eps_pred, (mu, aligned["offset_meV"]), fermi,
                                 win.bounds, ghost_margin)  # fmt: skip
    return {
        "gauge_mae": gauge,
        "window": win.to_json(),
        "bands": bands,
        "ghost_states": ghost_states,
        "unmatched_levels": {"count": int(levels.sum()), "tol_eV": level_tol},
    }


def _ghost_states(eps_ref, eps_pred, shifts, fermi, bounds, margin) -> dict:
    """Ghost states of ``eps_pred`` shifted by μ* (``shifts[0]``, eV) and, where the aligned
    band MAE has an offset (``shifts[1]``, meV), on the spectrum aligned by it."""
    ghosts = count_ghost_states(eps_ref, eps_pred - shifts[0], fermi, bounds, margin)
    out = {"count": int(ghosts.sum()), "n_kpts_with_ghosts": int((ghosts > 0).sum())}
    if shifts[1] is not None:
        aligned = count_ghost_states(eps_ref, eps_pred - shifts[1] / MEV, fermi, bounds, margin)
        out["count_aligned"] = int(aligned.sum())
    return out


def evaluate_structure(
    record: Mapping,
    h_pred: np.ndarray | None,
    kpts: np.ndarray,
    baselines: bool = True,
    **options,
) -> dict[str, dict]:
    """Metrics of ``h_pred`` (key ``"model"``, skipped if None) and of the baselines.

    ``options`` are passed to :func:`structure_metrics`; the reference eigenvalues are
    computed once and shared.
    """
    s_threshold = options.get("s_threshold", 1e-6)
    eps_ref = band_energies(record, record[K.HT], kpts, s_threshold)
    preds = {} if h_pred is None else {"model": np.asarray(h_pred)}
    if baselines:
        preds.update(baseline_predictions(record))
    return {
        name: structure_metrics(record, pred, kpts, eps_ref=eps_ref, **options)
        for name, pred in preds.items()
    }


def _merge_groups(groups: Sequence[dict]) -> dict:
    total = sum(g["sum_meV"] for g in groups)
    n = sum(g["count"] for g in groups)
    return {"sum_meV": total, "count": n, "mae_meV": total / n if n else None}


def _merge_named(dicts: Sequence[dict]) -> dict:
    names = sorted({k for d in dicts for k in d})
    return {k: _merge_groups([d[k] for d in dicts if k in d]) for k in names}


def _aligned_ghosts(structures: Sequence[dict]) -> dict:
    """Ghost states counted on the aligned spectra, over the structures that have the count."""
    counts = [s["ghost_states"]["count_aligned"] for s in structures
              if "count_aligned" in s["ghost_states"]]  # fmt: skip
    if not counts:
        return {}
    return {"total_aligned": int(sum(counts)),
            "n_structures_with_ghosts_aligned": int(sum(c > 0 for c in counts))}  # fmt: skip


def aggregate_metrics(structures: Sequence[dict]) -> dict:
    """Dataset-level metrics of one model from its :func:`structure_metrics` dicts."""
    gauges = [s["gauge_mae"] for s in structures]
    bands = [s["bands"] for s in structures]
    ghosts = np.array([s["ghost_states"]["count"] for s in structures], dtype=np.int64)
    levels = np.array([s["unmatched_levels"]["count"] for s in structures], dtype=np.int64)
    overall = [g["overall"]["mae_meV"] for g in gauges if g["overall"]["mae_meV"] is not None]
    band_raw = _merge_groups([{"sum_meV": b["sum_raw_meV"], "count": b["count"]} for b in bands])
    band_aligned = _merge_groups([{"sum_meV": b["sum_aligned_meV"], "count": b["count_aligned"]}
                                  for b in bands if "sum_aligned_meV" in b])  # fmt: skip
    windows = [s["window"] for s in structures if "window" in s]
    out = {
        "n_structures": len(structures),
        "window": {
            "definitions": sorted({w["definition"] for w in windows}),
            "n_insulators": sum(bool(w["insulator"]) for w in windows),
        },
        "gauge_mae": {
            "overall": _merge_groups([g["overall"] for g in gauges]),
            "structure_mean_meV": float(np.mean(overall)) if overall else None,
            "element_pair": _merge_named([g["element_pair"] for g in gauges]),
            "distance_shell": _merge_named([g["distance_shell"] for g in gauges]),
        },
        "bands": {
            **_merge_groups(bands),
            "mae_raw_meV": band_raw["mae_meV"],
            "mae_aligned_meV": band_aligned["mae_meV"],
        },
        "ghost_states": {
            "total": int(ghosts.sum()),
            "per_structure_mean": float(ghosts.mean()) if len(ghosts) else 0.0,
            "n_structures_with_ghosts": int((ghosts > 0).sum()),
            **_aligned_ghosts(structures),
        },
        "unmatched_levels": {
            "total": int(levels.sum()),
            "per_structure_mean": float(levels.mean()) if len(levels) else 0.0,
        },
    }
    spins = [g["spin"] for g in gauges if "spin" in g]
    if spins:
        out["gauge_mae"]["spin"] = _merge_named(spins)
    return out


def aggregate_reports(reports: Sequence[Mapping[str, dict]]) -> dict[str, dict]:
    """Merge :func:`evaluate_structure` outputs: model name → :func:`aggregate_metrics`."""
    names = sorted({name for r in reports for name in r})
    return {name: aggregate_metrics([r[name] for r in reports if name in r]) for name in names}
