"""The benchmark's steps: data, training, evaluation, speed. Each step caches its result in
the work directory (``<step>.json``) and is skipped when that file exists, so an interrupted
run resumes by rerunning the same command.

Two processes may share a work directory (``run.py --part soc`` next to the full run): a
cached step and a dataset's generation each hold an exclusive lock file (``<path>.lock``)
while they run, so the second process waits for the first and then reads its result instead
of computing the same step into the same files.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import yaml

from nextham.store.atomic import atomic_output


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the lock file ``<path>.lock`` (blocking until another process releases it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached(path: Path, compute: Callable[[], dict]) -> dict:
    """``compute()`` once: its JSON result is stored at ``path`` and read back on reruns (or
    when another process computed it while this one waited for the lock)."""
    if path.is_file():
        return json.loads(path.read_text())
    with exclusive(path):
        if path.is_file():
            return json.loads(path.read_text())
        result = compute()
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(result, indent=1))
    return result


def nextham_cli(*args: str) -> None:
    """Run ``nextham ARGS`` in a subprocess (the package's own command line)."""
    cmd = [sys.executable, "-m", "nextham.cli.main", *args]
    subprocess.run(cmd, check=True)


def generate(out: Path, options: list[str], allow_failed: bool = False) -> dict:
    """Generate (or resume) a dataset; returns its size, engine cost from the records and the
    structures that failed with their causes. ``allow_failed``: a structure the engine could
    not label (an SCF that does not converge) is reported, not fatal."""
    from nextham.store.dataset import Dataset

    t0 = time.perf_counter()
    with exclusive(out):
        try:
            nextham_cli("generate", str(out), *options)
        except subprocess.CalledProcessError:
            if not (allow_failed and Dataset(out).manifest.get("failed")):
                raise
    ds = Dataset(out)
    metas = [ds.load(n)["meta"] for n in ds.names]
    return {
        "path": str(out),
        "options": options,
        "n_structures": len(ds.names),
        "wall_s_this_run": time.perf_counter() - t0,
        "h0_s_mean": float(np.mean([m.get("time_h0_s", np.nan) for m in metas])),
        "scf_s_mean": float(np.mean([m.get("time_scf_s", np.nan) for m in metas])),
        "natoms_mean": float(np.mean([len(ds.load(n)["numbers"]) for n in ds.names])),
        "failed": dict(ds.manifest.get("failed") or {}),
    }


def train(config: dict, config_path: Path) -> dict:
    """``nextham train`` of one config (resumes from its last checkpoint); wall time."""
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    t0 = time.perf_counter()
    nextham_cli("train", str(config_path), "--quiet")
    model = Path(config["out"]) / "model.safetensors"
    return {"model": str(model), "train_s": time.perf_counter() - t0}


def evaluate(
    model_path: str | None, dataset: str, split: str, kmesh: tuple, predictions=None
) -> dict:
    """Metrics of a model (or of given ``predictions``: name → H flat) and the baselines.

    Returns ``{"summary": {model/zero_correction/zero_hamiltonian: metrics}, "predict_s": …,
    "names": […]}``; ``predict_s`` is the model's time per structure (no engine time). A
    scalar model trained on the scalar part of spin–orbit labels (``data.scalar_part``)
    predicts them as ``nextham predict`` does (H0 + ΔH ⊗ I₂), and the result adds
    ``so_splitting``: the errors of the spin–orbit splitting at Γ (:mod:`suite.spin_orbit`).
    """
    from nextham.evaluate import select_names
    from nextham.loss.report import aggregate_reports, evaluate_structure
    from nextham.model.files import load_model
    from nextham.predict import predict_hamiltonians
    from nextham.spectra.kspace import gamma_mesh
    from nextham.store.dataset import Dataset

    ds = Dataset(dataset)
    spin_orbit = False
    if model_path is not None:
        model, meta = load_model(model_path)
        names = select_names(ds, meta, split)
        records = [ds.load(n) for n in names]
        spin_orbit = bool(meta["train_config"]["data"].get("scalar_part"))
        t0 = time.perf_counter()
        if spin_orbit:
            preds = _predict_spin_orbit(model_path, names, records)
        else:
            preds = predict_hamiltonians(model, records)
        predict_s = (time.perf_counter() - t0) / len(records)
    else:
        names = sorted(predictions)
        records = [ds.load(n) for n in names]
        preds, predict_s = [predictions[n] for n in names], None
    kpts = gamma_mesh(tuple(kmesh))
    per = [evaluate_structure(r, h, kpts) for r, h in zip(records, preds, strict=True)]
    out = {"summary": aggregate_reports(per), "predict_s": predict_s, "names": names}
    if spin_orbit:
        from suite.spin_orbit import splitting_errors

        out["so_splitting"] = splitting_errors(names, records, preds)
    return out


def _predict_spin_orbit(model_path: str, names: list[str], records: list[dict]) -> list:
    """Predicted H of each spinor record by a scalar model, as ``nextham predict`` makes it:
    H0 + ΔH(H0's scalar part) ⊗ I₂ (:mod:`nextham.predict.spin_orbit`)."""
    from nextham.predict import Predictor
    from nextham.record import keys as K

    predictor = Predictor.from_file(model_path)
    predictor.verify = "never"  # the model's own correction (the check: benchmarks/gate.py)
    return [predictor.predict_record(r, n).record[K.HT] for n, r in zip(names, records)]


def split_names(model_path: str, split: str) -> list[str]:
    """Entry names (without the dataset prefix) of a model's split."""
    from nextham.model.files import load_model

    _, meta = load_model(model_path)
    return [n.split("/", 1)[1] for n in meta["split"].get(split, [])]


def scaling(model_path: str, repeats: list[tuple[int, int, int]]) -> dict:
    """Forward time and peak memory of a trained model on Si supercells (8 atoms × repeats),
    each size in a fresh process (see ``benchmarks/model_scaling.py``); fitted exponent."""
    import os

    here = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(here))
    from model_scaling import EXACT_RSS_ENV

    def one(reps: tuple, env: dict) -> dict:
        cmd = [sys.executable, str(here / "model_scaling.py"), "--one", ",".join(map(str, reps)),
               "--device", "cpu", "--repeats", "2", "--model", model_path]  # fmt: skip
        run = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
        return json.loads(run.stdout.strip().splitlines()[-1])

    rows = []
    for reps in repeats:
        row = one(reps, dict(os.environ))
        row["peak_mib"] = one(reps, {**os.environ, **EXACT_RSS_ENV})["peak_mib"]
        rows.append(row)
    atoms = np.log([r["atoms"] for r in rows])
    fit = {}
    for key in ("forward_s", "peak_mib"):
        vals = np.array([max(r[key], 1e-9) for r in rows])
        fit[key] = float(np.polyfit(atoms[-3:], np.log(vals[-3:]), 1)[0]) if len(rows) > 1 else None
    return {"rows": rows, "exponent": fit}
