"""The pair rule per basis family: which overlap threshold gives labels that pass the spectral
check (off-mesh bands of the stored H(R), S(R) against PySCF's, smallest S(k) eigenvalue,
states below E_F; :mod:`nextham.dft.spectral_check`).

For each family and each cell (Si₂ diamond and SiC zincblende, and fcc Al, a metal; rattled;
``--cells`` picks some), ``compute_record`` at
each threshold of ``--thresholds`` (2×2×2 SCF k-mesh; the family's default cutoff) and its
check. Rows are cached in ``--work`` as they finish, so an interrupted run resumes.

    OMP_NUM_THREADS=1 python benchmarks/pair_rule.py --work ~/nextham-data/pair-rule
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import date
from pathlib import Path

import numpy as np
from ase.build import bulk

from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.store.atomic import atomic_write_text

FAMILIES = ("szv", "dzvp", "szv-molopt-sr", "dzvp-molopt-sr")


def cells() -> dict:
    rng = np.random.default_rng(0)
    out = {"Si2": bulk("Si", "diamond", a=5.43), "SiC": bulk("SiC", "zincblende", a=4.36),
           "Al": bulk("Al", "fcc", a=4.05)}  # fmt: skip
    for atoms in out.values():
        atoms.positions += rng.normal(0, 0.03, atoms.positions.shape)
    return out


def row(family: str, name: str, atoms, threshold: float) -> dict:
    settings = EngineSettings(basis=family, kmesh=(2, 2, 2), overlap_threshold=threshold)
    rec = compute_record(atoms, settings, method="auto")
    meta = rec["meta"]
    return {
        "family": family, "cell": name, "threshold": threshold,
        "pairs": len(rec["edge_index"]), "transform_mesh": meta["transform_mesh"],
        "roundtrip_mev": 1e3 * meta["roundtrip_error_ht_ev"],
        "wall_s": meta["time_h0_s"] + meta["time_scf_s"] + meta["time_ht_transform_s"],
        **meta["spectral_check"],
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True, help="directory of cached rows")
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--thresholds", default="1e-5,1e-6")
    p.add_argument("--cells", default="Si2,SiC,Al")
    args = p.parse_args()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for family in args.families.split(","):
        for name, atoms in cells().items():
            if name not in args.cells.split(","):
                continue
            for thr in (float(t) for t in args.thresholds.split(",")):
                path = work / f"{family}-{name}-{thr:g}.json"
                if not path.exists():
                    atomic_write_text(path, json.dumps(row(family, name, atoms, thr), indent=1))
                rows.append(json.loads(path.read_text()))
    print(f"{date.today()}, {platform.machine()}; 2×2×2 SCF k-mesh, default cutoffs")
    print("| family | cell | threshold | pairs | band error meV | min eig S(k) | count mismatch "
          "| passed |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['family']} | {r['cell']} | {r['threshold']:g} | {r['pairs']} | "
              f"{1e3 * r['max_band_error_ev']:.3g} | {r['min_overlap_eig']:.2e} | "
              f"{r.get('count_mismatch', '-')} | {r['passed']} |")  # fmt: skip


if __name__ == "__main__":
    main()
