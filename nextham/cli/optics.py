"""Interband optical spectrum: dielectric function ε(ω) and conductivity σ(ω) by Kubo–Greenwood.

``INPUT`` as for ``nextham bands``: a structure file (predicted with ``--model``, default the
shipped model) or a store entry (``*.h5``; with ``--model`` the entry's DFT Hamiltonian is the
reference). ``--dft`` computes the reference from a PySCF SCF of the structure. Writes the
plot and the numbers (``.json``, ``.csv``) beside it.
"""

from __future__ import annotations

import argparse

HELP = "optical conductivity and dielectric function (Kubo–Greenwood) of predicted/stored H"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="structure file (POSCAR, CIF, …) or store entry (.h5)")
    p.add_argument("--model", default=None, help="model file (default: the shipped model)")
    p.add_argument("--out", default="optics.png", help="PNG path; .json/.csv written beside it")
    p.add_argument("--kmesh", default="8,8,8", help="Γ-centred k-mesh")
    p.add_argument("--width", type=float, default=0.1, help="broadening, eV")
    p.add_argument("--broadening", choices=("lorentzian", "gaussian"), default="lorentzian")
    p.add_argument("--omega-max", type=float, default=10.0, help="largest ħω, eV")
    p.add_argument("--points", type=int, default=400, help="number of frequencies")
    p.add_argument("--dft", action="store_true", help="reference from a PySCF SCF")
    p.add_argument("--two-centre", action="store_true",
                   help="velocities from the two-centre approximation r ≈ ½(τ_i + τ_j + R) S "
                        "instead of the exact position matrix")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from pathlib import Path

    import numpy as np
    from rich.progress import track

    from nextham.dft.label import compute_record
    from nextham.optics import optical_spectrum, plot_spectrum, relative_l1
    from nextham.predict.inputs import load_input

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kmesh = tuple(int(x) for x in args.kmesh.split(","))
    omega = np.linspace(args.omega_max / args.points, args.omega_max, args.points)
    inp = load_input(args.input, args.model)
    for warning in inp.warnings:
        print(f"warning: {warning}")
    rec, ref_rec = inp.record, inp.reference
    if ref_rec is None and args.dft:
        ref_rec = compute_record(inp.atoms, inp.settings)

    def spectrum(record, label):
        if not args.two_centre:
            record = with_position_matrix(record)
        spec = optical_spectrum(
            record, kmesh, omega, args.width, args.broadening, label=label,
            progress=lambda it: track(it, description=f"optics {label}", transient=True),
            two_centre=args.two_centre,
        )  # fmt: skip
        print(f"{label}: velocities {spec.settings['velocity']}")
        return spec

    label = "nextham" if rec["meta"].get("hamiltonian") == "predicted" else "DFT (stored)"
    spec = spectrum(rec, label)
    ref = spectrum(ref_rec, "DFT") if ref_rec is not None else None
    plot_spectrum(spec, out, ref)
    spec.to_json(out.with_suffix(".json"))
    spec.to_csv(out.with_suffix(".csv"))
    eps0 = spec.eps_average()[0].real
    print(f"{spec.formula}: Re ε(ħω={omega[0]:.3f} eV) = {eps0:.3f} ({label})")
    if ref is not None:
        ref.to_json(out.with_name(out.stem + ".reference.json"))
        print(f"relative L1 of Im ε vs DFT over {omega[0]:.2f}–{omega[-1]:.1f} eV: "
              f"{relative_l1(spec, ref):.4f}")  # fmt: skip
    print(f"wrote {out}, {out.with_suffix('.json')}, {out.with_suffix('.csv')}")
    return 0


def with_position_matrix(record: dict) -> dict:
    """``record`` with its position matrix: stored, else computed by the engine (engine
    records); an imported record without one is returned as it is (two-centre fallback)."""
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.dft.position import record_position_matrix
    from nextham.errors import InputError
    from nextham.record import keys as K

    if K.R_MATRIX in record:
        return record
    try:
        return {**record, K.R_MATRIX: record_position_matrix(record)}
    except InputError as exc:
        print(f"note: {exc}")
        return record
