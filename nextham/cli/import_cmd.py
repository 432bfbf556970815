"""Import Hamiltonians written by another code (ABACUS, DeepH, DeepX, DeePTB) into a nextham
dataset: one entry per structure directory, named by the directory. The dataset records its
source instead of engine settings; entries carry S and H (and H0 when the source has one), so
``inspect``, ``bands``, ``optics`` and ``export`` work on them. The dataset is written under a
temporary name and appears only when every structure was read.
"""

from __future__ import annotations

import argparse

HELP = "import another code's Hamiltonians (abacus, deeph, deepx, deeptb) into a dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="a structure directory or a tree of them")
    p.add_argument("--format", required=True, choices=("abacus", "deeph", "deepx", "deeptb"))
    p.add_argument("--out", required=True, help="new dataset directory")
    p.add_argument("--orbitals", action="append", default=[], metavar="EL=L,L,…",
                   help="shells of an element when the files do not state them, e.g. "
                   "Si=0,0,1,1,2 (repeat per element)")  # fmt: skip
    p.add_argument("--valence", default=None, metavar="EL=N,…",
                   help="valence electrons per element when the source states no electron "
                   "count, e.g. Si=4,O=6")  # fmt: skip
    p.add_argument("--units", choices=("ry", "ev"), default="ry",
                   help="abacus: units of H(R) in the files (ABACUS writes Rydberg)")  # fmt: skip
    p.add_argument("--kmesh", default="6,6,6",
                   help="mesh of the Fermi level computed when the source states none")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import shutil
    import tempfile
    from pathlib import Path

    from rich.progress import track

    from nextham.errors import InputError
    from nextham.formats import FORMATS
    from nextham.formats.tree import structure_dirs
    from nextham.predict.inputs import record_atoms
    from nextham.store.dataset import Dataset

    fmt, out = FORMATS[args.format], Path(args.out)
    if args.units != "ry" and args.format != "abacus":
        raise InputError("--units applies to --format abacus only; drop it")
    if out.exists():
        raise InputError(f"{out}: already exists; import into a new directory")
    hints = _hints(args.orbitals, args.valence)
    kmesh = tuple(int(x) for x in args.kmesh.split(","))
    dirs = structure_dirs(args.source, fmt.REQUIRED, args.format)
    options = {"units": args.units} if args.format == "abacus" else {}
    records = []
    for name, path in track(dirs, description=f"import {args.format}"):
        records.append((name, _with_fermi(fmt.read(path, hints, **options), kmesh)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        source = {"format": args.format, "path": str(Path(args.source).resolve())}
        ds = Dataset.create(tmp, None, [(n, record_atoms(r)) for n, r in records], source)
        for name, rec in records:
            ds.add(name, rec)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n_h0 = sum("H0" in r for _, r in records)
    print(f"imported {len(records)} structures from {args.source} ({args.format}) to {out}; "
          f"{n_h0} carry H0")  # fmt: skip
    return 0


def _hints(orbitals: list[str], valence: str | None):
    """ImportHints from ``--orbitals EL=l,l,…`` (repeated) and ``--valence EL=n,…``."""
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.errors import InputError
    from nextham.formats.blocks import ImportHints

    try:
        shells = {
            k: tuple(int(x) for x in v.split(",")) for k, v in (o.split("=") for o in orbitals)
        }
        electrons = {}
        for item in (valence or "").split(","):
            if item.strip():
                el, n = item.split("=")
                electrons[el.strip()] = float(n)
    except ValueError:
        raise InputError(
            "--orbitals takes EL=l,l,… (e.g. Si=0,0,1,1,2) and --valence EL=n,… (e.g. Si=4,O=6)"
        ) from None
    return ImportHints(orbitals=shells, valence=electrons)


def _with_fermi(record: dict, kmesh: tuple[int, int, int]) -> dict:
    """The record, with a Fermi level computed on ``kmesh`` when the source states none."""
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.dft.settings import EngineSettings
    from nextham.spectra.eigen import mesh_fermi_level

    meta = record["meta"]
    if meta.get("fermi_level") is None and meta.get("n_electrons") is not None:
        smearing = EngineSettings().smearing_ev
        meta["fermi_level"] = mesh_fermi_level(record, record["HT"], kmesh, smearing)[0]
        meta["fermi_level_from"] = f"computed at import: {kmesh} mesh, {smearing} eV smearing"
    return record
