"""Predict Hamiltonians: build S and H0 with the engine settings the model was trained on (no
SCF), apply the model, and write H = H0 + ΔH with S as a nextham store (``OUT/entries/*.h5``,
the ``HT`` slot holding the prediction) and, with ``--format``, in the DeepH/DeePTB layouts.
Each structure gets a reliability flag (``ok``/``warn``/``fail`` with reasons; see
docs/predict.md). A committee model file gates the correction, H = H0 + g ⊙ ΔH, with g per
block from its calibrated uncertainty; ``--no-gate`` writes the raw H0 + ΔH. A prediction
whose estimated flag says ``warn``/``fail`` (cells up to 16 atoms), or every one with
``--verify``, is checked against self-consistency (one Fock build of its density and of H0's):
the check sets the flag, and the H written is whichever of the gated H, the raw H0 + ΔH and H0
is closest to self-consistency (H0 where the correction does not help); ``--no-verify`` never
checks.
"""

from __future__ import annotations

import argparse
import sys

from nextham.cli.arguments import add_verify_arguments

HELP = "predict H (and S) of structures with a trained model (default: the shipped model)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("structures", nargs="+", help="structure files (POSCAR, CIF, extxyz, …)")
    p.add_argument("--model", default=None, help="model file (default: the shipped model)")
    p.add_argument("--out", required=True, help="output directory (a nextham store)")
    p.add_argument("--format", action="append", choices=("deeph", "deeptb"), default=[],
                   help="also write this layout under OUT/<format>/ (repeatable)")  # fmt: skip
    p.add_argument("--h0", default="auto", choices=("auto", "reference", "multigrid"),
                   help="H0 build: multigrid where it applies (auto, fast) or the engine's FFT "
                        "reference used for training data")  # fmt: skip
    p.add_argument(
        "--no-gate",
        action="store_true",
        help="write the raw H0 + ΔH of a committee model (no uncertainty gate)",
    )
    add_verify_arguments(p, "each prediction")
    p.add_argument("--spin", default=None, choices=("scalar", "soc"),
                   help="soc with a scalar model: H0 carries the GTH spin–orbit term, the "
                        "model's correction is added spin-diagonally (default: the model's "
                        "own spin mode)")  # fmt: skip
    p.add_argument("--spectra", default="auto", choices=("auto", "dense", "sparse"),
                   help="Fermi level by dense diagonalization or by sparse inertia slicing "
                        "(auto: sparse above 2000 orbitals, spin included)")  # fmt: skip
    p.add_argument("--workers", type=int, default=None,
                   help="processes building a large cell's H0 (default: the usable cores, "
                        "at most $OMP_NUM_THREADS, or $NEXTHAM_WORKERS)")  # fmt: skip


def _export(ds, name: str, record: dict, formats: list[str]) -> None:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import os
    import shutil

    from nextham.formats import FORMATS

    for fmt in formats:
        final = ds.path / fmt / name
        tmp = final.parent / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        FORMATS[fmt].write(record, tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from nextham.cli.common import flag_text, gate_line
    from nextham.predict import Predictor
    from nextham.predict.verify import check_verifiable
    from nextham.store.dataset import Dataset
    from nextham.structures.read import read_structures

    predictor = Predictor.from_file(args.model)
    predictor.h0_method = args.h0
    predictor.spectral_method = args.spectra
    predictor.workers = args.workers
    predictor.gate = not args.no_gate
    predictor.verify = args.verify
    print(gate_line(predictor))
    structures = read_structures(args.structures)
    for name, atoms in structures:  # refuse before any work is done
        predictor.check(atoms, name)
        if args.verify == "always":
            check_verifiable(len(atoms), name)
    settings = predictor.run_settings(args.spin)  # refuses an impossible spin before any work
    ds = Dataset.create(args.out, settings, structures)
    table = Table("structure", "atoms", "H0 s", "model s", "E_F eV", "reliability")
    for name, atoms in track(structures, description="predict", transient=True):
        predictor.report = _reporter(name) if len(atoms) >= REPORT_ATOMS else None
        pred = predictor.predict(atoms, name, spin=args.spin)
        ds.add(name, pred.record)
        _export(ds, name, pred.record, args.format)
        flag = flag_text(pred.reliability)
        table.add_row(name, str(len(atoms)), f"{pred.times['h0_s']:.2f}",
                      f"{pred.times['model_s']:.2f}",
                      _fermi_text(pred.record["meta"]), flag)  # fmt: skip
    Console().print(table)
    print(f"wrote {len(structures)} predictions to {ds.path}")
    return 0


REPORT_ATOMS = 100
"""Structures from this size report each stage as it finishes (on stderr)."""


def _reporter(name: str):
    """One progress line per stage of a long prediction, on stderr."""
    return lambda line: print(f"{name}: {line}", file=sys.stderr, flush=True)


def _fermi_text(meta: dict) -> str:
    """E_F with the path that found it when that was the sparse one."""
    sparse = " (sparse)" if meta.get("fermi_level_method") == "sparse" else ""
    edges = meta.get("band_edges_ev")
    gap = f", gap {edges['gap']:.3f} at Γ" if edges else ""
    return f"{meta['fermi_level']:.3f}{sparse}{gap}"
