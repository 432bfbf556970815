"""Join models trained with one config and different seeds into a committee file whose
members' spread, calibrated on the validation split, gives the uncertainty of ΔH, the gate
H = H0 + g ⊙ ΔH and the uncertainty part of the reliability flag (docs/predict.md).
"""

from __future__ import annotations

import argparse

HELP = "join models of different seeds into a calibrated committee (uncertainty and gate)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="+", help="member model files (same config and split)")
    p.add_argument("--out", required=True, help="committee model file (.safetensors)")
    p.add_argument("--data", action="append", default=None,
                   help="dataset directory of the members' training (repeatable; default: "
                        "the paths in their training config)")  # fmt: skip
    p.add_argument("--budget", type=float, default=0.05,
                   help="largest validation Gauge MAE increase of the gate (0.05)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.errors import InputError
    from nextham.train.committee import build_committee

    if len(args.models) < 2:
        raise InputError("a committee needs at least two model files")
    unc = build_committee(args.models, args.out, args.data, args.budget)
    val = unc["validation"]
    print(f"calibration on {val['n_structures']} validation structures: scale {unc['scale']:.3g}, "
          f"tau {unc['tau']:g} (budget {100 * val['budget']:.0f}%), block rank correlation "
          f"{val['spearman_block']:.2f}")  # fmt: skip
    print(f"wrote {args.out}")
    return 0
