"""Cost and cutoff convergence of each element of nextham's table, in a 4 Å simple-cubic cell.

For every element: the FFT mesh PySCF picks by itself, the mesh at the table's cutoff, the wall
time of one H0 (SAD Fock at Γ) at the table's cutoff, and the largest change of the occupied
and lowest empty Γ eigenvalues when the cutoff is raised by 50 % (the convergence check).

    python benchmarks/element_cost.py [--spin scalar|soc] [--elements Si,Ga,...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg
from ase import Atoms

from nextham.conventions import HARTREE_EV
from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf
from nextham.dft.sad import sad_density
from nextham.dft.settings import KE_CUTOFF_EV, KE_CUTOFF_SOC_EV, EngineSettings, ke_cutoff_ev


def gamma_levels(atoms: Atoms, settings: EngineSettings) -> tuple[np.ndarray, float, list]:
    """Γ eigenvalues of H0 (eV), wall time of the H0 build (s), FFT mesh."""
    cell = build_cell(atoms, settings)
    mf = make_mf(cell, settings)
    t0 = time.perf_counter()
    f = np.asarray(mf.get_fock(dm=sad_density(mf)))[0]
    elapsed = time.perf_counter() - t0
    s = np.asarray(mf.get_ovlp())[0]
    return scipy.linalg.eigh(f, s, eigvals_only=True) * HARTREE_EV, elapsed, list(cell.mesh)


def auto_mesh(cell) -> int:
    """The FFT mesh PySCF chooses from the basis exponents and its precision (first axis)."""
    c = cell.copy()
    c.ke_cutoff, c.mesh = None, None
    c.build()
    return int(c.mesh[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spin", choices=("scalar", "soc"), default="scalar")
    p.add_argument("--elements", default=None, help="comma-separated; default: the whole table")
    args = p.parse_args()
    table = KE_CUTOFF_SOC_EV if args.spin == "soc" else KE_CUTOFF_EV
    elements = args.elements.split(",") if args.elements else list(table)
    print(f"{args.spin} mode, one atom in a 4 Å simple-cubic cell, Γ only")
    print("| element | auto mesh | cutoff eV | mesh | H0 s | max Δε at 1.5× cutoff (meV) |")
    print("|---|---|---|---|---|---|")
    for symbol in elements:
        atoms = Atoms(symbol, cell=np.eye(3) * 4.0, pbc=True)
        base = EngineSettings(spin=args.spin, kmesh=(1, 1, 1), smearing_ev=0.1)
        auto = auto_mesh(build_cell(atoms, base))
        cut = ke_cutoff_ev(atoms.numbers, base)
        e1, secs, mesh = gamma_levels(atoms, base)
        tight = EngineSettings(spin=args.spin, kmesh=(1, 1, 1), ke_cutoff_ev=1.5 * cut)
        e2, _, _ = gamma_levels(atoms, tight)
        n = min(len(e1), 12)
        delta = 1e3 * np.abs(e1[:n] - e2[:n]).max()
        row = f"| {symbol} | {auto}³ | {cut:.0f} | {mesh[0]}³ | {secs:.1f} | {delta:.1f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
