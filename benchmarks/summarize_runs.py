"""Print a markdown table from the JSON reports that ``nextham evaluate --json`` wrote.

    python benchmarks/summarize_runs.py runs/*/eval-test.json

One row per report (named by its folder), plus the baselines (zero Hamiltonian, H0) of the
first report (the reports should share the dataset and split). Columns: Gauge MAE pooled over
entries (× H0's); band MAE pooled over the bands in the window; over structures, the median
and mean of each structure's band MAE after the Gauge μ* and aligned at its own VBM / E_F
(docs/training.md, metrics); structures whose aligned band MAE exceeds H0's; ghost states after
μ* / aligned (the aligned count where the reports have it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from nextham.evaluate import ghost_text


def _f(x, fmt: str = ".1f") -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)


def per_structure(report: dict, key: str, field: str) -> np.ndarray:
    """The band MAE ``field`` (``mae_meV`` or ``mae_aligned_meV``) of ``key`` per structure."""
    vals = [s[key]["bands"].get(field) for s in report.get("structures", {}).values()]
    return np.array([np.nan if v is None else v for v in vals], dtype=float)


def row(name: str, report: dict, key: str) -> str:
    s, h0 = report["summary"][key], report["summary"]["zero_correction"]
    g, g0 = s["gauge_mae"]["overall"]["mae_meV"], h0["gauge_mae"]["overall"]["mae_meV"]
    cells = [f"{g:.3f} ({g / g0:.2f})" if g0 else f"{g:.3f}", _f(s["bands"]["mae_meV"])]
    for field in ("mae_meV", "mae_aligned_meV"):
        v = per_structure(report, key, field)
        ok = v[~np.isnan(v)]
        cells.append(f"{_f(float(np.median(ok)))} / {_f(float(np.mean(ok)))}" if ok.size else "-")
    mine = per_structure(report, key, "mae_aligned_meV")
    theirs = per_structure(report, "zero_correction", "mae_aligned_meV")
    cells.append(str(int(np.sum(mine > theirs))))
    cells.append(ghost_text(s["ghost_states"]))
    return f"| {name} | " + " | ".join(cells) + " |"


def main(paths: list[str]) -> None:
    reports = [(Path(p), json.loads(Path(p).read_text())) for p in paths]
    first = reports[0][1]
    n = first["summary"]["model"]["n_structures"]
    print(
        f"{first['dataset']}, split {first['split']} ({n} structures), {first['n_kpts']} k-points"
    )
    print()
    print("| model | Gauge MAE meV (× H0) | band MAE pooled | per structure median / mean "
          "| aligned median / mean | aligned worse than H0 "
          "| ghost states (μ* / aligned) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    print(row("zero Hamiltonian", first, "zero_hamiltonian"))
    print(row("H0 (zero correction)", first, "zero_correction"))
    for path, rep in reports:
        print(row(path.parent.name, rep, "model"))


if __name__ == "__main__":
    main(sys.argv[1:])
