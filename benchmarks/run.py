"""Benchmark nextham against the baselines a user would pick instead, and write the report.

One command generates (or reuses) the data with the engine, trains nextham and its ablations
(no k-space loss, no TraceGrad, no H0 input) and DeePTB-E3 on the same training structures,
evaluates all of them next to the "zero Hamiltonian" and "H0 alone" baselines on the test split,
the out-of-distribution subset (an element held out of training) and a spin–orbit set, times
prediction against the SCF and the model against system size, and writes ``docs/benchmarks.md``.

    python benchmarks/run.py --mode small            # < 1 h on 2 CPU cores once data exist
    python benchmarks/run.py --mode full             # the documented large run
    python benchmarks/run.py --mode tiny --work /tmp/b --report /tmp/b/report.md --no-deeptb
    python benchmarks/run.py --universal-data ~/nextham-data/universal \
        --universal-model runs/universal/model.safetensors   # + the universal model's part

On 2 cores the scalar variants train fastest two at a time, one thread each (a training step
is too small to use two threads well); the final run reuses their cached results:

    export OMP_NUM_THREADS=1
    python benchmarks/run.py --part variants --variants nextham,no_kspace &
    python benchmarks/run.py --part variants --variants no_tracegrad,no_h0_input &
    wait; python benchmarks/run.py

Every step stores its result under ``--work`` and is skipped on a rerun, so an interrupted run
resumes with the same command. See docs/benchmarks.md for the recipe and its cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import steps
from suite.recipe import RECIPES, VARIANTS, Recipe, soc_config, train_config
from suite.report import write_report


def machine() -> str:
    """One line describing this machine."""
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} CPUs, CPU only"


def run_data(recipe: Recipe, data_root: Path, work: Path, which: str) -> dict:
    """Generate (or resume) the ``which`` ("scalar", "soc" or "soc_ideal") dataset of the
    recipe."""
    name, options = {
        "scalar": (recipe.scalar_data, recipe.scalar_generate),
        "soc": (recipe.soc_data, recipe.soc_generate),
        "soc_ideal": (f"{recipe.soc_data}-ideal", recipe.soc_ideal),
    }[which]
    path = data_root / name
    return steps.cached(work / f"data_{which}.json", lambda: steps.generate(path, options))


def run_nextham(
    recipe: Recipe, scalar: str, work: Path, variants: list[str] | None = None
) -> tuple[dict, dict]:
    """Train the scalar variants (default: all, in :data:`VARIANTS` order); evaluate each on
    the test and ood splits."""
    train, ev = {}, {}
    for v in variants or list(VARIANTS):
        cfg = train_config(recipe, v, scalar, str(work / "models" / v))
        train[v] = steps.cached(
            work / f"train_{v}.json", lambda cfg=cfg, v=v: steps.train(cfg, work / f"{v}.yaml")
        )
        ev[v] = {
            split: steps.cached(
                work / f"eval_{v}_{split}.json",
                lambda v=v, split=split: steps.evaluate(
                    train[v]["model"], scalar, split, recipe.eval_kmesh
                ),
            )
            for split in ("test", "ood")
        }
    return train, ev


def run_soc(recipe: Recipe, soc: str, work: Path, ideal: str | None = None) -> tuple[dict, dict]:
    """Train the spin–orbit model; evaluate it on its test split, on the structures of its
    held-out element pairs ("ood") and on the ideal cells (``ideal``, whole) if given."""
    cfg = soc_config(recipe, soc, str(work / "models" / "soc"))
    train = steps.cached(work / "train_soc.json", lambda: steps.train(cfg, work / "soc.yaml"))
    sets = {"test": (soc, "test"), "ood": (soc, "ood")}
    if ideal is not None:
        sets["ideal"] = (ideal, "all")
    ev = {
        key: steps.cached(
            work / f"eval_soc_{key}.json",
            lambda d=d, split=split: steps.evaluate(train["model"], d, split, recipe.eval_kmesh),
        )
        for key, (d, split) in sets.items()
    }
    return train, ev


def run_deeptb(recipe: Recipe, data: dict, train: dict, work: Path, venv: Path) -> tuple:
    """DeePTB-E3 on the base model's training structures; predictions on test and ood."""
    from suite import deeptb

    from nextham.store.dataset import Dataset

    scalar = data["scalar"]["path"]
    ds, base = Dataset(scalar), train["nextham"]["model"]

    def records(split: str) -> list:
        return [(n, ds.load(n)) for n in steps.split_names(base, split)]

    def fit() -> dict:
        python = deeptb.ensure_venv(venv)
        out = deeptb.train_and_predict(
            records("train"), records("val"), records("test") + records("ood"),
            work / "deeptb", python, recipe.deeptb,
        )  # fmt: skip
        h = {n: v.tolist() for n, v in out.pop("h").items()}
        return {**out, "h": h}

    res = steps.cached(work / "train_deeptb.json", fit)
    preds = {n: np.asarray(h) for n, h in res["h"].items()}
    ev = {}
    for split in ("test", "ood"):
        names = steps.split_names(base, split)
        sub = {n: preds[n] for n in names}
        ev[split] = steps.cached(work / f"eval_deeptb_{split}.json",
                                 lambda sub=sub, split=split: steps.evaluate(
                                     None, scalar, split, recipe.eval_kmesh, sub))  # fmt: skip
        ev[split]["predict_s"] = res["predict_s"] / max(len(preds), 1)
    return {"train_s": res["train_s"], "missing_pairs": res.get("missing_pairs")}, ev


def run_universal(
    recipe: Recipe, args: argparse.Namespace, data_root: Path, work: Path, old: tuple | None
) -> dict:
    """The universal model on the campaign's test and unseen-composition splits (by block,
    element and prototype), DeePTB-E3 on its training split, and the old small model's
    structures labelled again with the universal settings (:mod:`suite.universal`); ``old``:
    (the old model's file, its evaluations by split)."""
    from suite import universal

    from nextham.model.files import read_model_metadata

    shards, model = universal.shard_dirs(args.universal_data), str(Path(args.universal_model))
    kmesh = recipe.eval_kmesh
    out: dict = {"data": str(args.universal_data), "model": model, "shards": shards, "eval": {}}
    for split in universal.SPLITS:
        out["eval"][split] = steps.cached(
            work / f"eval_universal_{split}.json",
            lambda split=split: universal.evaluate_split(model, shards, split, kmesh),
        )
    if not args.no_deeptb:
        venv = Path(args.deeptb_venv).resolve()
        out["deeptb_train"], out["deeptb"] = universal.deeptb_split(
            model, shards, work, venv, kmesh, recipe.deeptb
        )
    if old is not None:  # the old model's splits, labelled with the universal settings
        old_model, old = old
        settings = read_model_metadata(model)["engine_settings"]
        out["bases"] = {"old": read_model_metadata(old_model)["engine_settings"]["basis"],
                        "universal": settings["basis"]}  # fmt: skip
        options = universal.structure_options(recipe.scalar_generate)
        options += universal.engine_options(settings)
        path = data_root / f"{recipe.scalar_data}-{settings['basis']}"
        out["old_data"] = steps.cached(
            work / "data_universal_old.json", lambda: steps.generate(path, options)
        )
        out["old_eval"] = {split: old[split] for split in universal.SPLITS}
        out["old_set"] = {
            split: steps.cached(
                work / f"eval_universal_old_{split}.json",
                lambda split=split: universal.evaluate_names(
                    model, str(path), old[split]["names"], kmesh
                ),
            )
            for split in universal.SPLITS
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=sorted(RECIPES), default="small")
    ap.add_argument("--work", default=None, help="work directory (default runs/benchmark-MODE)")
    ap.add_argument("--data-root", default=None, help="datasets (default data/; tiny: WORK/data)")
    ap.add_argument("--report", default="docs/benchmarks.md", help="Markdown report to write")
    ap.add_argument("--no-deeptb", action="store_true", help="skip the DeePTB-E3 baseline")
    ap.add_argument("--deeptb-venv", default="runs/deeptb-venv", help="DeePTB's virtualenv")
    ap.add_argument("--part", choices=("all", "soc", "variants", "universal"), default="all",
                    help="soc: only the spin–orbit data and model; variants: only the scalar "
                         "variants of --variants; universal: only the universal model's part "
                         "(all cached for a later full run, e.g. from a second process); all: "
                         "every step and the report")  # fmt: skip
    ap.add_argument("--universal-data", default=None,
                    help="the universal campaign's directory (benchmarks/universal_dataset.sh): "
                         "adds the universal model's part to the run and the report")  # fmt: skip
    ap.add_argument("--universal-model", default=None,
                    help="the universal model file (trained on --universal-data, "
                         "benchmarks/universal_model.sh)")  # fmt: skip
    ap.add_argument(
        "--variants",
        default=None,
        help=f"with --part variants: comma-separated subset of {', '.join(VARIANTS)}",
    )
    args = ap.parse_args(argv)
    chosen = None
    if args.variants is not None:
        chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = sorted(set(chosen) - set(VARIANTS))
        if args.part != "variants" or unknown or not chosen:
            ap.error(f"--variants takes a comma-separated subset of {', '.join(VARIANTS)} "
                     f"and goes with --part variants (unknown: {unknown or 'none'})")  # fmt: skip
    if (args.universal_data is None) != (args.universal_model is None) or (
        args.part == "universal" and args.universal_data is None
    ):
        ap.error("--universal-data and --universal-model go together (and --part universal "
                 "needs them)")  # fmt: skip
    recipe = RECIPES[args.mode]
    work = Path(args.work or f"runs/benchmark-{args.mode}").resolve()
    default_root = work / "data" if args.mode == "tiny" else Path("data")
    data_root = Path(args.data_root or default_root).resolve()
    given = sys.argv[1:] if argv is None else argv
    results = {
        "command": " ".join(["python benchmarks/run.py", *given]),
        "date": str(date.today()),
        "machine": machine(),
        "recipe": dataclasses.asdict(recipe),
    }  # fmt: skip
    if args.part == "soc":
        soc = run_data(recipe, data_root, work, "soc")["path"]
        run_soc(recipe, soc, work)
        return 0
    data = results["data"] = {"scalar": run_data(recipe, data_root, work, "scalar")}
    if args.part == "universal":
        train, ev = run_nextham(recipe, data["scalar"]["path"], work, ["nextham"])
        run_universal(recipe, args, data_root, work, (train["nextham"]["model"], ev["nextham"]))
        return 0
    if args.part == "variants":
        run_nextham(recipe, data["scalar"]["path"], work, chosen)
        return 0
    results["train"], results["eval"] = run_nextham(recipe, data["scalar"]["path"], work)
    if not args.no_deeptb:
        venv = Path(args.deeptb_venv).resolve()
        results["train"]["deeptb"], results["eval"]["deeptb"] = run_deeptb(
            recipe, data, results["train"], work, venv
        )
    data["soc"] = run_data(recipe, data_root, work, "soc")
    ideal = None
    if recipe.soc_ideal is not None:
        data["soc_ideal"] = run_data(recipe, data_root, work, "soc_ideal")
        ideal = data["soc_ideal"]["path"]
    results["train"]["soc"], results["eval"]["soc"] = run_soc(
        recipe, data["soc"]["path"], work, ideal
    )
    if args.universal_data is not None:
        old = (results["train"]["nextham"]["model"], results["eval"]["nextham"])
        results["universal"] = run_universal(recipe, args, data_root, work, old)
    results["scaling"] = steps.cached(
        work / "scaling.json",
        lambda: steps.scaling(results["train"]["nextham"]["model"], recipe.scaling_repeats),
    )
    (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_report(results, Path(args.report))
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
