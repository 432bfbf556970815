"""Two models on the same structures: those of model B's split that model A never trained on.

Models trained on different copies of a growing campaign have different splits; this scores
both on the structures of B's ``--split`` (test or ood) outside A's training and validation
splits, with ``nextham evaluate``'s metrics, and prints one row per model: Gauge MAE pooled over
entries (× H0), × H0 per s / p / d block, the median over structures of each structure's ratio
to H0, the structures made worse than H0, band MAE mean / median (meV) and ghost states.

    python benchmarks/paired_eval.py A.safetensors B.safetensors SHARD [SHARD ...] \\
        [--split test] [--kmesh 4,4,4] [--json OUT]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from nextham.evaluate import evaluate_dataset
from nextham.model.files import load_model
from nextham.spectra.kspace import gamma_mesh

PAIRED = "paired"


def shared_names(meta_a: dict, meta_b: dict, split: str) -> list[str]:
    """The structures of B's ``split`` that are in neither A's training nor validation split."""
    seen = set(meta_a["split"].get("train", [])) | set(meta_a["split"].get("val", []))
    return [n for n in meta_b["split"].get(split, []) if n not in seen]


def row(label: str, report: dict) -> str:
    """One Markdown row of a report of :func:`nextham.evaluate.evaluate_dataset`."""

    def ratio(s: dict) -> float:
        return s["model"]["gauge_mae"]["overall"]["mae_meV"] / s["zero_correction"][
            "gauge_mae"]["overall"]["mae_meV"]  # fmt: skip

    s, blocks = report["summary"], report["by"]["block"]
    per_block = " / ".join(f"{ratio(blocks[b]):.2f}" if b in blocks else "–" for b in "spd")
    per = np.array([ratio(x) for x in report["structures"].values()])
    bands = [x["model"]["bands"]["mae_meV"] for x in report["structures"].values()]
    bands = np.array([b for b in bands if b is not None], dtype=float)
    gauge = s["model"]["gauge_mae"]["overall"]["mae_meV"]
    return (f"| {label} | {gauge:.3f} ({ratio(s):.2f}) | {per_block} | {np.median(per):.2f} | "
            f"{int((per > 1).sum())} of {per.size} | {bands.mean():.0f} / {np.median(bands):.0f} "
            f"| {s['model']['ghost_states']['total']} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_a")
    ap.add_argument("model_b")
    ap.add_argument("shards", nargs="+", help="the datasets (a campaign's shard directories)")
    ap.add_argument("--split", default="test", help="B's split: test or ood")
    ap.add_argument("--kmesh", default="4,4,4")
    ap.add_argument("--json", default=None, help="both reports and the names (optional)")
    args = ap.parse_args(argv)
    (a, meta_a), (b, meta_b) = load_model(args.model_a), load_model(args.model_b)
    names = shared_names(meta_a, meta_b, args.split)
    print(f"{len(names)} of {len(meta_b['split'].get(args.split, []))} structures of B's "
          f"{args.split} split are outside A's training and validation splits\n")  # fmt: skip
    if not names:
        return 1
    kpts = gamma_mesh(tuple(int(x) for x in args.kmesh.split(",")))
    print("| model | Gauge MAE (× H0) | s / p / d | median ratio | worse than H0 | band MAE "
          "| ghosts |\n|---|---|---|---|---|---|---|")  # fmt: skip
    reports = {}
    for label, model, meta in (("A", a, meta_a), ("B", b, meta_b)):
        shared = {**meta, "split": {PAIRED: names}}
        reports[label] = evaluate_dataset(model, shared, args.shards, PAIRED, kpts, by=("block",))
        print(row(f"{label}: {getattr(args, f'model_{label.lower()}')}", reports[label]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"names": names, **reports}, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
