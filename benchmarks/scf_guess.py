"""SCF cycles and wall time from PySCF's SAD guess vs from the nextham-predicted Hamiltonian.

Held-out structures: the model's test split (``split["test"]`` of its metadata) found in the
dataset's ``structures.extxyz``. Both runs use the model's engine settings (``--conv-tol-ev``
overrides the SCF energy tolerance). "SCF s" is PySCF's kernel alone; the nextham guess costs
the prediction (engine S and H0 + model) and the guess density, listed separately. The "exact
H" column starts from the dataset's own converged Hamiltonian (HT) the same way: the fewest
cycles any Hamiltonian model can reach with this guess scheme and tolerance. ``--supercell
2,2,2`` runs each held-out cell repeated so (rattled 0.02 Å, seeded) instead: larger held-out
cells, where an SCF costs more (meaningful with a k-spacing model, whose supercells converge to
the Hamiltonian of their primitive cell; no exact-H column). Prints the machine, the date and
a Markdown table.

    python benchmarks/scf_guess.py data/scalar40k [--model M] [--names A,B] [--limit N]
                                   [--supercell 2,2,2] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
from datetime import date

import numpy as np


def held_out(dataset, predictor, names: list[str] | None = None) -> list:
    """(name, atoms) of the model's test split that the dataset holds, in the dataset's order
    (only ``names`` when given)."""
    test = {n.rpartition("/")[2] for n in predictor.meta.get("split", {}).get("test", [])}
    if names:
        test &= set(names)
    found = [(n, a) for n, a in dataset.structures() if n in test]
    if not found:
        raise SystemExit(f"none of the model's test structures {sorted(test)} is in the dataset")
    return found


def supercell(atoms, reps: tuple[int, int, int], seed: int = 0):
    """``atoms`` repeated ``reps`` times, every position displaced by N(0, 0.02 Å)."""
    big = atoms.repeat(reps)
    big.positions += np.random.default_rng(seed).normal(0, 0.02, big.positions.shape)
    return big


def run_pair(
    predictor, name: str, atoms, reference: dict | None = None, alphas: tuple = ()
) -> dict:
    """SAD, nextham-guess and (with the dataset's ``reference`` record) exact-H SCF of one
    structure, as a JSON-ready row; with a reference, also the cycles from the interpolated
    guesses HT + α (H_pred − HT) for each α in ``alphas`` (how cycles follow guess accuracy)."""
    from nextham.record import keys as K
    from nextham.scf import run_scf

    settings = predictor.settings
    sad = run_scf(atoms, settings, "sad")
    pred = predictor.predict(atoms, name)
    nh = run_scf(atoms, settings, "hamiltonian", pred.record)
    exact = None if reference is None else run_scf(atoms, settings, "hamiltonian", reference)
    interpolated = {}
    for a in alphas if reference is not None else ():
        h = reference[K.HT] + a * (pred.record[K.HT] - reference[K.HT])
        interpolated[str(a)] = run_scf(atoms, settings, "hamiltonian", reference, h).cycles
    return {
        "exact": None if exact is None else exact.to_dict(),
        "interpolated_cycles": interpolated,
        "name": name,
        "natoms": len(atoms),
        "predict_s": float(sum(pred.times.values())),
        "sad": sad.to_dict(),
        "nextham": nh.to_dict(),
        "delta_e_mev": 1000 * (nh.energy_ev - sad.energy_ev),
    }


def print_table(rows: list[dict]) -> None:
    """Markdown table and mean ratios SAD / nextham."""
    print("| structure | cycles SAD | cycles nextham | cycles exact H | SCF s SAD | SCF s nextham "
          "| guess s nextham (predict + density) | ΔE meV |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        s, n = r["sad"], r["nextham"]
        ex = r.get("exact")
        print(f"| {r['name']} | {s['cycles']} | {n['cycles']} | "
              f"{'—' if ex is None else ex['cycles']} | {s['wall_s']:.1f} | "
              f"{n['wall_s']:.1f} | {r['predict_s']:.1f} + {n['guess_s']:.2f} | "
              f"{r['delta_e_mev']:.1e} |")  # fmt: skip
    cyc = statistics.mean(r["sad"]["cycles"] / r["nextham"]["cycles"] for r in rows)
    scf = statistics.mean(r["sad"]["wall_s"] / r["nextham"]["wall_s"] for r in rows)
    tot = statistics.mean(
        r["sad"]["wall_s"] / (r["nextham"]["wall_s"] + r["predict_s"] + r["nextham"]["guess_s"])
        for r in rows
    )
    print(f"\nmean over {len(rows)} structures, SAD / nextham: cycles {cyc:.2f}, "
          f"SCF time {scf:.2f}, SCF time incl. prediction {tot:.2f}")  # fmt: skip
    unconverged = [
        r["name"] for r in rows if not (r["sad"]["converged"] and r["nextham"]["converged"])
    ]
    if unconverged:
        print(f"not converged: {', '.join(unconverged)}")
    alphas = sorted({a for r in rows for a in r.get("interpolated_cycles", {})}, key=float)
    if alphas:
        print("\ncycles from HT + α (H_pred − HT):\n")
        print("| structure | " + " | ".join(f"α = {a}" for a in alphas) + " |")
        print("|---|" + "---|" * len(alphas))
        for r in rows:
            c = r.get("interpolated_cycles", {})
            print(f"| {r['name']} | " + " | ".join(str(c.get(a, "—")) for a in alphas) + " |")


def main() -> None:
    from nextham.dft.settings import EngineSettings
    from nextham.predict import Predictor
    from nextham.record import keys as K
    from nextham.store.atomic import atomic_output
    from nextham.store.dataset import Dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help="dataset directory (e.g. data/scalar40)")
    ap.add_argument("--model", default=None, help="model file (default: the shipped model)")
    ap.add_argument("--names", default=None, help="only these test structures (comma-separated)")
    ap.add_argument("--limit", type=int, default=None, help="at most N structures")
    ap.add_argument("--supercell", default=None, help="repeat each cell, e.g. 2,2,2")
    ap.add_argument(
        "--alphas", default="", help="also start from HT + α (H_pred − HT), e.g. 0.3,0.1,0.03"
    )
    ap.add_argument("--conv-tol-ev", type=float, default=None, help="SCF energy tolerance (eV)")
    ap.add_argument("--json", default=None, help="write the rows as JSON")
    args = ap.parse_args()
    predictor = Predictor.from_file(args.model)
    predictor.verify = "never"  # the model's own correction as the SCF's guess
    if args.conv_tol_ev is not None:
        predictor.settings = dataclasses.replace(predictor.settings, conv_tol_ev=args.conv_tol_ev)
    dataset = Dataset(args.dataset)
    names = args.names.split(",") if args.names else None
    structures = held_out(dataset, predictor, names)[: args.limit]
    reps = tuple(int(x) for x in args.supercell.split(",")) if args.supercell else None
    alphas = tuple(float(a) for a in args.alphas.split(",") if a)
    print(f"{platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {date.today()}")  # fmt: skip
    print(f"model {predictor.path}; engine settings {predictor.settings.to_dict()}\n")
    rows = []
    for name, atoms in structures:
        reference = None  # a supercell has no reference record
        if reps is not None:
            name, atoms = f"{name}×{'×'.join(map(str, reps))}", supercell(atoms, reps)
        elif name in dataset.names:
            reference = dataset.load(name)
            ref = dataclasses.replace(EngineSettings.from_meta(reference[K.META]), conv_tol_ev=0)
            if ref != dataclasses.replace(predictor.settings, conv_tol_ev=0):
                reference = None  # another engine run: not this SCF's own Hamiltonian
        rows.append(run_pair(predictor, name, atoms, reference, alphas))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print_table(rows)
    if args.json:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
