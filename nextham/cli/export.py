"""Export a dataset to another code's layout (DeepH or DeePTB), one directory per structure."""

from __future__ import annotations

import argparse

HELP = "export a dataset in the DeepH or DeePTB layout"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--format", required=True, choices=("deeph", "deeptb"))
    p.add_argument("--out", required=True, help="output directory")


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import os
    import shutil
    from pathlib import Path

    from rich.progress import track

    from nextham.formats import FORMATS
    from nextham.store.dataset import Dataset

    ds = Dataset(args.dataset)
    fmt = FORMATS[args.format]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in track(ds.names, description=f"export {args.format}"):
        tmp = out / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        fmt.write(ds.load(name), tmp)  # complete before it becomes visible
        shutil.rmtree(out / name, ignore_errors=True)
        os.replace(tmp, out / name)
    print(f"wrote {len(ds)} structures to {out}")
    return 0
