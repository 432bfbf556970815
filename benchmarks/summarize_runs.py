"""Print a markdown table from the ``*.eval.json`` files that ``nextham evaluate`` wrote.

    python benchmarks/summarize_runs.py runs/*/model.eval.json

One row per model, plus the baselines of the first file (all files must share the dataset/split).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(name: str, summary: dict) -> str:
    g = summary["gauge_mae"]["overall"]["mae_meV"]
    b = summary["bands"]["mae_meV"]
    ghosts = summary["ghost_states"]["total"]
    band = f"{b:.1f}" if b is not None else "-"
    return f"| {name} | {g:.3f} | {band} | {ghosts} |"


def main(paths: list[str]) -> None:
    reports = [(Path(p), json.loads(Path(p).read_text())) for p in paths]
    first = reports[0][1]
    n = first["summary"]["model"]["n_structures"]
    where = f"{first['dataset']}, split {first['split']}"
    print(f"{where} ({n} structures), {first['n_kpts']} k-points")
    print()
    print("| model | Gauge MAE (meV) | band MAE E_F ± 2 eV (meV) | ghost states |")
    print("|---|---|---|---|")
    print(row("zero Hamiltonian", first["summary"]["zero_hamiltonian"]))
    print(row("H0 (zero correction)", first["summary"]["zero_correction"]))
    for path, rep in reports:
        print(row(path.parent.name, rep["summary"]["model"]))


if __name__ == "__main__":
    main(sys.argv[1:])
