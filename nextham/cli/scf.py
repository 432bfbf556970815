"""SCF of one structure with PySCF, started from the density of the nextham-predicted Hamiltonian.

The model's engine settings (basis, k-mesh, smearing, tolerance) define the run. The predicted
H(R) is summed to H(k) at the SCF k-points, diagonalized with PySCF's overlap and occupied with
the engine's smearing; that density is PySCF's initial guess (docs/predict.md). Prints the energy,
SCF cycles and wall times; ``--compare`` also runs from PySCF's atomic-density (SAD) guess and
prints both side by side with their energy difference; ``--json`` writes the numbers.
"""

from __future__ import annotations

import argparse

_LABEL = {"hamiltonian": "nextham", "sad": "sad"}
HELP = "PySCF SCF started from the predicted Hamiltonian (optionally next to SAD)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("structure", help="structure file with one structure (POSCAR, CIF, extxyz, …)")
    p.add_argument("--model", default=None, help="model file (default: the shipped model)")
    p.add_argument("--compare", action="store_true", help="also run from the SAD guess")
    p.add_argument("--json", default=None, metavar="OUT", help="write the numbers as JSON")


def _table(runs: dict, predict_s: float) -> list[str]:
    """Rows of the side-by-side report, one column per run."""
    rows = [
        ("energy (eV)", lambda r: f"{r.energy_ev:.7f}"),
        ("converged", lambda r: str(r.converged)),
        ("SCF cycles", lambda r: str(r.cycles)),
        ("SCF time (s)", lambda r: f"{r.wall_s:.2f}"),
        ("guess density (s)", lambda r: f"{r.guess_s:.2f}"),
        ("Fermi level (eV)", lambda r: f"{r.fermi_level_ev:.4f}"),
    ]
    names = {"hamiltonian": "nextham", "sad": "SAD"}
    lines = [f"{'':<20}" + "".join(f"{names[g]:>18}" for g in runs)]
    lines += [f"{label:<20}" + "".join(f"{f(r):>18}" for r in runs.values()) for label, f in rows]
    lines.append(f"{'prediction (s)':<20}{predict_s:>18.2f}  (S, H0 and model)")
    return lines


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import json
    from pathlib import Path

    from nextham.errors import InputError
    from nextham.predict import Predictor
    from nextham.scf import run_scf
    from nextham.store.atomic import atomic_output
    from nextham.structures.read import read_structures

    structures = read_structures([args.structure])
    if len(structures) != 1:
        raise InputError(
            f"{args.structure}: holds {len(structures)} structures; give a file with one"
        )
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise InputError(f"--json {args.json}: the directory does not exist")
    name, atoms = structures[0]
    predictor = Predictor.from_file(args.model)
    settings = predictor.settings
    pred = predictor.predict(atoms, name)
    predict_s = float(sum(pred.times.values()))
    runs = {"hamiltonian": run_scf(atoms, settings, "hamiltonian", pred.record)}
    if args.compare:
        runs["sad"] = run_scf(atoms, settings, "sad")
    flag = pred.reliability.get("flag", "n/a")
    kmesh = "×".join(map(str, settings.kmesh_for(atoms.cell.array)))
    print(f"{name}: {len(atoms)} atoms, model {predictor.path}, k-mesh {kmesh}, "
          f"prediction reliability {flag}")  # fmt: skip
    print("\n".join(_table(runs, predict_s)))
    delta_mev = None
    if args.compare:
        delta_mev = 1000 * (runs["hamiltonian"].energy_ev - runs["sad"].energy_ev)
        print(f"energy nextham − SAD: {delta_mev:.3e} meV")
    if args.json:
        out = {
            "structure": name,
            "model": predictor.path,
            "engine_settings": settings.to_dict(),
            "reliability": flag,
            "prediction_s": predict_s,
            "runs": {_LABEL[g]: r.to_dict() for g, r in runs.items()},
            "energy_difference_mev": delta_mev,
        }
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(out, indent=1))
        print(f"wrote {args.json}")
    return 0
