"""SCF iterations and wall time from the SAD guess vs from the nextham-predicted Hamiltonian.

Held-out structures: the model's test split of a dataset (default: the shipped model on
data/scalar40). Both runs use the model's engine settings (``--conv-tol-ev`` overrides the SCF
energy tolerance); the nextham column's guess time (S/H0 build + model + diagonalization) is
listed separately. Prints a Markdown table.

    python benchmarks/scf_guess.py [--model M] [--dataset data/scalar40] [--limit N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
from datetime import date


def main() -> None:
    from nextham.predict import Predictor
    from nextham.scf import predicted_guess, run_scf
    from nextham.store.dataset import Dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--dataset", default="data/scalar40")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--conv-tol-ev", type=float, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    predictor = Predictor.from_file(args.model)
    if args.conv_tol_ev is not None:
        predictor.settings = dataclasses.replace(predictor.settings, conv_tol_ev=args.conv_tol_ev)
    ds = Dataset(args.dataset)
    test = {n.split("/", 1)[1] for n in predictor.meta["split"]["test"]}
    structures = [(n, a) for n, a in ds.structures() if n in test][: args.limit]
    rows = []
    for name, atoms in structures:
        sad = run_scf(atoms, predictor.settings)
        dm, t_guess = predicted_guess(predictor, atoms, name)
        nh = run_scf(atoms, predictor.settings, dm0=dm, guess_s=t_guess)
        rows.append({"name": name, "sad": sad.to_dict(), "nextham": nh.to_dict()})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, {date.today()}; "
          f"conv_tol {predictor.settings.conv_tol_ev} eV")  # fmt: skip
    print("| structure | cycles SAD | cycles nextham | SCF s SAD | SCF s nextham (+ guess s) "
          "| ΔE meV |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in rows:
        s, n = r["sad"], r["nextham"]
        print(f"| {r['name']} | {s['cycles']} | {n['cycles']} | {s['wall_s']:.1f} | "
              f"{n['wall_s']:.1f} (+{n['guess_s']:.1f}) | "
              f"{1000 * (n['energy_ev'] - s['energy_ev']):.2e} |")  # fmt: skip
    ratio = sum(r["sad"]["cycles"] for r in rows) / sum(r["nextham"]["cycles"] for r in rows)
    print(f"\ncycles SAD / nextham over {len(rows)} structures: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
