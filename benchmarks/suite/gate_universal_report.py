"""Markdown report of benchmarks/gate_universal.py, written from its results only."""

from __future__ import annotations

import csv
from pathlib import Path

from suite.gate_report import write_report

TITLES = {
    "test": "In distribution: the test split",
    "element": "Held-out elements: structures with an element never in training",
    "ood": "Held-out compositions: element pairs never in training",
    "prototype": "Held-out prototypes: NiAs-type AB and 1T MX₂ of training compositions",
}


def training_seconds(model: str) -> float | None:
    """Wall time of a member's training: the sum of ``time_s`` of its ``metrics.csv``."""
    path = Path(model).parent / "metrics.csv"
    if not path.is_file():
        return None
    with open(path) as f:
        return sum(float(r["time_s"]) for r in csv.DictReader(f))


def _setup(results: dict) -> list[str]:
    secs = [training_seconds(m) for m in results["members"]]
    spent = "; ".join(f"{s / 60:.0f} min" if s is not None else "–" for s in secs)
    held = results["heldout"]
    return [
        f"- {len(results['members'])} universal models of one config (elements held out of "
        f"training: {', '.join(results.get('holdout_elements') or ['none'])}; "
        f"{results['epochs']} epochs, seeds 0…{len(results['members']) - 1}, "
        f"same data split; training wall time per member: {spent}), joined by "
        "`nextham committee`: " + ", ".join(f"`{m}`" for m in results["members"]) + ".",
        "- Data: the campaign's shards "
        + ", ".join(f"`{p}`" for p in results["datasets"].values())
        + " (benchmarks/universal_dataset.sh; gth-szv-molopt-sr, k-spacing 1.2 Å⁻¹).",
        f"- Held-out prototypes: {held['data']['n_structures']} cells in `{held['data']['path']}`"
        " (`benchmarks/suite/heldout_prototypes.py`: bond length from the composition's training "
        "structure; "
        + ", ".join(f"{k} from {v}" for k, v in held["prototypes"].items())
        + ")"
        + (
            f"; skipped, their composition's training structure not in the training split: "
            f"{', '.join(held['skipped'])}."
            if held.get("skipped")
            else "."
        )
        + "".join(
            f" Not labelled: {n} ({cause.split(';')[0]})."
            for n, cause in held["data"].get("failed", {}).items()
        ),
        "- Gauge MAE over every H(R) entry; band MAE within the band window of the reference on a "
        f"{'×'.join(map(str, results['kmesh']))} Γ-centred mesh (docs/losses.md).",
    ]


def write_universal_report(results: dict, path: Path) -> None:
    """The tables of a universal gate benchmark run as Markdown."""
    write_report(
        path,
        "Benchmark: the universal committee, its gate and its flag",
        results,
        "benchmarks/gate_universal.py",
        _setup(results),
        TITLES,
    )
