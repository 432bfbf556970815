"""How closely the multigrid builds match the engine's reference, per dataset entry.

For dataset entries (their stored H0 and HT are reference builds), rebuilds H0 with
``h0_method="multigrid"`` (``predict``'s fast H0) — or, with ``--labels``, the whole label with
``compute_record(method="multigrid")`` (multigrid SCF, H0 and HT folded to real space) — and
prints the largest and mean |ΔH0| (and |ΔHT|) per entry in meV, the pair holding the largest
one and the build times. The per-element table ``nextham.dft.gridfock.VERIFIED_ELEMENTS``
(elements ``auto`` builds by multigrid) comes from this script: every entry of each composition.

    python benchmarks/h0_multigrid_accuracy.py data/scalar40 [--names A,B,...] [--labels]
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import date

import numpy as np


def _largest(ref: dict, fast: dict, key: str) -> dict:
    """Largest/mean |Δ| (meV) of ``key`` between two records of the same pairs, and where."""
    from nextham.record.layout import iter_blocks

    worst = max(
        (float(np.abs(a - b).max()), where)
        for (where, a), (_, b) in zip(iter_blocks(ref, key), iter_blocks(fast, key))
    )
    diff = np.abs(np.asarray(fast[key]) - np.asarray(ref[key])) * 1e3
    i, j, *shift = worst[1]
    return {"max_mev": float(diff.max()), "mean_mev": float(diff.mean()),
            "onsite": i == j and not any(shift), "worst_pair": worst[1]}  # fmt: skip


def compare(dataset, name: str, atoms, labels: bool) -> dict:
    """|ΔH0| (and |ΔHT| with ``labels``) of one entry against a multigrid rebuild."""
    from nextham.dft.engine import zeroth_step
    from nextham.dft.label import compute_record
    from nextham.dft.settings import EngineSettings
    from nextham.record import keys as K

    rec = dataset.load(name)
    settings = EngineSettings.from_meta(rec[K.META])
    if labels:
        fast = compute_record(atoms, settings, method="multigrid")
    else:
        fast, _ = zeroth_step(atoms, settings, 0, "multigrid")
    meta, fmeta = rec[K.META], fast[K.META]
    out = {"name": name, "h0": _largest(rec, fast, K.H0)}
    out["reference_s"] = meta["time_h0_s"] + (meta["time_scf_s"] + meta["time_ht_transform_s"]
                                               if labels else 0.0)  # fmt: skip
    out["multigrid_s"] = fmeta["time_h0_s"] + (fmeta["time_scf_s"] + fmeta["time_ht_transform_s"]
                                                if labels else 0.0)  # fmt: skip
    if labels:
        out["ht"] = _largest(rec, fast, K.HT)
    return out


def _cell(r: dict) -> str:
    where = "on-site" if r["onsite"] else str(r["worst_pair"])
    return f"{r['max_mev']:.3f} | {r['mean_mev']:.4f} | {where}"


def main() -> None:
    from nextham.store.dataset import Dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--names", default=None, help="comma-separated entries (default: all)")
    ap.add_argument("--labels", action="store_true", help="whole labels: H0 and HT")
    args = ap.parse_args()
    ds = Dataset(args.dataset)
    structures = dict(ds.structures())
    names = args.names.split(",") if args.names else ds.names
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {date.today()}")
    head = "| entry | max abs ΔH0 meV | mean meV | largest in |"
    if args.labels:
        head += " max abs ΔHT meV | mean meV | largest in |"
    head += " reference s | multigrid s |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for n in names:
        r = compare(ds, n, structures[n], args.labels)
        cols = _cell(r["h0"]) + (f" | {_cell(r['ht'])}" if args.labels else "")
        print(f"| {n} | {cols} | {r['reference_s']:.1f} | {r['multigrid_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
