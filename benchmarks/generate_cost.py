"""Cost of one label: the reference path as it was, against today's paths, side by side.

For each structure, ``compute_record`` three ways:

``before``     ``method="reference"`` as it was: PySCF's FFT SCF, then its Fock matrix at every
               k of the transform mesh with the lattice sums of the orbitals' Bloch sums done
               per k, every orbital value recomputed at every Fock build (no cache, no fold,
               PySCF's own Fock build at the spectral check's k-points);
``reference``  the same numbers as today's default reference path does them: the orbital-value
               cache (:mod:`nextham.dft.ao_cache`), H0 and HT at every mesh k from one
               folded sweep over the grid and the spectral check's Fock matrices in one pass
               (:mod:`nextham.dft.mesh_fock`);
``multigrid``  multigrid SCF, T and V_nl analytic, the local potential of the SAD and of the
               converged density folded straight to real space, with the cache.

``auto`` (the default of ``nextham generate``) is ``multigrid`` where every element is verified
(:data:`nextham.dft.gridfock.VERIFIED_ELEMENTS`) and ``reference`` elsewhere; the table gives
each path's wall time (H0 / SCF / HT stages), the ratio ``before`` / ``auto``, the largest
|ΔH0|, |ΔHT| of any block entry (meV) of ``reference`` against ``before`` (the fold changes the
order of sums only) and of ``multigrid`` against ``reference``.
Each row is cached in ``--work`` as it finishes (an interrupted run resumes).

    OMP_NUM_THREADS=1 python benchmarks/generate_cost.py --work ~/nextham-data/generate-cost-v3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from nextham.dft import fast_paths, label
from nextham.dft.cell import build_cell
from nextham.dft.element_table import measured_cutoff_ev
from nextham.dft.engine import resolve_h0_method
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


RUNS = {"before": ("reference", False), "reference": ("reference", True),
        "multigrid": ("multigrid", True)}  # fmt: skip
"""Column → (method, today's speed-ups: orbital-value cache, folded mesh sweep, one-pass band
Fock builds)."""


def timed_label(atoms: Atoms, settings: EngineSettings, method: str, fast: bool) -> tuple:
    """(the record, its row: wall time, stage times, SCF cycles, round trip, mesh, spectral
    check) of one label, with the engine's fast paths on or off."""
    t0 = time.perf_counter()
    with contextlib.nullcontext() if fast else fast_paths.disabled():
        rec = label.compute_record(atoms, settings, method=method)
    meta = rec[K.META]
    row = {
        "wall_s": time.perf_counter() - t0,
        **{k: meta[k] for k in ("time_h0_s", "time_scf_s", "time_ht_transform_s",
                                "scf_cycles", "roundtrip_error_ht_ev", "mesh")},
        "spectral_passed": meta["spectral_check"]["passed"],
    }  # fmt: skip
    return rec, row


def run_one(atoms: Atoms, settings: EngineSettings) -> dict:
    recs, row = {}, {"natoms": len(atoms), "settings": settings.to_dict()}
    for column, (method, fast) in RUNS.items():
        recs[column], row[column] = timed_label(atoms, settings, method, fast)
    cell = build_cell(atoms, settings)
    row["auto"] = resolve_h0_method(cell, settings, "auto")
    for key in (K.H0, K.HT):
        diff = np.abs(recs["reference"][key] - recs["multigrid"][key])
        row[f"max_d{key}_mev"] = 1e3 * float(diff.max())
        row[f"fold_d{key}_mev"] = 1e3 * float(
            np.abs(recs["reference"][key] - recs["before"][key]).max()
        )
    return row


def auto_columns(row: dict) -> tuple[float, float]:
    """(ratio before / auto, largest |ΔHT| of auto against before in meV)."""
    fast = row[row["auto"]]
    d_ht = row["max_dHT_mev"] if row["auto"] == "multigrid" else row["fold_dHT_mev"]
    return row["before"]["wall_s"] / fast["wall_s"], d_ht


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True, help="directory of the cached rows")
    p.add_argument("--only", default=None, help="comma-separated system names")
    args = p.parse_args()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    chosen = systems()
    names = args.only.split(",") if args.only else list(chosen)
    print(f"{date.today()}, {platform.processor() or platform.machine()}; wall times in s "
          "(H0 / SCF / HT)")  # fmt: skip
    print("| structure | atoms | before | reference | multigrid | auto | before/auto | auto "
          "max ΔHT meV | reference vs before max ΔH0 / ΔHT meV | multigrid max ΔH0 / ΔHT meV "
          "| spectral check (before / reference / multigrid) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for name in names:
        path = work / f"{name.replace(' ', '_')}.json"
        if not path.exists():
            atomic_write_text(path, json.dumps(run_one(*chosen[name]), indent=1))
        row = json.loads(path.read_text())
        ratio, d_ht = auto_columns(row)
        ratios.append(ratio)
        passed = " / ".join("passed" if row[c]["spectral_passed"] else "FAILED" for c in RUNS)
        print(f"| {name} | {row['natoms']} | {stage_split(row['before'])} | "
              f"{stage_split(row['reference'])} | {stage_split(row['multigrid'])} | "
              f"{row['auto']} | "
              f"{ratio:.2f} | {d_ht:.3f} | {row['fold_dH0_mev']:.1e} / {row['fold_dHT_mev']:.1e} "
              f"| {row['max_dH0_mev']:.3f} / {row['max_dHT_mev']:.3f} "
              f"| {passed} |", flush=True)  # fmt: skip
    print(f"\nmedian cost ratio before/auto {np.median(ratios):.2f} over {len(ratios)} structures")


def stage_split(r: dict) -> str:
    """Wall time and (H0 / SCF / HT) stage times of a :func:`timed_label` row."""
    stages = (r["time_h0_s"], r["time_scf_s"], r["time_ht_transform_s"])
    return f"{r['wall_s']:.1f} ({' / '.join(f'{t:.1f}' for t in stages)})"


if __name__ == "__main__":
    main()
