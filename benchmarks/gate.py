"""Never worse than H0? The calibrated committee, its gate and its reliability flag, measured.

Trains K members of the benchmark's base model (``benchmarks/suite/recipe.py``, one seed
each: initialization and batch order; same data split), joins them into a calibrated
committee (``nextham committee``: uncertainty scale and gate τ from the validation split) and
evaluates H0, one member, the ungated and the gated committee on

* the test split (in distribution): what the gate costs;
* the held-out element (the recipe's ``holdout``, Ge): out of distribution by chemistry;
* out of distribution by geometry (:data:`GEOMETRY_SETS`, never in training): rocksalt, wurtzite
  and CsCl cells of the training binaries, fcc/bcc/simple-cubic cells of two training elements,
  and training prototypes strained by up to 10 % (training: 3 %);

then tabulates how well the flag separates the structures where the ungated model is worse
than H0 from those where it is better, and writes the report.

    export OMP_NUM_THREADS=1
    python benchmarks/gate.py --data-root ~/nextham-data/bench --work ~/nextham-data/gate \
        --report docs/gate-benchmark.md

Every step is cached under ``--work`` (a rerun resumes); one training runs at a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import machine
from suite import gate_eval, steps
from suite.gate_report import write_gate_report
from suite.recipe import RECIPES, TINY_ENGINE, train_config

from nextham.evaluate import select_names
from nextham.model.files import read_model_metadata
from nextham.predict import Predictor
from nextham.store.dataset import Dataset

BINARIES = "Si-C,B-N,Al-P,Ga-As,Al-As"
GEOMETRY_SETS = {
    "prototype": ("rocksalt10", "rocksalt cells of the training binaries",
                  ["--binaries", BINARIES, "--binary-prototypes", "rocksalt", "--n", "2",
                   "--seed", "1", "--kmesh", "2,2,2"]),
    "ab-other": ("ab-other", "wurtzite and CsCl cells of the training binaries",
                 ["--binaries", BINARIES, "--binary-prototypes", "wurtzite,cesiumchloride",
                  "--n", "2", "--seed", "3", "--kmesh", "2,2,2"]),
    "elemental": ("elemental-other", "fcc, bcc and simple-cubic Si and C",
                  ["--elements", "Si,C", "--elemental-prototypes", "fcc,bcc,sc", "--n", "2",
                   "--seed", "2", "--kmesh", "2,2,2"]),
    "strained": ("strained10", "training prototypes strained by up to 10 %",
                 ["--elements", "Si,C", "--binaries", BINARIES, "--elemental-prototypes",
                  "diamond", "--binary-prototypes", "zincblende", "--strain", "0.10", "--n",
                  "2", "--seed", "4", "--kmesh", "2,2,2"]),
}  # fmt: skip
"""Out-of-distribution sets by geometry: subset → (directory under the data root, title,
``nextham generate`` options). The scalar set's prototypes are diamond and zincblende, strained
by up to 3 % (``benchmarks/suite/recipe.py``)."""
TINY_SETS = {
    "prototype": ("tiny_rocksalt", "rocksalt C-Si",
                  ["--binaries", "C-Si", "--binary-prototypes", "rocksalt", "--n", "1",
                   "--seed", "1", *TINY_ENGINE]),
}  # fmt: skip
"""The tiny mode's (smoke run) out-of-distribution set."""


def train_members(recipe, scalar: str, work: Path, k: int, epochs: int | None) -> list[str]:
    """Train (or reuse) ``k`` members, seeds 0 … k−1; their model files."""
    paths = []
    for seed in range(k):
        cfg = train_config(recipe, "nextham", scalar, str(work / "models" / f"member{seed}"))
        cfg["seed"] = seed
        if epochs is not None:
            cfg["optim"]["epochs"] = epochs
        res = steps.cached(
            work / f"train_member{seed}.json",
            lambda cfg=cfg, seed=seed: steps.train(cfg, work / f"member{seed}.yaml"),
        )
        paths.append(res["model"])
    return paths


def build(members: list[str], work: Path) -> dict:
    """``nextham committee`` of the members; its uncertainty metadata."""
    out = work / "committee.safetensors"
    steps.nextham_cli("committee", *members, "--out", str(out))
    return {"model": str(out), "uncertainty": read_model_metadata(out)["uncertainty"]}


def subsets(model: str, scalar: str, geometry: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """(dataset, entry) of each evaluated subset (``geometry``: subset → dataset path)."""
    meta, ds = read_model_metadata(model), Dataset(scalar)
    out = {s: [(scalar, n) for n in select_names(ds, meta, s)] for s in ("test", "ood")}
    out.update({s: [(path, n) for n in Dataset(path).names] for s, path in geometry.items()})
    return out


def evaluate(model: str, named: list[tuple[str, str]], kmesh) -> list[dict]:
    predictor = Predictor.from_file(model)
    recs = [(n, Dataset(d).load(n)) for d, n in named]
    return gate_eval.evaluate_records(predictor, recs, kmesh)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=sorted(RECIPES), default="small")
    ap.add_argument("--data-root", required=True, help="where the datasets are (or go)")
    ap.add_argument("--work", required=True, help="work directory (cached steps, models)")
    ap.add_argument("--members", type=int, default=3, help="committee size K")
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    ap.add_argument("--report", default="docs/gate-benchmark.md")
    args = ap.parse_args(argv)
    recipe, work = RECIPES[args.mode], Path(args.work).resolve()
    root = Path(args.data_root).expanduser().resolve()
    scalar = steps.cached(
        work / "data_scalar.json",
        lambda: steps.generate(root / recipe.scalar_data, recipe.scalar_generate),
    )["path"]
    members = train_members(recipe, scalar, work, args.members, args.epochs)
    committee = steps.cached(work / "committee.json", lambda: build(members, work))
    sets = TINY_SETS if args.mode == "tiny" else GEOMETRY_SETS
    data = {}
    for s, (d, _, o) in sets.items():
        make = lambda d=d, o=o: steps.generate(root / d, o)  # noqa: E731
        data[s] = steps.cached(work / f"data_{s}.json", make)
    named = subsets(committee["model"], scalar, {s: d["path"] for s, d in data.items()})
    rows = {
        s: steps.cached(work / f"gate_eval_{s}.json",
                        lambda s=s: {"rows": evaluate(committee["model"], named[s],
                                                      recipe.eval_kmesh)})["rows"]
        for s in named
    }  # fmt: skip
    rows = {s: gate_eval.complete(rs, named[s]) for s, rs in rows.items()}
    results = {
        "command": " ".join(["python benchmarks/gate.py", *(argv or sys.argv[1:])]),
        "date": str(date.today()), "machine": machine(), "recipe": dataclasses.asdict(recipe),
        "members": args.members, "epochs": args.epochs or recipe.optim["epochs"],
        "train": [json.loads((work / f"train_member{k}.json").read_text())
                  for k in range(args.members)],
        "committee": committee, "rows": rows,
        "geometry_sets": {s: {"title": t, "options": o} for s, (_, t, o) in sets.items()},
        "data": {k: json.loads((work / f"data_{k}.json").read_text())
                 for k in ("scalar", *sets)},
    }  # fmt: skip
    (work / "gate_results.json").write_text(json.dumps(results, indent=1, default=str))
    write_gate_report(results, Path(args.report))
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
