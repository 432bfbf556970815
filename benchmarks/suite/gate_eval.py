"""Evaluation of a calibrated committee: H0, one member, the ungated and the gated committee
on each structure, the reliability flag of each, and the tables of benchmarks/gate.py."""

from __future__ import annotations

import time

import numpy as np

from nextham.loss.report import aggregate_metrics, evaluate_structure, structure_metrics
from nextham.predict import Predictor
from nextham.predict.core import predict_committee
from nextham.predict.verify import auto_check
from nextham.record import keys as K
from nextham.spectra.kspace import gamma_mesh
from nextham.store.dataset import Dataset

MODELS = ("h0", "member", "ungated", "gated", "checked", "default")
LABELS = {
    "h0": "H0 alone (no correction)",
    "member": "one member (seed 0), ungated",
    "ungated": "nextham committee, ungated (`--no-gate`)",
    "gated": "nextham committee, gated, never checked (`--no-verify`)",
    "checked": "nextham committee, gated and checked (`--verify`)",
    "default": "nextham committee, default (gated; checked on small cells and where the estimate "
    "doubts)",
}


def models(rows: list[dict]) -> list[str]:
    """The models of :data:`MODELS` that every row has (rows of earlier runs lack some)."""
    return [k for k in MODELS if all(k in r["metrics"] for r in rows)]


def evaluate_records(
    predictor: Predictor, named: list[tuple[str, dict]], kmesh, verify: bool = True
) -> list[dict]:
    """Per structure: metrics of H0, one member, the ungated and the gated committee, the flag,
    U, gate kept; with ``verify`` also the prediction checked against self-consistency
    (``predict --verify``), its flag and residual ratio (the default's row is derived from
    these by :func:`complete`)."""
    kpts = gamma_mesh(tuple(kmesh))
    rows = []
    for name, rec in named:
        t0 = time.perf_counter()
        predictor.gate, predictor.verify = True, "never"
        gated = predictor.predict_record(rec, name)
        t_gated = time.perf_counter() - t0
        ((delta, members),) = predict_committee(predictor.model, [rec])
        h0 = np.asarray(rec[K.H0])
        base = evaluate_structure(rec, gated.record[K.HT], kpts)
        metrics = {
            "h0": base["zero_correction"],
            "gated": base["model"],
            "ungated": structure_metrics(rec, h0 + delta, kpts),
            "member": structure_metrics(rec, h0 + members[0], kpts),
        }
        rel = gated.reliability
        rows.append({
            "name": name,
            "atoms": len(np.asarray(rec[K.NUMBERS])),
            "metrics": metrics,
            "flag": rel["flag"],
            "reasons": rel["reasons"],
            "ratio": rel["uncertainty"]["ratio"],
            "gate_mean": rel["uncertainty"]["gate_mean"],
            "domain_flag": "warn" if _domain_reasons(rel) else "ok",
            "predict_s": t_gated,
        })  # fmt: skip
        if verify:
            rows[-1].update(_checked(predictor, rec, name, kpts))
            rows[-1]["metrics"]["checked"] = rows[-1].pop("checked_metrics")
    return rows


def complete(rows: list[dict], named: list[tuple[str, str]]) -> list[dict]:
    """Rows of an earlier run (cached) brought up to date: each row's cell size from its
    (dataset, entry) in ``named`` (same order) where missing, then :func:`add_default` where
    the rows have the checked prediction."""
    for r, (d, n) in zip(rows, named, strict=True):
        if "atoms" not in r:
            r["atoms"] = len(np.asarray(Dataset(d).load(n)[K.NUMBERS]))
    return add_default(rows) if all("checked" in r["metrics"] for r in rows) else rows


def add_default(rows: list[dict]) -> list[dict]:
    """Each row (with the checked prediction and the cell's ``atoms``) gets what ``predict``
    returns by default (:func:`nextham.predict.verify.auto_check`): the checked prediction
    and flag on the smallest cells and where the estimated flag says warn/fail on a small
    enough cell, the gated one elsewhere — ``metrics["default"]`` and ``default_flag``."""
    for r in rows:
        checked = auto_check(r["flag"], r["atoms"])
        r["metrics"]["default"] = r["metrics"]["checked" if checked else "gated"]
        r["default_flag"] = r["checked_flag"] if checked else r["flag"]
    return rows


def _checked(predictor: Predictor, rec: dict, name: str, kpts) -> dict:
    """The gated prediction with the self-consistency check: metrics, flag, residuals."""
    predictor.gate, predictor.verify = True, "always"
    try:
        t0 = time.perf_counter()
        pred = predictor.predict_record(rec, name)
        seconds = time.perf_counter() - t0
    finally:
        predictor.verify = "never"
    rel = pred.reliability
    return {
        "checked_metrics": structure_metrics(rec, pred.record[K.HT], kpts),
        "checked_flag": rel["flag"],
        "verification": rel["verification"],
        "checked_s": seconds,
    }


def _domain_reasons(rel: dict) -> bool:
    own = ("committee uncertainty", "gate closed")
    return any(not r.startswith(own) for r in rel["reasons"])


def _gauge(m: dict) -> float:
    return m["gauge_mae"]["overall"]["mae_meV"]


def _band(m: dict) -> float | None:
    return m["bands"]["mae_meV"]


def subset_table(rows: list[dict]) -> list[str]:
    """Gauge and band MAE of every model, entry-weighted over the subset's structures."""
    lines = ["| model | Gauge MAE (meV) | band MAE (meV) | levels > 0.1 eV off per structure |",
             "|---|---|---|---|"]  # fmt: skip
    for key in models(rows):
        agg = aggregate_metrics([r["metrics"][key] for r in rows])
        g, b = agg["gauge_mae"]["overall"]["mae_meV"], agg["bands"]["mae_meV"]
        lv = agg["unmatched_levels"]["per_structure_mean"]
        lines.append(f"| {LABELS[key]} | {g:.4g} | {_fmt(b)} | {lv:.2f} |")
    return lines


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.4g}"


def ratios(rows: list[dict]) -> dict:
    """Gated/H0 and gated/ungated ratios of the subset's Gauge and band MAE, and the same of
    the checked prediction where the rows have it."""
    keys = models(rows)
    agg = {k: aggregate_metrics([r["metrics"][k] for r in rows]) for k in keys}
    g = {k: agg[k]["gauge_mae"]["overall"]["mae_meV"] for k in keys}
    b = {k: agg[k]["bands"]["mae_meV"] for k in keys}
    out = {}
    for key in [k for k in ("gated", "checked", "default") if k in keys]:
        out[f"gauge_{key}_over_h0"] = g[key] / g["h0"]
        out[f"band_{key}_over_h0"] = b[key] / b["h0"] if b["h0"] else None
        out[f"gauge_{key}_over_ungated"] = g[key] / g["ungated"]
        out[f"band_{key}_over_ungated"] = b[key] / b["ungated"] if b["ungated"] else None
    return out


def structure_table(rows: list[dict]) -> list[str]:
    """One line per structure: Gauge MAE of H0 / ungated / gated, U, gate kept, flag; with the
    check, the residual ratio q and the checked flag."""
    checked = "checked" in models(rows)
    extra = " q (check) | checked flag |" if checked else ""
    lines = ["| structure | H0 | ungated | gated | band H0 | band ungated | band gated | U "
             f"| gate keeps | flag |{extra}",
             "|---|---|---|---|---|---|---|---|---|---|" + "---|---|" * checked]  # fmt: skip
    for r in rows:
        m = r["metrics"]
        line = (
            f"| {r['name']} | {_gauge(m['h0']):.3g} | {_gauge(m['ungated']):.3g} "
            f"| {_gauge(m['gated']):.3g} | {_fmt(_band(m['h0']))} | {_fmt(_band(m['ungated']))} "
            f"| {_fmt(_band(m['gated']))} | {r['ratio']:.2f} | {100 * r['gate_mean']:.0f}% "
            f"| {r['flag']} |"
        )
        if checked:
            line += f" {r['verification']['ratio']:.2f} | {r['checked_flag']} |"
        lines.append(line)
    return lines


OUTCOMES = {
    "Gauge MAE": lambda r: _worse(r, _gauge),
    "band MAE": lambda r: _worse(r, _band),
    "either": lambda r: _worse(r, _gauge) or _worse(r, _band),
}
"""Ways a structure's ungated prediction is worse than H0: by Gauge MAE, by band MAE, or by
either (it breaks "≤ H0's Gauge MAE and band MAE"; then "better" is better by both)."""


def flag_table(rows: list[dict], warn_limit: float) -> tuple[list[str], dict]:
    """Of the structures where the ungated committee is worse than H0 (:data:`OUTCOMES`: Gauge
    MAE; band MAE; either), the fraction flagged warn/fail; of those where it is better (by
    that measure; for ``either``, by both), the same; next to what the domain statistics
    alone (the flag before the committee), U alone and, where the rows have it, the
    self-consistency check (``predict --verify``) say."""
    checked = "checked" in models(rows)
    default = "default" in models(rows)
    out, lines = {}, ["| ungated committee vs H0 | by | structures | estimated flag warn/fail "
                      "| of which fail | domain statistics alone | U alone (≥ warn limit) |"
                      + " checked flag warn/fail (`--verify`) |" * checked
                      + " default flag warn/fail |" * default,
                      "|---|---|---|---|---|---|---|" + "---|" * (checked + default)]  # fmt: skip
    for by, worse in OUTCOMES.items():
        for side in ("worse", "better"):
            sel = [r for r in rows if worse(r) == (side == "worse")]
            flagged = sum(r["flag"] != "ok" for r in sel)
            fail = sum(r["flag"] == "fail" for r in sel)
            domain = sum(r["domain_flag"] != "ok" for r in sel)
            by_u = sum(r["ratio"] >= warn_limit for r in sel)
            frac = flagged / len(sel) if sel else None
            out[f"{side}_{by}"] = {"n": len(sel), "flagged": flagged, "fraction": frac}
            shown = by if by != "either" else "Gauge or band" if side == "worse" else "both"
            line = (f"| {side} | {shown} | {len(sel)} | {flagged} ({_pct(frac)}) | {fail} "
                    f"| {domain} | {by_u} |")  # fmt: skip
            if checked:
                n_checked = sum(r["checked_flag"] != "ok" for r in sel)
                frac_checked = n_checked / len(sel) if sel else None
                out[f"{side}_{by}"].update(checked=n_checked, checked_fraction=frac_checked)
                line += f" {n_checked} ({_pct(frac_checked)}) |"
            if default:
                n_default = sum(r["default_flag"] != "ok" for r in sel)
                frac_default = n_default / len(sel) if sel else None
                out[f"{side}_{by}"].update(default=n_default, default_fraction=frac_default)
                line += f" {n_default} ({_pct(frac_default)}) |"
            lines.append(line)
    return lines, out


def _worse(row: dict, fn) -> bool:
    a, b = fn(row["metrics"]["ungated"]), fn(row["metrics"]["h0"])
    return a is not None and b is not None and a > b


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"
