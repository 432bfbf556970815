"""Spin–orbit splitting at Γ of heavy-element crystals: the same SCF with and without SOC.

Runs KGKS with the SO-ECPs of nextham's element table (``with_soc=True``) and the identical run
with ``with_soc=False`` (scalar part of the same ECP), then prints the eigenvalues at Γ near
the Fermi level and the splitting of degenerate p manifolds. Slow (minutes per crystal).
``--soc-method gth`` does the same with the GTH pseudopotentials' spin–orbit projectors in a
GTH basis family (``--basis``, ``--ke-cutoff``).

    python benchmarks/soc_splitting.py [--kmesh 2,2,2]
    python benchmarks/soc_splitting.py --soc-method gth --basis dzvp-molopt-sr --ke-cutoff 600
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from ase.build import bulk

from nextham.conventions import HARTREE_EV
from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf
from nextham.dft.settings import EngineSettings
from nextham.spectra.occupations import fermi_level

CRYSTALS = {
    "Pb (fcc)": lambda: bulk("Pb", "fcc", a=4.95),
    "PbTe (rocksalt)": lambda: bulk("PbTe", "rocksalt", a=6.46),
    "Bi (A7)": lambda: bulk("Bi"),
}


def gamma_levels(atoms, kmesh, with_soc: bool, **engine) -> tuple:
    """Eigenvalues at Γ relative to E_F (eV), SCF time, Fermi level, cycles, FFT mesh;
    ``engine``: further :class:`EngineSettings` fields (``soc_method``, ``basis``, …)."""
    settings = EngineSettings(spin="soc", kmesh=kmesh, **engine)
    cell = build_cell(atoms, settings)
    mf = make_mf(cell, settings)
    mf.with_soc = with_soc
    t0 = time.perf_counter()
    mf.kernel()
    elapsed = time.perf_counter() - t0
    eigs = [np.asarray(e) * HARTREE_EV for e in mf.mo_energy]
    e_f = fermi_level(eigs, float(cell.nelectron), settings.smearing_ev, 1.0)
    g = int(np.argmin(np.linalg.norm(cell.get_scaled_kpts(mf.kpts), axis=1)))
    return eigs[g] - e_f, elapsed, e_f, int(getattr(mf, "cycles", -1)), cell.mesh


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kmesh", default="2,2,2")
    p.add_argument("--soc-method", default="ecp", choices=("ecp", "gth"))
    p.add_argument("--basis", default=EngineSettings.basis)
    p.add_argument("--ke-cutoff", type=float, default=None, help="eV (default: the table's)")
    p.add_argument("--crystals", default=",".join(CRYSTALS))
    args = p.parse_args()
    kmesh = tuple(int(x) for x in args.kmesh.split(","))
    engine = {"soc_method": args.soc_method, "basis": args.basis, "ke_cutoff_ev": args.ke_cutoff}
    print("| crystal | mesh | SOC | SCF s | cycles | Γ levels within E_F −15…+5 eV (eV) |")
    print("|---|---|---|---|---|---|")
    for name in args.crystals.split(","):
        for soc in (False, True):
            levels, secs, _, cycles, mesh = gamma_levels(CRYSTALS[name](), kmesh, soc, **engine)
            win = levels[(levels > -15) & (levels < 8)]
            shown = " ".join(f"{x:.2f}" for x in win[::2])  # one per Kramers pair
            grid = "x".join(map(str, mesh))
            print(f"| {name} | {grid} | {soc} | {secs:.0f} | {cycles} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
