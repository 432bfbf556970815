"""Cost of one label, reference path against the multigrid path, side by side in one run.

For each structure: ``compute_record`` with ``method="reference"`` (PySCF's FFT SCF, then its
Fock matrix at every k of the transform mesh) and ``method="multigrid"`` (multigrid SCF, T and
V_nl analytic, the local potential of the SAD and of the converged density folded straight to
real space), the wall time of each stage, the cost ratio and the largest |ΔH0|, |ΔHT| of any
block entry (meV). Each row is cached in ``--work`` as it finishes (an interrupted run resumes).

    OMP_NUM_THREADS=1 python benchmarks/generate_cost.py --work ~/nextham-data/generate-cost
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from nextham.dft.element_table import measured_cutoff_ev
from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K
from nextham.store.atomic import atomic_write_text

NEW_FAMILY = "szv-molopt-sr"
NEW_CUTOFF_EV = 2000.0
"""Cutoff of the new-element systems where the measured element table has none yet."""


def rattled(atoms: Atoms, seed: int = 0, amp: float = 0.03) -> Atoms:
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(0, amp, atoms.positions.shape)
    return atoms


def systems() -> dict[str, tuple[Atoms, EngineSettings]]:
    """The structures of the comparison and their settings."""
    szv = EngineSettings()
    out = {
        "Si2": (rattled(bulk("Si", "diamond", a=5.43)), szv),
        "SiC": (rattled(bulk("SiC", "zincblende", a=4.36)), szv),
        "GaAs": (rattled(bulk("GaAs", "zincblende", a=5.65)), szv),
        "Si16": (rattled(bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 1, 1))), szv),
    }
    new = {
        "Ti (hcp)": bulk("Ti"),
        "MgO": bulk("MgO", "rocksalt", a=4.21),
        "Bi": bulk("Bi"),
    }
    for name, atoms in new.items():
        cuts = [measured_cutoff_ev(s, NEW_FAMILY) for s in set(atoms.get_chemical_symbols())]
        cut = max([c for c in cuts if c is not None], default=NEW_CUTOFF_EV)
        out[name] = (rattled(atoms), EngineSettings(basis=NEW_FAMILY, ke_cutoff_ev=cut))
    return out


def run_one(atoms: Atoms, settings: EngineSettings) -> dict:
    recs, row = {}, {"natoms": len(atoms), "settings": settings.to_dict()}
    for method in ("reference", "multigrid"):
        t0 = time.perf_counter()
        rec = compute_record(atoms, settings, method=method)
        meta = rec[K.META]
        row[method] = {
            "wall_s": time.perf_counter() - t0,
            **{k: meta[k] for k in ("time_h0_s", "time_scf_s", "time_ht_transform_s",
                                    "scf_cycles", "roundtrip_error_ht_ev", "mesh")},
        }  # fmt: skip
        recs[method] = rec
    for key in (K.H0, K.HT):
        diff = np.abs(recs["reference"][key] - recs["multigrid"][key])
        row[f"max_d{key}_mev"] = 1e3 * float(diff.max())
    row["ratio"] = row["reference"]["wall_s"] / row["multigrid"]["wall_s"]
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True, help="directory of the cached rows")
    p.add_argument("--only", default=None, help="comma-separated system names")
    args = p.parse_args()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    chosen = systems()
    names = args.only.split(",") if args.only else list(chosen)
    print(f"{date.today()}, {platform.processor() or platform.machine()}; wall times in s")
    print("| structure | atoms | reference s (H0 / SCF / HT) | multigrid s (H0 / SCF / HT) | "
          "ratio | max ΔH0 meV | max ΔHT meV |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for name in names:
        path = work / f"{name.replace(' ', '_')}.json"
        if not path.exists():
            atomic_write_text(path, json.dumps(run_one(*chosen[name]), indent=1))
        row = json.loads(path.read_text())
        ref, fast = row["reference"], row["multigrid"]

        def split(r: dict) -> str:
            stages = (r["time_h0_s"], r["time_scf_s"], r["time_ht_transform_s"])
            return f"{r['wall_s']:.1f} ({' / '.join(f'{t:.1f}' for t in stages)})"

        ratios.append(row["ratio"])
        print(f"| {name} | {row['natoms']} | {split(ref)} | {split(fast)} | {row['ratio']:.2f} | "
              f"{row['max_dH0_mev']:.3f} | {row['max_dHT_mev']:.3f} |", flush=True)  # fmt: skip
    print(f"\nmedian cost ratio {np.median(ratios):.2f} over {len(ratios)} structures")


if __name__ == "__main__":
    main()
