"""Export a dataset to another code's layout (ABACUS, DeepH, DeepX or DeePTB), one directory
per structure; every directory is written under a temporary name and renamed into place."""

from __future__ import annotations

import argparse

HELP = "export a dataset in the ABACUS, DeepH, DeepX or DeePTB layout"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--format", required=True, choices=("abacus", "deeph", "deepx", "deeptb"))
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--units", choices=("ry", "ev"), default=None,
                   help="abacus: units of H(R) (default ry, as ABACUS writes)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import os
    import shutil
    from collections import Counter
    from pathlib import Path

    from rich.progress import track

    from nextham.errors import InputError
    from nextham.formats import FORMATS
    from nextham.store.dataset import Dataset

    if args.units is not None and args.format != "abacus":
        raise InputError("--units applies to --format abacus only; drop it")
    options = {"units": args.units or "ry"} if args.format == "abacus" else {}
    ds = Dataset(args.dataset)
    fmt = FORMATS[args.format]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    position = Counter()  # abacus: which r(R) each rR file holds
    for name in track(ds.names, description=f"export {args.format}"):
        tmp = out / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        position[fmt.write(ds.load(name), tmp, **options)] += 1  # complete before it is visible
        shutil.rmtree(out / name, ignore_errors=True)
        os.replace(tmp, out / name)
    print(f"wrote {len(ds)} structures to {out}")
    if args.format == "abacus":
        print(f"rR: the exact position matrix for {position['exact']} structures, the two-centre "
              f"approximation ½(τ_i + τ_j + R)S for {position['two-centre']} (no position matrix "
              "stored; generate with --position-matrix)")  # fmt: skip
    return 0
