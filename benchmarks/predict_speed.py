"""Predict time (engine S + H0, no SCF, plus the model) next to a full SCF of the same cell.

Cells are Si diamond supercells (2, 8, 16, 64 atoms by default), slightly rattled, computed with
the engine settings of the model (default: the shipped model). "predict" is what ``nextham
predict`` does: S, H0 (multigrid build where it applies, see nextham/dft/gridfock.py) and the
model. The SCF column is PySCF's ``kernel`` from the SAD guess with the same settings (cell
build included) — the engine's SCF, which made the training data, i.e. what a user would run
instead. ``--multigrid-scf`` adds the same SCF with PySCF's multigrid integration
(``mf.multigrid_numint()``), the fastest SCF PySCF offers for these cells. Prints a table;
``--json`` also writes the numbers; ``--scf-json`` reuses the SCF columns of such a file (same
cells, model and settings: they do not depend on the predict path) so that a change to predict
is re-timed without repeating the SCFs.

    python benchmarks/predict_speed.py [--model M] [--sizes 2,8,16,64] [--multigrid-scf]
                                       [--json out.json] [--scf-json earlier.json]
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

from nextham.conventions import HARTREE_EV
from nextham.record import keys as K


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
            "h0_method": pred.record[K.META]["h0_method"],
            "flag": pred.reliability.get("flag")}  # fmt: skip


def time_scf(settings, atoms: Atoms, multigrid: bool = False) -> dict:
    """Wall time and cycles of the engine's SCF from SAD (``multigrid``: PySCF's multigrid)."""
    from nextham.dft.cell import build_cell
    from nextham.dft.engine import make_mf

    t0 = time.perf_counter()
    mf = make_mf(build_cell(atoms, settings), settings)
    if multigrid:
        mf = mf.multigrid_numint()
    mf.kernel()
    key = "mg_scf" if multigrid else "scf"
    return {f"{key}_s": time.perf_counter() - t0, f"{key}_cycles": int(getattr(mf, "cycles", -1)),
            f"{key}_energy_ev": float(mf.e_tot) * HARTREE_EV}  # fmt: skip


def main() -> None:
    from nextham.predict import Predictor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--sizes", default="2,8,16,64")
    ap.add_argument("--json", default=None)
    ap.add_argument("--multigrid-scf", action="store_true", help="also time a multigrid SCF")
    ap.add_argument("--scf-json", default=None, help="reuse SCF columns of an earlier --json")
    args = ap.parse_args()
    predictor = Predictor.from_file(args.model)
    predictor.verify = "never"  # the prediction's own time (the check: verify_cost.py)
    earlier = {}
    if args.scf_json:
        with open(args.scf_json) as f:
            earlier = {r["atoms"]: r for r in json.load(f)}
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        atoms = si_cell(n)
        row = {"atoms": n, **time_predict(predictor, atoms)}
        old = earlier.get(n, {})
        row.update({k: v for k, v in old.items() if k.startswith(("scf_", "mg_scf_"))})
        if "scf_s" not in row:
            row.update(time_scf(predictor.settings, atoms))
        if args.multigrid_scf and "mg_scf_s" not in row:
            row.update(time_scf(predictor.settings, atoms, multigrid=True))
        if "mg_scf_s" in row:
            row["mg_speedup"] = row["mg_scf_s"] / row["predict_s"]
        row["speedup"] = row["scf_s"] / row["predict_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {date.today()}")
    print(f"settings: {predictor.settings.to_dict()}")
    mg = all("mg_scf_s" in r for r in rows)
    head = "| atoms | H0 build s | model s | predict s | SCF s (cycles) | SCF / predict |"
    print(head + (" multigrid SCF s (cycles) | multigrid SCF / predict |" if mg else ""))
    print("|---" * (8 if mg else 6) + "|")
    for r in rows:
        line = (f"| {r['atoms']} | {r['h0_s']:.2f} | {r['model_s']:.3f} | {r['predict_s']:.2f} | "
                f"{r['scf_s']:.1f} ({r['scf_cycles']}) | {r['speedup']:.1f}× |")  # fmt: skip
        if mg:
            line += f" {r['mg_scf_s']:.1f} ({r['mg_scf_cycles']}) | {r['mg_speedup']:.1f}× |"
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
