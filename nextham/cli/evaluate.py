"""Evaluate a model on a dataset: Gauge MAE (overall, spin blocks, element pairs, distance shells),
band MAE on a k-mesh within VBM − 2 … CBM + 2 eV for insulators and E_F ± 2 eV for metals
(``--window fermi``: E_F ± 2 eV always), ghost states — for the model and, in the same run, the
baselines "zero correction" (H = H0) and "zero Hamiltonian". Prints a table (``--by element``,
``--by block``, ``--by prototype``: one more per grouping), writes JSON.
"""

from __future__ import annotations

import argparse

HELP = "metrics of a model on a dataset, next to the H0 and zero baselines"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("dataset", nargs="+",
                   help="dataset directory; several (e.g. a campaign's shards) are evaluated "
                        "together")  # fmt: skip
    p.add_argument("--split", choices=("all", "train", "val", "test", "ood"), default="all",
                   help="the model's split (ood: held-out elements and pairs)")  # fmt: skip
    p.add_argument("--kmesh", default="4,4,4", help="k-mesh for bands and ghost states")
    p.add_argument("--window", choices=("edges", "fermi"), default="edges",
                   help="band window: edges (VBM-2..CBM+2 eV for insulators, E_F±2 eV for "
                        "metals) or fermi (E_F±2 eV, the old definition)")  # fmt: skip
    p.add_argument("--by", action="append", choices=("element", "block", "prototype"),
                   default=None, help="also a table per element, per periodic-table block "
                   "(s, p, d, f) or per prototype (repeatable)")  # fmt: skip
    p.add_argument("--json", default=None, help="output JSON (default: <model>.eval.json)")


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import json
    from pathlib import Path

    from nextham.evaluate import evaluate_dataset, print_groups, print_report
    from nextham.model.files import load_model
    from nextham.spectra.kspace import gamma_mesh

    model, meta = load_model(args.model)
    kmesh = tuple(int(x) for x in args.kmesh.split(","))
    kpts = gamma_mesh(kmesh)
    by = args.by or ()
    report = evaluate_dataset(model, meta, args.dataset, args.split, kpts, args.window, by)
    print_report(report)
    for by in report["by"]:
        print_groups(report, by)
    out = Path(args.json or Path(args.model).with_suffix(".eval.json"))
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return 0
