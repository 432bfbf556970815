"""Self-consistent PySCF run started from the density of the predicted Hamiltonian.

Uses the engine settings the model was trained on. ``--compare`` also runs from PySCF's SAD
guess and prints both: iterations, wall time and the energy difference.
"""

from __future__ import annotations

import argparse

HELP = "SCF from the nextham-predicted Hamiltonian as initial guess (fewer iterations)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("structure", help="structure file (POSCAR, CIF, extxyz, …)")
    p.add_argument("--model", default=None, help="model file (default: the shipped model)")
    p.add_argument("--compare", action="store_true", help="also run from the SAD guess")
    p.add_argument("--json", default=None, help="write the results as JSON")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from nextham.predict import Predictor
    from nextham.scf import predicted_guess, run_scf
    from nextham.store.atomic import atomic_output
    from nextham.structures.read import read_structures

    ((name, atoms),) = read_structures([args.structure])
    predictor = Predictor.from_file(args.model)
    predictor.check(atoms, name)
    dm, t_guess = predicted_guess(predictor, atoms, name)
    results = [run_scf(atoms, predictor.settings, dm0=dm, guess_s=t_guess)]
    if args.compare:
        results.append(run_scf(atoms, predictor.settings))
    for r in results:
        extra = f" (+{r.guess_s:.1f} s guess)" if r.guess == "nextham" else ""
        print(f"{name} from {r.guess:>7}: E = {r.energy_ev:.6f} eV, {r.cycles} cycles, "
              f"converged {r.converged}, {r.wall_s:.1f} s{extra}")  # fmt: skip
    if args.compare:
        d = 1000 * (results[0].energy_ev - results[1].energy_ev)
        print(f"energy difference nextham − SAD: {d:.2e} meV")
    if args.json:
        with atomic_output(Path(args.json)) as tmp:
            Path(tmp).write_text(json.dumps([r.to_dict() for r in results], indent=1))
    return 0
