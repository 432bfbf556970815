"""The universal model's part of the benchmark: the campaign's held-out splits and the old set.

Three comparisons, each next to H0 (the ``zero_correction`` baseline of every evaluation):

* the universal model on the test split and on the unseen-composition split (``ood``: binaries
  whose element pair never occurs in training) of the campaign's shard datasets
  (``benchmarks/universal_dataset.sh``), by periodic-table block, element and prototype;
* DeePTB-E3 trained on the same training split (optional: ``--no-deeptb``);
* the old small model (the recipe's base model, gth-szv, 9 sp elements) against the universal
  model on the same structures: the old model's test and held-out-element splits, labelled
  again with the universal model's engine settings (szv-molopt-sr), each model against the SCF
  of its own basis.

Results are compact JSON (summaries, groups, and per structure the Gauge and band MAE of the
model and of H0), cached by :func:`suite.steps.cached`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from suite import steps

SPLITS = ("test", "ood")
GROUPS = ("block", "element", "prototype")


def shard_dirs(root: str | Path) -> list[str]:
    """The shard datasets of a campaign directory (every subdirectory with a manifest)."""
    dirs = sorted(str(m.parent) for m in Path(root).glob("*/manifest.json"))
    if not dirs:
        raise SystemExit(f"no shard dataset under {root}: run benchmarks/universal_dataset.sh")
    return dirs


def _per_structure(structures: dict) -> dict:
    """name → {model/zero_correction: {gauge, band, band_aligned, ghosts}} (meV), from
    evaluate_dataset."""
    out = {}
    for name, rep in structures.items():
        out[name] = {
            key: {
                "gauge": m["gauge_mae"]["overall"]["mae_meV"],
                "band": m["bands"]["mae_meV"],
                "band_aligned": m["bands"].get("mae_aligned_meV"),
                "ghosts": m["ghost_states"]["count"],
            }
            for key, m in rep.items()
            if key in ("model", "zero_correction")
        }
    return out


def evaluate_split(model_path: str, shards: list[str], split: str, kmesh) -> dict:
    """The universal model (and H0) on one split of the shards, grouped by :data:`GROUPS`."""
    from nextham.evaluate import evaluate_dataset
    from nextham.model.files import load_model
    from nextham.spectra.kspace import gamma_mesh

    model, meta = load_model(model_path)
    t0 = time.perf_counter()
    rep = evaluate_dataset(model, meta, shards, split, gamma_mesh(tuple(kmesh)), by=GROUPS)
    return {
        "summary": rep["summary"],
        "by": rep["by"],
        "structures": _per_structure(rep["structures"]),
        "names": sorted(rep["structures"]),
        "eval_s": time.perf_counter() - t0,
    }


def evaluate_names(model_path: str, dataset: str, names: list[str], kmesh) -> dict:
    """A model (and H0) on the named entries of one dataset (:func:`suite.steps.evaluate`)."""
    from nextham.model.files import load_model
    from nextham.predict import predict_hamiltonians
    from nextham.store.dataset import Dataset

    ds = Dataset(dataset)
    missing = sorted(set(names) - set(ds.names))
    if missing:
        raise SystemExit(f"{dataset} lacks {missing}: generate it with the recipe's options")
    model, _ = load_model(model_path)
    preds = predict_hamiltonians(model, [ds.load(n) for n in names])
    return steps.evaluate(None, dataset, "named", kmesh, dict(zip(names, preds, strict=True)))


def deeptb_split(model_path: str, shards: list[str], work: Path, venv: Path, kmesh, budget):
    """DeePTB-E3 trained on the universal model's training split (its validation split for
    validation); its predictions evaluated on the test and ood splits like the model's."""
    from nextham.model.files import read_model_metadata
    from nextham.store.dataset import Dataset
    from suite import deeptb

    split = read_model_metadata(model_path)["split"]
    by_dir = {Path(s).name: Dataset(s) for s in shards}

    def records(part: str) -> list:
        names = split.get(part, [])
        return [(n, by_dir[n.split("/", 1)[0]].load(n.split("/", 1)[1])) for n in names]

    def fit() -> dict:
        python = deeptb.ensure_venv(venv)
        out = deeptb.train_and_predict(
            records("train"), records("val"), records("test") + records("ood"),
            work / "deeptb-universal", python, budget,
        )  # fmt: skip
        return {**out, "h": {n: v.tolist() for n, v in out.pop("h").items()}}

    res = steps.cached(work / "train_deeptb_universal.json", fit)
    ev = {
        part: evaluate_predictions({n: res["h"][n] for n in split.get(part, [])}, shards, kmesh)
        for part in SPLITS
    }
    return {"train_s": res["train_s"], "predict_s": res["predict_s"]}, ev


def evaluate_predictions(preds: dict, shards: list[str], kmesh) -> dict:
    """Metrics of given predictions (``"<shard>/<entry>"`` → H flat) and of the baselines,
    aggregated over every structure of every shard as ``nextham evaluate`` does; per structure
    as :func:`evaluate_split` keeps them."""
    from nextham.loss.report import aggregate_reports, evaluate_structure
    from nextham.spectra.kspace import gamma_mesh
    from nextham.store.dataset import Dataset

    if not preds:
        raise ValueError("no predictions to evaluate: no entry of the split")
    datasets = {Path(s).name: Dataset(s) for s in shards}
    kpts = gamma_mesh(tuple(kmesh))
    reports = {}
    for label, h in preds.items():
        shard, entry = label.split("/", 1)
        reports[label] = evaluate_structure(datasets[shard].load(entry), np.asarray(h), kpts)
    return {
        "summary": aggregate_reports(list(reports.values())),
        "structures": _per_structure(reports),
        "names": sorted(reports),
    }


def engine_options(settings: dict) -> list[str]:
    """``nextham generate`` options that reproduce a model's engine settings (basis family,
    k-sampling, pair threshold or cutoff, smearing, plane-wave cutoff); ``evaluate`` refuses a
    dataset whose settings differ, so nothing is silently compared across settings."""
    opts = ["--basis", settings["basis"], "--threshold", str(settings["overlap_threshold"]),
            "--smearing", str(settings["smearing_ev"])]  # fmt: skip
    for key, opt in (("cutoff", "--cutoff"), ("ke_cutoff_ev", "--ke-cutoff")):
        if settings.get(key) is not None:
            opts += [opt, str(settings[key])]
    if settings.get("kspacing") is not None:
        return [*opts, "--kspacing", str(settings["kspacing"])]
    return [*opts, "--kmesh", ",".join(map(str, settings["kmesh"]))]


def structure_options(generate: list[str]) -> list[str]:
    """A recipe's ``generate`` options without its engine options (the structures only)."""
    engine = {"--basis", "--kmesh", "--kspacing", "--threshold", "--smearing", "--ke-cutoff",
              "--cutoff"}  # fmt: skip
    out, skip = [], False
    for opt in generate:
        if skip:
            skip = False
        elif opt in engine:
            skip = True
        else:
            out.append(opt)
    return out
