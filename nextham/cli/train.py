"""Train a model from one YAML config (see nextham/train/config.py for every key).

Rerunning the same command after an interruption resumes from the last checkpoint in the
config's ``out`` directory. For data-parallel training:
``torchrun --nproc_per_node=2 -m nextham.cli.main train CONFIG``.
"""

from __future__ import annotations

import argparse

HELP = "train a model (resumable; torchrun for data-parallel)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML training config")
    p.add_argument("--quiet", action="store_true", help="no per-epoch output")


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.train.config import TrainConfig
    from nextham.train.loop import fit

    cfg = TrainConfig.load(args.config)
    state = fit(cfg, progress=not args.quiet)
    best = state.get("best") or {}
    if best:
        mae, epoch = best["val_gauge_mae_meV"], best["epoch"]
        print(f"best validation Gauge MAE {mae:.3f} meV at epoch {epoch}")
        print(f"model: {cfg.out}/model.safetensors")
    return 0
