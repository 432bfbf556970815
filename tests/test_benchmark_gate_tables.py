"""The flag table of the gate benchmarks: estimated and checked flags against the outcome."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from suite.gate_eval import add_default, flag_table, models, structure_table

from nextham.predict.verify import AUTO_ALWAYS_MAX_ATOMS, AUTO_MAX_ATOMS


def _m(gauge: float, band: float) -> dict:
    return {"gauge_mae": {"overall": {"mae_meV": gauge}}, "bands": {"mae_meV": band}}


def _row(name, h0, ungated, flag, checked=None, q=0.5) -> dict:
    metrics = {"h0": _m(*h0), "member": _m(*ungated), "ungated": _m(*ungated),
               "gated": _m(*ungated)}  # fmt: skip
    row = {"name": name, "metrics": metrics, "flag": flag, "domain_flag": "ok", "ratio": 0.1,
           "gate_mean": 1.0}  # fmt: skip
    if checked is not None:
        metrics["checked"] = _m(*ungated)
        row.update(checked_flag=checked, verification={"ratio": q})
    return row


def test_flag_table_counts_estimated_and_checked_flags_by_outcome():
    rows = [
        _row("a", (2.0, 50.0), (1.0, 40.0), "fail", "ok", 0.4),  # better, false alarm fixed
        _row("b", (1.0, 50.0), (3.0, 90.0), "ok", "fail", 1.3),  # worse, missed, then caught
        _row("c", (1.0, 50.0), (2.0, 40.0), "warn", "warn", 0.9),  # worse by Gauge, better by band
    ]
    assert models(rows) == ["h0", "member", "ungated", "gated", "checked"]
    lines, out = flag_table(rows, warn_limit=0.7)
    assert "checked flag" in lines[0]
    assert out["worse_Gauge MAE"] == {"n": 2, "flagged": 1, "fraction": 0.5, "checked": 2,
                                      "checked_fraction": 1.0}  # fmt: skip
    assert out["better_Gauge MAE"]["flagged"] == 1 and out["better_Gauge MAE"]["checked"] == 0
    assert out["worse_band MAE"]["n"] == 1 and out["worse_band MAE"]["checked"] == 1
    assert out["better_band MAE"] == {"n": 2, "flagged": 2, "fraction": 1.0, "checked": 1,
                                      "checked_fraction": 0.5}  # fmt: skip
    assert structure_table(rows)[4].endswith("| 0.90 | warn |")
    # either measure: b and c are worse (c by Gauge only); better by both: a alone
    assert out["worse_either"] == {"n": 2, "flagged": 1, "fraction": 0.5, "checked": 2,
                                   "checked_fraction": 1.0}  # fmt: skip
    assert out["better_either"]["n"] == 1 and out["better_either"]["checked"] == 0
    assert any(line.startswith("| worse | Gauge or band | 2 |") for line in lines)
    assert any(line.startswith("| better | both | 1 |") for line in lines)


def test_rows_without_the_check_keep_the_earlier_tables():
    rows = [_row("a", (2.0, 50.0), (1.0, 40.0), "fail")]
    assert "checked" not in models(rows)
    lines, out = flag_table(rows, warn_limit=0.7)
    assert "checked" not in lines[0] and "checked" not in out["better_Gauge MAE"]
    assert structure_table(rows)[2].endswith("| fail |")


def test_default_is_the_check_where_the_estimate_doubts_a_small_cell():
    """``predict``'s default (auto): the checked prediction and flag on the smallest cells and
    where the estimated flag says warn/fail and the cell is small; the gated one where the
    estimate is ok on a larger cell or the cell is too large for the automatic check."""
    rows = [
        _row("doubted", (2.0, 50.0), (1.0, 40.0), "fail", "ok"),
        _row("trusted", (1.0, 50.0), (3.0, 90.0), "ok", "fail"),
        _row("large", (2.0, 50.0), (1.0, 40.0), "warn", "ok"),
    ]
    rows[0]["metrics"]["checked"] = _m(0.5, 20.0)
    for r, n in zip(rows, (2, AUTO_ALWAYS_MAX_ATOMS + 1, AUTO_MAX_ATOMS + 1), strict=True):
        r["atoms"] = n
    add_default(rows)
    assert [r["default_flag"] for r in rows] == ["ok", "ok", "warn"]
    assert rows[0]["metrics"]["default"] is rows[0]["metrics"]["checked"]
    assert rows[1]["metrics"]["default"] is rows[1]["metrics"]["gated"]
    assert rows[2]["metrics"]["default"] is rows[2]["metrics"]["gated"]
    assert models(rows)[-1] == "default"
    lines, out = flag_table(rows, warn_limit=0.7)
    assert lines[0].endswith("default flag warn/fail |")
    assert out["worse_Gauge MAE"]["default"] == 0  # "trusted": worse, and the estimate missed it
    assert out["better_Gauge MAE"] == {"n": 2, "flagged": 2, "fraction": 1.0, "checked": 0,
                                       "checked_fraction": 0.0, "default": 1,
                                       "default_fraction": 0.5}  # fmt: skip
    tiny = _row("tiny", (1.0, 50.0), (3.0, 90.0), "ok", "fail")  # trusted, but small: checked
    tiny["metrics"]["checked"], tiny["atoms"] = _m(1.0, 50.0), AUTO_ALWAYS_MAX_ATOMS
    add_default([tiny])
    assert tiny["default_flag"] == "fail"
    assert tiny["metrics"]["default"] is tiny["metrics"]["checked"]
