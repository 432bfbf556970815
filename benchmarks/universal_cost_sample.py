"""What the universal dataset costs now: a random sample of its structures labelled, against
the projection ``nextham generate`` prints.

The projection (:mod:`nextham.generate.cost`) scales each element's measured label time from
the package element table, which was measured before the engine's later speed-ups. This script
draws ``--n`` structures of ``nextham generate --recipe universal`` at random (seeded, every
shard), labels each in its own ``nextham generate`` process (one thread, ``--limit`` seconds at
most: a label cut off counts at the limit, so the measured total is a lower bound), and prints
per structure the projected and measured label time, then the sample's measured/projected ratio
and the whole recipe's projection scaled by it.

    OMP_NUM_THREADS=1 python benchmarks/universal_cost_sample.py --work ~/nextham-data/uni-cost
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from ase.io import write

from nextham.dft.settings import MOLOPT_ELEMENTS, EngineSettings
from nextham.generate.cost import projected_seconds, structure_seconds
from nextham.store.atomic import atomic_write_text
from nextham.structures.universal import UniversalSpec, universal_structures

SETTINGS = EngineSettings(basis="szv-molopt-sr", overlap_threshold=1e-6)
"""What ``nextham generate --recipe universal --basis szv-molopt-sr`` labels with."""


def label_seconds(name: str, atoms, work: Path, limit: float) -> tuple[float, bool]:
    """(label seconds, finished) of one structure in a ``nextham generate`` process."""
    path = work / f"{name}.json"
    if path.exists():
        done = json.loads(path.read_text())
        return done["seconds"], done["finished"]
    src = work / f"{name}.extxyz"
    write(src, atoms, format="extxyz")
    cmd = [sys.executable, "-m", "nextham.cli.main", "generate", str(work / name), str(src),
           "--basis", SETTINGS.basis, "--no-spectral-gate"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, timeout=limit, capture_output=True)
        seconds, finished = time.perf_counter() - t0, done.returncode == 0
    except subprocess.TimeoutExpired:
        seconds, finished = limit, False
    atomic_write_text(path, json.dumps({"seconds": seconds, "finished": finished}))
    return seconds, finished


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True)
    p.add_argument("--n", type=int, default=12, help="structures drawn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=float, default=240.0, help="seconds per label at most")
    args = p.parse_args()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    structures, _ = universal_structures(UniversalSpec(MOLOPT_ELEMENTS))
    whole, unknown = projected_seconds(structures, SETTINGS)
    pick = np.random.default_rng(args.seed).choice(len(structures), args.n, replace=False)
    print(f"{date.today()}; universal recipe, {len(structures)} structures, projected "
          f"{whole / 3600:.0f} CPU-h ({unknown} without a measured element); sample of {args.n} "
          f"(seed {args.seed}), one thread, ≤ {args.limit:.0f} s per label")  # fmt: skip
    print("| structure | atoms | projected s | measured s | measured / projected |")
    print("|---|---|---|---|---|")
    proj, meas = [], []
    for i in sorted(pick):
        name, atoms = structures[i]
        t_proj = structure_seconds(atoms, SETTINGS)
        t_meas, finished = label_seconds(name, atoms, work, args.limit)
        proj.append(t_proj or np.nan)
        meas.append(t_meas)
        mark = "" if finished else (" (cut)" if t_meas >= args.limit else " (failed)")
        print(f"| {name} | {len(atoms)} | {t_proj:.0f} | {t_meas:.0f}{mark} | "
              f"{t_meas / t_proj:.3f} |", flush=True)  # fmt: skip
    proj_a, meas_a = np.array(proj), np.array(meas)
    ok = np.isfinite(proj_a)
    ratio = meas_a[ok].sum() / proj_a[ok].sum()
    print(f"\nsample: measured {meas_a.sum():.0f} s (a lower bound where cut) against projected "
          f"{proj_a[ok].sum():.0f} s: ratio {ratio:.3f} (median per structure "
          f"{np.median(meas_a[ok] / proj_a[ok]):.3f}); the whole recipe at that ratio: "
          f"{ratio * whole / 3600:.0f} CPU-h")  # fmt: skip


if __name__ == "__main__":
    main()
