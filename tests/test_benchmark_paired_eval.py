"""benchmarks/paired_eval.py: the shared structures and the row of a report."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from paired_eval import row, shared_names


def test_shared_names_leave_out_what_a_trained_or_validated_on():
    a = {"split": {"train": ["s/x", "s/y"], "val": ["s/z"], "test": ["s/w"]}}
    b = {"split": {"test": ["s/x", "s/w", "s/z", "s/v"], "ood": ["s/y"]}}
    assert shared_names(a, b, "test") == ["s/w", "s/v"]
    assert shared_names(a, b, "ood") == []


def _metrics(model: float, h0: float, bands: float | None = 10.0, ghosts: int = 0) -> dict:
    def one(g: float, b: float | None, n: int) -> dict:
        return {"gauge_mae": {"overall": {"mae_meV": g}}, "bands": {"mae_meV": b},
                "ghost_states": {"total": n, "count": n}}  # fmt: skip

    return {"model": one(model, bands, ghosts), "zero_correction": one(h0, 100.0, 0)}


def test_row_reports_ratios_worse_structures_and_bands():
    report = {
        "summary": _metrics(1.0, 4.0, ghosts=3),
        "by": {"block": {"p": _metrics(1.0, 2.0), "d": _metrics(3.0, 3.0)}},
        "structures": {
            "a": _metrics(1.0, 2.0, 10.0),
            "b": _metrics(3.0, 2.0, 30.0),
            "c": _metrics(1.0, 4.0, None),
        },
    }
    assert (
        row("B", report) == "| B | 1.000 (0.25) | – / 0.50 / 1.00 | 0.50 | 1 of 3 | 20 / 20 | 3 |"
    )
