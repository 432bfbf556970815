"""Cost of one spin–orbit label (GTH projectors, MOLOPT-SR basis): the path as it was, against
today's, side by side.

For each crystal, ``compute_record`` (``--spin soc --soc-method gth``) twice:

``before``  the engine's fast paths off (:func:`nextham.dft.fast_paths.disabled`): PySCF's KGKS
            potential at every SCF cycle (the collinear functional on the 2n-orbital spinor
            density), PySCF's spinor Fock matrix at every k of the transform mesh for H0 and
            HT, no orbital-value cache;
``now``     the default: the SCF potential of the non-magnetic density from the scalar
            machinery, H0 and HT from one folded sweep of the scalar twin ⊗ 1₂ plus the GTH
            V_SO blocks (:mod:`nextham.dft.nonmagnetic`), the cache.

The table gives each path's wall time (H0 / SCF / HT stages), the ratio, the largest |ΔH0|,
|ΔHT| of any block entry between the two (meV), and both labels' round-trip error and spectral
check. Rows are cached in ``--work`` as they finish; ``--only`` splits them over processes.

    OMP_NUM_THREADS=1 python benchmarks/soc_label_cost.py --work ~/nextham-data/soc-label-cost
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_cost import stage_split, timed_label

from nextham.dft.settings import EngineSettings
from nextham.record import keys as K
from nextham.store.atomic import atomic_write_text

CRYSTALS = {
    "GaAs": ("GaAs", "zincblende", 5.65),
    "AlAs": ("AlAs", "zincblende", 5.66),
    "InSb": ("InSb", "zincblende", 6.48),
    "PbTe": ("PbTe", "rocksalt", 6.46),
}
"""Name → (formula, ASE prototype, lattice constant Å); each rattled by 0.03 Å (seed 0)."""

SETTINGS = EngineSettings(spin="soc", soc_method="gth", basis="szv-molopt-sr", kmesh=(2, 2, 2))


def crystal(name: str):
    formula, kind, a = CRYSTALS[name]
    atoms = bulk(formula, kind, a=a)
    atoms.positions += np.random.default_rng(0).normal(0, 0.03, atoms.positions.shape)
    return atoms


def run_one(name: str) -> dict:
    atoms, recs, row = crystal(name), {}, {"natoms": len(crystal(name))}
    for column, fast in (("before", False), ("now", True)):
        recs[column], row[column] = timed_label(atoms, SETTINGS, "reference", fast)
    for key in (K.H0, K.HT):
        row[f"d{key}_mev"] = 1e3 * float(np.abs(recs["now"][key] - recs["before"][key]).max())
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True, help="directory of the cached rows")
    p.add_argument("--only", default=None, help="comma-separated crystal names")
    args = p.parse_args()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    names = args.only.split(",") if args.only else list(CRYSTALS)
    print(f"{date.today()}, {platform.processor() or platform.machine()}; {SETTINGS.basis}, "
          f"k-mesh {SETTINGS.kmesh}; wall times in s (H0 / SCF / HT)")  # fmt: skip
    print("| crystal | atoms | before | now | before/now | max ΔH0 / ΔHT meV "
          "| round trip HT meV (before / now) | spectral check (before / now) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for name in names:
        path = work / f"{name}.json"
        if not path.exists():
            atomic_write_text(path, json.dumps(run_one(name), indent=1))
        row = json.loads(path.read_text())
        b, n = row["before"], row["now"]
        ratios.append(b["wall_s"] / n["wall_s"])
        trip = f"{1e3 * b['roundtrip_error_ht_ev']:.2f} / {1e3 * n['roundtrip_error_ht_ev']:.2f}"
        check = " / ".join("passed" if r["spectral_passed"] else "FAILED" for r in (b, n))
        print(
            f"| {name} | {row['natoms']} | {stage_split(b)} | {stage_split(n)} | {ratios[-1]:.2f} "
            f"| {row['dH0_mev']:.1e} / {row['dHT_mev']:.1e} | {trip} | {check} |",
            flush=True,
        )
    print(f"\nmedian cost ratio before/now {np.median(ratios):.2f} over {len(ratios)} crystals")


if __name__ == "__main__":
    main()
