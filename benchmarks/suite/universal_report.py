"""Markdown tables of the universal model's part of the benchmark (:mod:`suite.universal`),
from its results only, and the goals of issue 22 against them."""

from __future__ import annotations

import numpy as np

from nextham.evaluate import ghost_text

GAUGE_GOAL, OOD_GOAL, BAND_MEDIAN_GOAL = 0.2, 0.5, 20.0


def _f(x, fmt: str = ".3g") -> str:
    return "–" if x is None else format(x, fmt)


def _ratio(a, b) -> str:
    return "–" if a is None or not b else f"{a / b:.2f}"


def band_stats(structures: dict, key: str, field: str = "band") -> dict:
    """Mean, median and count of the per-structure band MAE of ``key`` (meV): ``field``
    ``"band"`` (μ*-shifted) or ``"band_aligned"`` (each spectrum from its own VBM / E_F)."""
    vals = [s[key][field] for s in structures.values() if s[key].get(field) is not None]
    if not vals:
        return {"mean": None, "median": None, "n": 0}
    return {"mean": float(np.mean(vals)), "median": float(np.median(vals)), "n": len(vals)}


def summary_table(ev: dict, deeptb: dict | None = None) -> list[str]:
    """H0, the universal model and (when run) DeePTB-E3 on one split."""
    s, per = ev["summary"], ev["structures"]
    h0 = s["zero_correction"]["gauge_mae"]["overall"]["mae_meV"]
    lines = ["| model | Gauge MAE (meV) | × H0 | band MAE mean (meV) | band MAE median "
             "| aligned at VBM / E_F: mean | median | ghost states (μ* / aligned) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for label, key in (("H0 alone", "zero_correction"), ("nextham universal", "model")):
        g = s[key]["gauge_mae"]["overall"]["mae_meV"]
        lines.append(f"| {label} | {_f(g, '.4g')} | {_ratio(g, h0)} | {_bands(per, key)} "
                     f"| {ghost_text(s[key]['ghost_states'])} |")  # fmt: skip
    if deeptb is not None:
        d = deeptb["summary"]["model"]
        g = d["gauge_mae"]["overall"]["mae_meV"]
        lines.append(f"| DeePTB-E3 (same training split) | {_f(g, '.4g')} | {_ratio(g, h0)} "
                     f"| {_bands(deeptb['structures'], 'model')} "
                     f"| {ghost_text(d['ghost_states'])} |")  # fmt: skip
    return lines


def _bands(structures: dict, key: str) -> str:
    """Mean | median of the per-structure band MAE, μ*-shifted and aligned (table cells)."""
    b, a = band_stats(structures, key), band_stats(structures, key, "band_aligned")
    return " | ".join(_f(x, ".1f") for x in (b["mean"], b["median"], a["mean"], a["median"]))


def group_table(ev: dict, by: str) -> list[str]:
    """One row per group (block, element or prototype): Gauge and band MAE, model vs H0."""
    lines = [f"| {by} | structures | Gauge MAE model | Gauge MAE H0 | × H0 | band MAE model "
             "| band MAE H0 | ghosts model |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for group, s in ev["by"][by].items():
        m, h = s["model"], s["zero_correction"]
        gm, gh = m["gauge_mae"]["overall"]["mae_meV"], h["gauge_mae"]["overall"]["mae_meV"]
        lines.append(f"| {group} | {m['n_structures']} | {_f(gm, '.4g')} | {_f(gh, '.4g')} "
                     f"| {_ratio(gm, gh)} | {_f(m['bands']['mae_meV'], '.1f')} "
                     f"| {_f(h['bands']['mae_meV'], '.1f')} "
                     f"| {m['ghost_states']['total']} |")  # fmt: skip
    return lines


def worst_table(ev: dict, n: int = 10) -> list[str]:
    """The ``n`` structures with the largest band MAE of the model."""
    rows = [(s["model"]["band"], name, s) for name, s in ev["structures"].items()
            if s["model"]["band"] is not None]  # fmt: skip
    lines = ["| structure | band MAE model (meV) | band MAE H0 | aligned model | aligned H0 "
             "| Gauge MAE model | Gauge MAE H0 |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for band, name, s in sorted(rows, key=lambda r: -r[0])[:n]:
        m, h = s["model"], s["zero_correction"]
        lines.append(f"| {name} | {band:.1f} | {_f(h['band'], '.1f')} "
                     f"| {_f(m.get('band_aligned'), '.1f')} | {_f(h.get('band_aligned'), '.1f')} "
                     f"| {_f(m['gauge'], '.3g')} | {_f(h['gauge'], '.3g')} |")  # fmt: skip
    return lines


def old_set_table(old: dict, universal: dict, bases: dict) -> list[str]:
    """The old small model and the universal model on the old model's splits, each against
    the SCF and the H0 of its own basis."""
    lines = ["| split | model (basis) | Gauge MAE | × its H0 | band MAE | its H0's band MAE "
             "| ghosts |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for split in ("test", "ood"):
        for label, ev in ((f"old small model ({bases['old']})", old.get(split)),
                          (f"universal ({bases['universal']})", universal.get(split))):  # fmt: skip
            if ev is None:
                continue
            s = ev["summary"]
            g = s["model"]["gauge_mae"]["overall"]["mae_meV"]
            h0 = s["zero_correction"]["gauge_mae"]["overall"]["mae_meV"]
            lines.append(f"| {split} ({len(ev['names'])}) | {label} | {_f(g, '.4g')} "
                         f"| {_ratio(g, h0)} | {_f(s['model']['bands']['mae_meV'], '.1f')} "
                         f"| {_f(s['zero_correction']['bands']['mae_meV'], '.1f')} "
                         f"| {s['model']['ghost_states']['total']} |")  # fmt: skip
    return lines


def goals(u: dict) -> list[str]:
    """Issue 22's acceptance numbers against this run."""
    test, ood = u["eval"]["test"], u["eval"]["ood"]

    def ratio(s: dict) -> float | None:
        g, h = (s[k]["gauge_mae"]["overall"]["mae_meV"] for k in ("model", "zero_correction"))
        return None if g is None or not h else g / h

    blocks = ", ".join(f"{b} {_f(ratio(s), '.2f')}" for b, s in test["by"]["block"].items())
    band = band_stats(test["structures"], "model")
    aligned = band_stats(test["structures"], "model", "band_aligned")
    return [
        f"- universal / H0 Gauge MAE on the test split: {_f(ratio(test['summary']), '.3f')} "
        f"(goal ≤ {GAUGE_GOAL}); per block: {blocks} (goal ≤ {GAUGE_GOAL} for s, p and d)",
        f"- band MAE on the test split: median {_f(band['median'], '.1f')} meV over "
        f"{band['n']} structures (goal ≤ {BAND_MEDIAN_GOAL:g}), mean {_f(band['mean'], '.1f')}; "
        f"aligned at each spectrum's VBM / E_F: median {_f(aligned['median'], '.1f')}, mean "
        f"{_f(aligned['mean'], '.1f')}",
        f"- ghost states on the test split: {test['summary']['model']['ghost_states']['total']} "
        "(goal 0); on the aligned spectra: "
        f"{test['summary']['model']['ghost_states'].get('total_aligned', '-')}",
        f"- unseen compositions: universal / H0 Gauge MAE {_f(ratio(ood['summary']), '.3f')} "
        f"(goal ≤ {OOD_GOAL})",
    ]


def section(u: dict, stamp: str) -> list[str]:
    """The report's section on the universal model (``u``: run.py's ``results["universal"]``)."""
    test, ood = u["eval"]["test"], u["eval"]["ood"]
    dp = u.get("deeptb") or {}
    lines = [
        "## The universal model",
        "",
        f"Model `{u['model']}` on the campaign `{u['data']}` ({len(u['shards'])} shard "
        "datasets, `benchmarks/universal_dataset.sh`); band MAE per structure in the band "
        "window (VBM − 2 … CBM + 2 eV for insulators, E_F ± 2 eV for metals), meV.",
        "",
        f"### Test split ({len(test['names'])} structures)",
        "",
        *summary_table(test, dp.get("test")),
        "",
        *group_table(test, "block"),
        "",
        "Worst ten by band MAE:",
        "",
        *worst_table(test),
        "",
        *group_table(test, "prototype"),
        "",
        f"### Unseen compositions ({len(ood['names'])} structures: binaries whose element pair "
        "never occurs in training)",
        "",
        *summary_table(ood, dp.get("ood")),
        "",
        "### Per element (test split)",
        "",
        *group_table(test, "element"),
        "",
    ]
    if "old_set" in u:
        lines += [
            "### The old small model's structures",
            "",
            f"The old model ({u['bases']['old']}, trained on the scalar set of this run) and the "
            "universal model on the old model's test and held-out-element splits; the universal "
            "model's "
            f"labels are the same structures computed with its settings "
            f"(`nextham generate {' '.join(u['old_data']['options'])}`).",
            "",
            *old_set_table(u.get("old_eval", {}), u["old_set"], u["bases"]),
            "",
        ]
    return [*lines, f"_{stamp}._", "", "### Goals (issue 22)", "", *goals(u), ""]
