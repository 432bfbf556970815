"""Output shared by several subcommands (a helper, not a command)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nextham.generate.cost import hours
from nextham.store.atomic import atomic_output
from nextham.store.card import dataset_card, merged_card
from nextham.store.dataset import Dataset
from nextham.store.summary import dataset_summary


def print_summary(ds: Dataset, entries: bool = False) -> None:
    """The dataset's summary table, optionally one row per entry, and its failures."""
    table = Table(title=f"dataset {ds.path}", show_header=False)
    for key, value in dataset_summary(ds).items():
        table.add_row(key, f"{value:.3g}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(table)
    if entries:
        t = Table("name", "atoms", "pairs", "SCF cycles", "H0 s", "SCF s", "round-trip meV",
                  "band err meV", "min eig S(k)", "spectral")  # fmt: skip
        for name, r in ds.manifest["entries"].items():
            checks = (
                _milli(r.get("roundtrip_error_ht_ev")),
                _milli(r.get("band_error_ev")),
                _number(r.get("min_overlap_eig")),
                _verdict(r.get("spectral_passed")),
            )
            t.add_row(name, str(r["natoms"]), str(r["n_edges"]), _text(r.get("scf_cycles")),
                      _seconds(r.get("time_h0_s")), _seconds(r.get("time_scf_s")),
                      *checks)  # fmt: skip
        console.print(t)
    for name, err in ds.manifest["failed"].items():
        console.print(f"[red]failed[/red] {name}: {err.splitlines()[0]}")


def print_card(datasets: Dataset | list[Dataset], json_path: str | None = None) -> None:
    """The dataset card (:func:`nextham.store.card.dataset_card`) as tables, optionally JSON;
    of several datasets, their merged card (:func:`nextham.store.card.merged_card`)."""
    datasets = [datasets] if isinstance(datasets, Dataset) else datasets
    card = merged_card([dataset_card(ds) for ds in datasets])
    console = Console()
    if len(datasets) > 1:
        console.print(
            f"card of {len(datasets)} datasets: {', '.join(str(d.path) for d in datasets)}"
        )
    for title, key in (("element", "by_element"), ("prototype", "by_prototype")):
        t = Table(title, "structures", "finished", "failed", "atoms", "pairs", "label time",
                  title=f"per {title}")  # fmt: skip
        for name, c in card[key].items():
            t.add_row(name, *(str(c.get(k, 0)) for k in
                              ("structures", "finished", "failed", "atoms", "pairs")),
                      hours(c.get("label_s", 0.0)))  # fmt: skip
        console.print(t)
    for cause, count in card["failures_by_cause"].items():
        console.print(f"failures: {count} × {cause}")
    console.print(f"{card['finished']} of {card['structures']} finished, {card['pairs']} pairs, "
                  f"labels took {hours(card['label_s'])}")  # fmt: skip
    if json_path:
        with atomic_output(Path(json_path)) as tmp:
            Path(tmp).write_text(json.dumps(card, indent=1))


def gate_line(predictor) -> str:
    """What the model file offers: a calibrated committee (gate on or off) or neither."""
    if not predictor.has_uncertainty:
        return (f"model {predictor.path}: no uncertainty committee, so no gate; the reliability "
                "flag comes from the training-domain statistics alone")  # fmt: skip
    unc = predictor.meta["uncertainty"]
    size = predictor.meta["committee"]["size"]
    state = f"gate on (tau {unc['tau']:g})" if predictor.gate else "gate off (--no-gate)"
    return f"model {predictor.path}: committee of {size}, calibrated uncertainty, {state}"


def flag_text(report: dict) -> str:
    """The reliability flag with one reason per line ("n/a" without a report)."""
    flag = report.get("flag", "n/a")
    unc, check = report.get("uncertainty"), report.get("verification")
    if check is not None:
        back = {"h0": ", H0 returned", "raw": ", ungated"}.get(check.get("returned"), "")
        flag += f" (checked: residual {check['ratio']:.2f}× H0's{back})"
    elif isinstance(unc, dict):
        flag += f" (U {unc['ratio']:.2f}, gate keeps {100 * unc['gate_mean']:.0f}%)"
    elif unc is not None:
        flag += " (domain statistics only: no committee, no gate)"
    return flag + "".join(f"\n  {r}" for r in report.get("reasons", []))


def _text(value) -> str:
    return "-" if value is None else str(value)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _milli(value: float | None) -> str:
    return "-" if value is None else f"{1e3 * value:.3g}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else ("passed" if passed else "FAILED")
