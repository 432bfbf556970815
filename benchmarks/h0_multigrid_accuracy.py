"""How closely the multigrid H0 build (``predict``'s) matches the engine's reference H0.

For dataset entries (their stored H0 is the reference build), rebuilds H0 with
``h0_method="multigrid"`` and prints the largest and mean |ΔH0| per entry (meV), the pair
holding the largest one and both build times. The per-element table
``nextham.dft.gridfock.VERIFIED_ELEMENTS`` (elements ``auto`` builds by multigrid) comes from
this script.

    python benchmarks/h0_multigrid_accuracy.py data/scalar40 [--names A,B,...]
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import date

import numpy as np


def compare(dataset, name: str, atoms) -> dict:
    """Largest/mean |ΔH0| (meV) of one entry between its stored and a multigrid H0."""
    from nextham.dft.engine import zeroth_step
    from nextham.dft.settings import EngineSettings
    from nextham.record import keys as K
    from nextham.record.layout import iter_blocks

    rec = dataset.load(name)
    fast, _ = zeroth_step(atoms, EngineSettings.from_meta(rec[K.META]), 0, "multigrid")
    worst = max(
        (float(np.abs(a - b).max()), key)
        for (key, a), (_, b) in zip(iter_blocks(rec, K.H0), iter_blocks(fast, K.H0))
    )
    diff = np.abs(fast[K.H0] - rec[K.H0]) * 1e3
    i, j, *shift = worst[1]
    return {
        "name": name,
        "max_mev": float(diff.max()),
        "mean_mev": float(diff.mean()),
        "worst_pair": worst[1],
        "onsite": i == j and not any(shift),
        "reference_s": rec[K.META]["time_h0_s"],
        "multigrid_s": fast[K.META]["time_h0_s"],
    }


def main() -> None:
    from nextham.store.dataset import Dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--names", default=None, help="comma-separated entries (default: one per "
                    "composition)")  # fmt: skip
    args = ap.parse_args()
    ds = Dataset(args.dataset)
    structures = dict(ds.structures())
    if args.names:
        names = args.names.split(",")
    else:  # first entry of each composition
        seen, names = set(), []
        for n in ds.names:
            formula = structures[n].get_chemical_formula()
            if formula not in seen:
                seen.add(formula)
                names.append(n)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {date.today()}")
    print("| entry | max abs ΔH0 meV | mean meV | largest in | reference s | multigrid s |")
    print("|---|---|---|---|---|---|")
    for n in names:
        r = compare(ds, n, structures[n])
        where = "on-site" if r["onsite"] else str(r["worst_pair"])
        print(f"| {n} | {r['max_mev']:.3f} | {r['mean_mev']:.4f} | {where} | "
              f"{r['reference_s']:.1f} | {r['multigrid_s']:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
