"""Band structure and DOS plot, with the numbers as JSON and CSV.

``INPUT`` is a structure file (predicted with ``--model``, default the shipped model) or a store
entry (``*.h5``): a dataset entry plots its DFT Hamiltonian — or, with ``--model``, the
prediction with the entry's DFT bands overlaid; a prediction entry plots the stored prediction.
``--dft`` overlays bands from a PySCF SCF of the structure (``get_bands``).

Cells whose H(k) has more than 2,000 rows (spin included) take the sparse path (E_F by inertia
slicing, ``--sparse-bands`` bands around E_F by shift-invert, DOS by KPM); ``--spectra`` forces
either path. The output says which was used.
"""

from __future__ import annotations

import argparse

from nextham.cli.arguments import add_verify_arguments

HELP = "band structure + DOS plot of a predicted or stored Hamiltonian"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="structure file (POSCAR, CIF, …) or store entry (.h5)")
    p.add_argument("--model", default=None, help="model file (default: the shipped model)")
    p.add_argument("--out", default="bands.png", help="PNG path; .json/.csv written beside it")
    p.add_argument("--npoints", type=int, default=120, help="k-points along the path")
    p.add_argument("--kmesh", default="6,6,6", help="mesh for the Fermi level and DOS")
    p.add_argument("--dft", action="store_true", help="overlay self-consistent PySCF bands")
    p.add_argument("--window", default="-6,6", help="energy window around E_F, eV")
    p.add_argument("--spectra", default="auto", choices=("auto", "dense", "sparse"),
                   help="dense diagonalization or the sparse large-cell path (auto: sparse "
                        "above 2000 orbitals, spin included)")  # fmt: skip
    p.add_argument(
        "--no-gate",
        action="store_true",
        help="plot the raw H0 + ΔH of a committee model (no uncertainty gate)",
    )
    add_verify_arguments(p, "the prediction")
    p.add_argument("--sparse-bands", type=int, default=24,
                   help="bands around E_F on the sparse path")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from pathlib import Path

    import numpy as np

    from nextham.bands import band_path, band_structure, dft_bands, plot_bands
    from nextham.cli.common import flag_text
    from nextham.loss.metrics import band_mae
    from nextham.predict.inputs import load_input
    from nextham.record import keys as K

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kmesh = tuple(int(x) for x in args.kmesh.split(","))
    window = tuple(float(x) for x in args.window.split(","))
    inp = load_input(args.input, args.model, gate=not args.no_gate, verify=args.verify)
    for warning in inp.warnings:
        print(f"warning: {warning}")
    if inp.reliability:
        print("reliability: " + flag_text(inp.reliability).splitlines()[0])
    rec, atoms, settings, ref_rec = inp.record, inp.atoms, inp.settings, inp.reference
    path = band_path(rec[K.CELL], args.npoints)
    source = "nextham" if rec[K.META].get("hamiltonian") == "predicted" else "DFT (stored)"
    opts = {"kmesh": kmesh, "path": path, "method": args.spectra, "n_bands": args.sparse_bands}
    bs = band_structure(rec, npoints=args.npoints, source=source, **opts)
    bs.reliability = inp.reliability
    print(_method_line(bs, rec))
    if ref_rec is not None:
        ref = band_structure(ref_rec, npoints=args.npoints, **opts)
        bs.reference = {"bands": ref.bands, "fermi_level": ref.fermi_level, "label": "DFT",
                        "first_band": ref.first_band}  # fmt: skip
    elif args.dft:
        bs.reference = {**dft_bands(atoms, settings, path.kpts), "first_band": 0}
    plot_bands(bs, out, window)
    bs.to_json(out.with_suffix(".json"))
    bs.to_csv(out.with_suffix(".csv"))
    print(f"{bs.formula}: E_F = {bs.fermi_level:.3f} eV ({source})")
    if bs.reference is not None:
        a, b = np.asarray(bs.reference["bands"]), np.asarray(bs.bands)
        a = a[:, bs.first_band - bs.reference.get("first_band", 0) :]
        m = min(a.shape[1], b.shape[1])
        shift = bs.fermi_level - bs.reference["fermi_level"]
        mae = band_mae(a[:, :m], b[:, :m] - shift, bs.reference["fermi_level"])["mae_meV"]
        print(f"band MAE vs {bs.reference['label']} within E_F ± 2 eV (E_F aligned): {mae:.1f} meV")
    print(f"wrote {out}, {out.with_suffix('.json')}, {out.with_suffix('.csv')}")
    return 0


def _method_line(bs, record: dict) -> str:
    """Which spectral path made ``bs``, in one line."""
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.spectra.largecell import SPARSE_THRESHOLD, matrix_size

    size = f"H(k) {matrix_size(record)} × {matrix_size(record)}"
    if bs.method == "dense":
        return f"spectra: dense diagonalization ({size})"
    last = bs.first_band + len(bs.bands[0]) - 1
    return (
        f"spectra: sparse ({size}, threshold {SPARSE_THRESHOLD}): E_F by inertia slicing, "
        f"bands {bs.first_band}–{last} by shift-invert, DOS by KPM"
    )
