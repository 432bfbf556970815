"""Markdown report of a benchmark run, written from its results only (no typed numbers)."""

from __future__ import annotations

from pathlib import Path

from nextham.store.atomic import atomic_output
from suite.universal_report import section as universal_section

ROWS = [
    ("zero Hamiltonian", "nextham", "zero_hamiltonian"),
    ("H0 alone (no correction)", "nextham", "zero_correction"),
    ("nextham", "nextham", "model"),
    ("nextham without k-space loss", "no_kspace", "model"),
    ("nextham without TraceGrad", "no_tracegrad", "model"),
    ("nextham without H0 input (distance/element only)", "no_h0_input", "model"),
    ("DeePTB-E3 (dptb 2.2.1)", "deeptb", "model"),
]
SPIN_BLOCKS = ["uu_dd_real", "uu_dd_imag", "ud_du_real", "ud_du_imag"]


def _f(x, fmt: str = ".3g") -> str:
    return "–" if x is None else format(x, fmt)


def _metrics_row(label: str, s: dict, train_s=None, predict_s=None) -> str:
    g, b, gh = s["gauge_mae"]["overall"]["mae_meV"], s["bands"]["mae_meV"], s["ghost_states"]
    lv = s.get("unmatched_levels", {}).get("per_structure_mean")
    return (
        f"| {label} | {_f(g, '.4g')} | {_f(b, '.4g')} | {gh['per_structure_mean']:.2f} "
        f"| {_f(lv, '.2f')} | {_f(train_s, '.0f')} | {_f(predict_s, '.3f')} |"
    )


def metrics_table(results: dict, split: str) -> list[str]:
    """Gauge MAE, band MAE, ghosts, train and predict time of every model on one split."""
    lines = [
        "| model | Gauge MAE (meV) | band MAE E_F ± 2 eV (meV) | ghost states per structure "
        "| levels > 0.1 eV off per structure | train (s) | model time per structure (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, variant, key in ROWS:
        ev = results["eval"].get(variant, {}).get(split)
        if ev is None or key not in ev["summary"]:
            continue
        is_model = key == "model"
        train_s = results["train"].get(variant, {}).get("train_s") if is_model else None
        predict_s = ev.get("predict_s") if is_model else None
        lines.append(_metrics_row(label, ev["summary"][key], train_s, predict_s))
    return lines


def soc_table(ev: dict) -> list[str]:
    """H0 and the spin–orbit model on one split: Gauge MAE (all entries and per spin block),
    band MAE, ghosts and the error of the spin–orbit splitting at Γ."""
    dso_errors = ev.get("so_splitting") or {}
    n_split = len(dso_errors.get("rows", []))
    lines = ["| model | Gauge MAE | " + " | ".join(SPIN_BLOCKS) + " | band MAE | ghosts "
             f"| Δ_SO at Γ error, mean of {n_split} (within 10 meV) |",
             "|---|---|" + "---|" * len(SPIN_BLOCKS) + "---|---|---|"]  # fmt: skip
    for label, key in (("H0 alone", "zero_correction"), ("nextham", "model")):
        s = ev["summary"][key]
        spin = s["gauge_mae"].get("spin", {})
        cells = [_f(spin.get(b, {}).get("mae_meV"), ".3g") for b in SPIN_BLOCKS]
        overall, bands = s["gauge_mae"]["overall"]["mae_meV"], s["bands"]["mae_meV"]
        who = "h0" if key == "zero_correction" else "model"
        dso = "–"
        if n_split:
            mean, within = dso_errors[f"mean_{who}_meV"], dso_errors[f"{who}_within_10meV"]
            dso = f"{mean:.1f} ({within})"
        cells = [_f(overall, ".4g"), *cells, _f(bands, ".4g"), str(s["ghost_states"]["total"]), dso]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def so_splitting_rows(ev: dict) -> list[str]:
    """Per cell: the SCF's Δ_SO and the errors of H0's and the model's (meV)."""
    lines = ["| cell | Δ_SO of the SCF (eV) | H0 error | nextham error |", "|---|---|---|---|"]
    for r in (ev.get("so_splitting") or {}).get("rows", []):
        lines.append(f"| {r['name']} | {r['scf_ev']:.3f} | {r['h0_meV']:.1f} | "
                     f"{r['model_meV']:.1f} |")  # fmt: skip
    return lines


def stamped(results: dict, table: list[str]) -> list[str]:
    """A table followed by the run's date and machine."""
    return [*table, "", f"_{results['date']}, {results['machine']}._"]


def soc_ideal_section(r: dict) -> list[str]:
    """The spin–orbit model on the ideal cells (absent when the recipe has none)."""
    ev = r["eval"]["soc"].get("ideal")
    if ev is None:
        return []
    return [f"## Spin–orbit set: ideal zincblende cells ({len(ev['names'])} structures; meV)",
            "",
            "No strain, no rattle: the valence top at Γ is a true Γ8 / Γ7 pair, so Δ_SO is the "
            "j = 3/2 / 1/2 splitting, not the strain's. Cells of the held-out pairs "
            f"({', '.join(r['recipe']['soc_holdout_pairs'])}) were never trained on; the others "
            "are unseen copies of trained compositions.",
            "",
            *stamped(r, [*soc_table(ev), "", *so_splitting_rows(ev)]), ""]  # fmt: skip


def soc_note(recipe: dict) -> list[str]:
    """What the H0 of the spin–orbit set (GTH path) contains, hence what the columns mean, and
    where the spin–orbit model starts (``recipe["soc_init"]``)."""
    start = ("from scratch on the labels' scalar part"
             if recipe.get("soc_init") is None else
             "on the labels' scalar part, starting from the shipped universal model (its first "
             "member, k-space loss; docs/training.md, `init_from`)")  # fmt: skip
    return ["H0 of this set holds the GTH spin–orbit projectors in the model's own basis "
            "(H0 = H0_scalar ⊗ I₂ + V_SO, docs/engine.md). For these non-magnetic semi-local "
            f"labels ΔH is spin-diagonal and real, so the model is a scalar one, trained {start}, "
            "and predicts H0 + ΔH ⊗ I₂ (docs/predict.md); the ↑↓ and "
            "imaginary columns show that it adds nothing there. Δ_SO: E(Γ8) − E(Γ7) at Γ on "
            "the zincblende and diamond cells, the levels chosen on each spectrum (SCF, H0, "
            "model) — by degeneracy in a symmetric cell, passing over an s-like Γ6 between Γ8 "
            "and Γ7 (band inversion), else the top four valence levels and the next two "
            "(`suite.spin_orbit`).",
            ""]  # fmt: skip


def speed_table(results: dict) -> list[str]:
    """Predict time per structure (engine S + H0, then the model) next to the SCF time."""
    data, ev = results["data"]["scalar"], results["eval"]["nextham"]["test"]
    h0, scf, model = data["h0_s_mean"], data["scf_s_mean"], ev["predict_s"]
    return [
        "| atoms (mean) | S + H0 (s) | model (s) | predict total (s) | SCF (s) | SCF / predict |",
        "|---|---|---|---|---|---|",
        f"| {data['natoms_mean']:.1f} | {h0:.2f} | {model:.3f} | {h0 + model:.2f} | {scf:.2f} "
        f"| {scf / (h0 + model):.1f} |",
    ]


def scaling_table(sc: dict) -> list[str]:
    """Forward time and peak memory against the number of atoms, fitted exponents."""
    lines = ["| atoms | pairs | forward (s) | CPU time (s) | peak memory (MiB) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in sc["rows"]:
        lines.append(f"| {r['atoms']} | {r['edges']} | {r['forward_s']:.3f} | "
                     f"{r['cpu_s']:.3f} | {r['peak_mib']:.1f} |")  # fmt: skip
    e = sc["exponent"]
    lines.append("")
    lines.append(f"Fitted exponent (last three sizes): time {_f(e['forward_s'], '.2f')}, "
                 f"memory {_f(e['peak_mib'], '.2f')}.")  # fmt: skip
    return lines


def goals(results: dict) -> list[str]:
    """The stated goals against the test-split numbers of this run."""
    test = {v: results["eval"].get(v, {}).get("test") for v in ("nextham", "deeptb")}
    s = test["nextham"]["summary"]
    ours = s["model"]["gauge_mae"]["overall"]["mae_meV"]
    h0 = s["zero_correction"]["gauge_mae"]["overall"]["mae_meV"]
    lines = [f"- nextham / H0 Gauge MAE: {ours / h0:.3f} (goal ≤ 0.25)",
             f"- ghost states of nextham on the test split: {s['model']['ghost_states']['total']} "
             "(goal 0)"]  # fmt: skip
    if test["deeptb"] is not None:
        dp = test["deeptb"]["summary"]["model"]["gauge_mae"]["overall"]["mae_meV"]
        lines.insert(1, f"- nextham / DeePTB-E3 Gauge MAE: {ours / dp:.3f} (goal ≤ 0.5)")
    else:
        lines.insert(1, "- DeePTB-E3 was not run in this report (`--no-deeptb`)")
    for split, ev in results["eval"].get("soc", {}).items():
        lines.append(_soc_goal(split, ev))
    return lines


def _soc_goal(split: str, ev: dict) -> str:
    """Band MAE of the spin–orbit model against H0's and against 30 meV, ghosts, Δ_SO."""
    s = ev["summary"]
    ours, h0 = s["model"]["bands"]["mae_meV"], s["zero_correction"]["bands"]["mae_meV"]
    dso = ev.get("so_splitting") or {"rows": [], "model_within_10meV": 0}
    ratio = "–" if not (ours and h0) else f"{ours / h0:.2f}"
    return (f"- spin–orbit {split}: band MAE {_f(ours, '.1f')} meV, {ratio} × H0's (goals "
            f"≤ 30 meV and ≤ 0.5); ghost states {s['model']['ghost_states']['total']} (goal 0); "
            f"Δ_SO at Γ within 10 meV of the SCF: {dso['model_within_10meV']} of "
            f"{len(dso['rows'])}")  # fmt: skip


def write_report(results: dict, path: Path) -> None:
    """Write the Markdown report atomically."""
    r = results
    data = r["data"]

    lines = [
        "# Benchmark: nextham against the baselines",
        "",
        f"Generated by `{r['command']}` on {r['date']}; machine: {r['machine']}. "
        "Every number below comes from that run (`benchmarks/run.py`); do not edit by hand.",
        "",
        "## Data",
        "",
        f"- scalar set `{data['scalar']['path']}`: {data['scalar']['n_structures']} structures "
        f"(`nextham generate {' '.join(data['scalar']['options'])}`); held out of training: "
        f"{', '.join(r['recipe']['holdout'])} (the out-of-distribution subset); the rest split "
        f"{tuple(r['recipe']['split'])} by structure, seed {r['recipe']['seed']}.",
        f"- spin–orbit set `{data['soc']['path']}`: {data['soc']['n_structures']} structures "
        f"(`nextham generate {' '.join(data['soc']['options'])}`).",
        *(
            [
                f"- its ideal cells `{data['soc_ideal']['path']}`: "
                f"{data['soc_ideal']['n_structures']} structures (`nextham generate "
                f"{' '.join(data['soc_ideal']['options'])}`)."
            ]
            if "soc_ideal" in data
            else []
        ),
        f"- band MAE and ghost states on a {'×'.join(map(str, r['recipe']['eval_kmesh']))} "
        "Γ-centred k-mesh. A ghost state is a spurious level: at each k, a predicted level in "
        "E_F ± 2 eV in excess of the reference levels in E_F ± 2.5 eV (shifted bands keep the "
        'count; their error is the band MAE). "Levels > 0.1 eV off" is the stricter count '
        "of predicted levels in the window farther than 0.1 eV from every reference level: "
        "band errors and ghosts alike (docs/losses.md).",
        "",
        f"## Test split ({len(r['eval']['nextham']['test']['names'])} structures)",
        "",
        *stamped(r, metrics_table(r, "test")),
        "",
        f"## Out of distribution: structures with {', '.join(r['recipe']['holdout'])} "
        f"({len(r['eval']['nextham']['ood']['names'])} structures)",
        "",
        *stamped(r, metrics_table(r, "ood")),
        "",
        f"## Spin–orbit set: test split ({len(r['eval']['soc']['test']['names'])} structures; meV)",
        "",
        *stamped(r, soc_table(r["eval"]["soc"]["test"])),
        "",
        f"## Spin–orbit set: held-out element pairs {', '.join(r['recipe']['soc_holdout_pairs'])} "
        f"({len(r['eval']['soc']['ood']['names'])} structures; meV)",
        "",
        *stamped(r, soc_table(r["eval"]["soc"]["ood"])),
        "",
        *soc_ideal_section(r),
        *soc_note(r["recipe"]),
        "DeePTB has no spin–orbit E3 model, so it is compared on the scalar set only.",
        "",
        "## Predict time per structure next to the SCF (scalar test set, engine timings)",
        "",
        *stamped(r, speed_table(r)),
        "",
        "S + H0 is the dataset's reference (FFT) build, timed when the data were generated; "
        "`nextham predict` builds the same H0 by multigrid integration, several times faster "
        "(docs/default-model.md, `benchmarks/predict_speed.py`).",
        "",
        "## Model cost against system size (Si supercells, CPU, the trained nextham model)",
        "",
        *stamped(r, scaling_table(r["scaling"])),
        "",
        "## Goals",
        "",
        *goals(r),
        "",
        *(
            universal_section(r["universal"], f"{r['date']}, {r['machine']}")
            if "universal" in r
            else []
        ),
        "## The calibrated committee, its gate and its flag",
        "",
        "Out-of-distribution tables of the gated committee against the ungated one and H0 (the "
        "held-out element and a held-out prototype), the gate's in-distribution cost and the "
        "flag against the outcome are written by `benchmarks/gate.py` to "
        "[gate-benchmark.md](gate-benchmark.md).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines))
