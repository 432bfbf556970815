"""How ΔH = HT − H0 spreads over pair lengths: what a ``model.max_pair_length`` leaves out.

For each length L: the share of pairs and of block entries no longer than L, the share of
Σ|ΔH| in the longer pairs, and their mean |ΔH| (meV) — the Gauge MAE a model adds by keeping
H0 there is at most that mean times their share of the entries.

    python benchmarks/delta_by_length.py ~/nextham-data/uni-frozen1/{s,p-light,p-heavy,4d} --every 3
"""

from __future__ import annotations

import argparse

import numpy as np

from nextham.record import keys as K
from nextham.record.geometry import edge_distances
from nextham.store.dataset import Dataset


def pair_rows(record: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(length Å, Σ|ΔH| eV, entries) per pair of one record."""
    ptr = np.asarray(record[K.BLOCK_PTR])
    delta = np.abs(np.asarray(record[K.HT]) - np.asarray(record[K.H0]))
    return edge_distances(record), np.add.reduceat(delta, ptr[:-1]), np.diff(ptr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+")
    p.add_argument("--every", type=int, default=1, help="use every n-th entry of each dataset")
    p.add_argument("--lengths", default="5,6,7,8,9,10,12")
    args = p.parse_args()
    rows = [pair_rows(ds.load(n)) for ds in map(Dataset, args.datasets)
            for n in ds.names[:: args.every]]  # fmt: skip
    length, delta, count = (np.concatenate(c) for c in zip(*rows))
    print(f"{len(rows)} structures, {len(length)} pairs, {count.sum()} entries, "
          f"mean |ΔH| {1000 * delta.sum() / count.sum():.3f} meV\n")  # fmt: skip
    print("| L Å | pairs ≤ L | entries ≤ L | Σ|ΔH| beyond L | mean |ΔH| beyond L meV |")
    print("|---|---|---|---|---|")
    for cut in (float(x) for x in args.lengths.split(",")):
        near = length <= cut
        far = max(int(count[~near].sum()), 1)
        share = delta[~near].sum() / delta.sum()
        mean = 1000 * delta[~near].sum() / far
        print(f"| {cut:g} | {near.mean():.3f} | {count[near].sum() / count.sum():.3f} | "
              f"{share:.4f} | {mean:.4f} |")  # fmt: skip


if __name__ == "__main__":
    main()
