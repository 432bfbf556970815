"""Predict time (engine S + H0, no SCF, plus the model) next to a full SCF of the same cell.

Cells are Si diamond supercells (2, 8, 16, 64 atoms by default), slightly rattled, computed with
the engine settings of the model (default: the shipped model). The SCF column is PySCF's
``kernel`` from the SAD guess with the same settings (cell build included), i.e. what a user
would run instead. Prints a table; ``--json`` also writes the numbers.

    python benchmarks/predict_speed.py [--model M] [--sizes 2,8,16,64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date

import numpy as np
from ase import Atoms
from ase.build import bulk


def si_cell(n_atoms: int, seed: int = 0) -> Atoms:
    """Si diamond cell with ``n_atoms`` (2: primitive; 8·m: cubic repeated), rattled 0.02 Å."""
    if n_atoms == 2:
        atoms = bulk("Si", "diamond", a=5.43)
    else:
        reps = {8: (1, 1, 1), 16: (2, 1, 1), 32: (2, 2, 1), 64: (2, 2, 2)}[n_atoms]
        atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(reps)
    atoms.positions += np.random.default_rng(seed).normal(0, 0.02, atoms.positions.shape)
    return atoms


def time_predict(predictor, atoms: Atoms) -> dict:
    t0 = time.perf_counter()
    pred = predictor.predict(atoms, f"Si{len(atoms)}")
    return {"predict_s": time.perf_counter() - t0, **pred.times,
            "flag": pred.reliability.get("flag")}  # fmt: skip


def time_scf(settings, atoms: Atoms) -> dict:
    from nextham.dft.cell import build_cell
    from nextham.dft.engine import make_mf

    t0 = time.perf_counter()
    mf = make_mf(build_cell(atoms, settings), settings)
    mf.kernel()
    return {"scf_s": time.perf_counter() - t0, "scf_cycles": int(getattr(mf, "cycles", -1))}


def main() -> None:
    from nextham.predict import Predictor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--sizes", default="2,8,16,64")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    predictor = Predictor.from_file(args.model)
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        atoms = si_cell(n)
        row = {"atoms": n, **time_predict(predictor, atoms), **time_scf(predictor.settings, atoms)}
        row["speedup"] = row["scf_s"] / row["predict_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {date.today()}")
    print(f"settings: {predictor.settings.to_dict()}")
    print("| atoms | H0 build s | model s | predict s | SCF s (cycles) | SCF / predict |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['atoms']} | {r['h0_s']:.2f} | {r['model_s']:.3f} | {r['predict_s']:.2f} | "
              f"{r['scf_s']:.1f} ({r['scf_cycles']}) | {r['speedup']:.1f}× |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
