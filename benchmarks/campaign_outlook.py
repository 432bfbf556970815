"""The universal campaign's outlook: what the cheapest unlabelled structures cost.

For each shard of the recipe, the structures not yet labelled in ``DATA/<shard>`` are projected
from the element table (:mod:`nextham.generate.cost`) and scaled by the shard's spent /
projected ratio over its finished labels; a shard without labels takes the median ratio of the
others. The table gives the CPU-hours of the cheapest K unlabelled structures (the campaign
labels cheapest first), for the recipe as the campaign runs it or with other ``--n`` /
``--supercell-fraction``; a projection, not a promise.

    python benchmarks/campaign_outlook.py ~/nextham-data/universal --n 2 --targets 3000,4000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nextham.dft.settings import MOLOPT_ELEMENTS, EngineSettings, default_overlap_threshold
from nextham.generate.cost import calibrated_projection, structure_seconds
from nextham.structures.groups import SHARD_NAMES
from nextham.structures.universal import UniversalSpec, universal_structures

BASIS = "szv-molopt-sr"
SETTINGS = EngineSettings(
    basis=BASIS, kspacing=1.2, overlap_threshold=default_overlap_threshold(BASIS)
)
"""The campaign's engine settings (benchmarks/universal_dataset.sh, as `generate` builds them)."""


def shard_costs(data: Path, n: int, fraction: float) -> dict[str, tuple]:
    """Per shard: (labelled count, recipe count, projected seconds of each unlabelled one
    before the ratio, ratio or None)."""
    out = {}
    for shard in SHARD_NAMES:
        spec = UniversalSpec(
            MOLOPT_ELEMENTS, shards=(shard,), n_per_prototype=n, supercell_fraction=fraction
        )
        structures = universal_structures(spec).structures
        if not structures:
            continue
        manifest = data / shard / "manifest.json"
        entries = json.loads(manifest.read_text())["entries"] if manifest.exists() else {}
        done = [(k, a) for k, a in structures if k in entries]
        todo = [(k, a) for k, a in structures if k not in entries]
        # the ratio only: the unlabelled ones are projected one by one below
        projection = calibrated_projection([], done, entries, SETTINGS)
        ratio = projection.ratio if projection.n_calibration else None
        seconds = [structure_seconds(a, SETTINGS) or 0.0 for _, a in todo]
        out[shard] = (len(done), len(structures), np.asarray(seconds), ratio)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the campaign directory (one dataset per shard)")
    p.add_argument("--n", type=int, default=2, help="primitive copies per base")
    p.add_argument("--supercell-fraction", type=float, default=0.2)
    p.add_argument("--targets", default="3000,4000,5000", help="total labels to reach")
    args = p.parse_args()
    shards = shard_costs(args.data, args.n, args.supercell_fraction)
    known = [r for *_, r in shards.values() if r is not None]
    fallback = float(np.median(known)) if known else 1.0
    print("| shard | labelled | recipe | ratio | CPU-h of the rest |")
    print("|---|---|---|---|---|")
    every, labelled = [], 0
    for shard, (done, total, seconds, ratio) in shards.items():
        scaled = seconds * (fallback if ratio is None else ratio)
        every.append(scaled)
        labelled += done
        shown = f"{ratio:.3f}" if ratio is not None else f"{fallback:.3f} (median)"
        print(f"| {shard} | {done} | {total} | {shown} | {scaled.sum() / 3600:.1f} |")
    cum = np.cumsum(np.sort(np.concatenate(every))) / 3600
    print(f"\n{labelled} labelled; the cheapest unlabelled first:")
    for target in (int(t) for t in args.targets.split(",")):
        more = target - labelled
        if 0 < more <= len(cum):
            print(f"  {target} labels: {more} more, ≈ {cum[more - 1]:.1f} CPU-h")
    print(f"  all {labelled + len(cum)}: ≈ {cum[-1]:.1f} CPU-h")


if __name__ == "__main__":
    main()
