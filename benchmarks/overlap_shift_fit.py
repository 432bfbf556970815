"""How much of ΔH = HT − H0 a potential shift near each atom explains (`model.overlap_shift`).

For each structure the shift ΔH_ij,μν(R) ≈ ½(v_a + v_b) S_ij,μν(R) is fitted to the labels by
least squares, with one v per atom (``atom``) or per atom and shell (``shell``), and H0 + the
fitted shift is scored like a model: Gauge MAE and band MAE (VBM − 2 … CBM + 2 eV for
insulators, E_F ± 2 eV for metals) on a 4×4×4 mesh, next to H0 alone. This is the best the
form can do per structure (it is fitted to the answer), not a prediction.

    python benchmarks/overlap_shift_fit.py DATASET [DATASET ...] [--every 12] [--names A,B]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from nextham.loss.report import structure_metrics
from nextham.record import keys as K
from nextham.record.layout import BlockLayout
from nextham.spectra.eigen import band_energies
from nextham.store.dataset import Dataset

KPTS = np.array(list(itertools.product(*[np.arange(4) / 4] * 3)))


def shell_of_orbitals(record: dict, per_shell: bool) -> list[np.ndarray]:
    """Per atom: the shell index of each orbital (all zeros with ``per_shell`` off)."""
    out = []
    for z in np.asarray(record[K.NUMBERS]).tolist():
        ls = record[K.BASIS_LS].get(z, record[K.BASIS_LS].get(str(z)))
        lab = np.concatenate([[s] * (2 * l + 1) for s, l in enumerate(ls)]).astype(int)
        out.append(lab if per_shell else np.zeros_like(lab))
    return out


def fitted_shift(record: dict, per_shell: bool) -> np.ndarray:
    """H0 + the least-squares ½(v_a + v_b) S of ``record`` (flat, the layout of HT)."""
    lay = BlockLayout.of(record, K.HT)
    delta = np.asarray(record[K.HT]) - np.asarray(record[K.H0])
    s_flat, shells = np.asarray(record[K.S]), shell_of_orbitals(record, per_shell)
    index: dict[tuple[int, int], int] = {}
    rows, cols, vals = [], [], []
    for e, (i, j) in enumerate(lay.edge_index):
        sl = lay.block_slice(e)
        ni, nj = lay.block_shape(e)
        entries = np.arange(sl.start, sl.stop).reshape(ni, nj)
        a = [index.setdefault((int(i), int(s)), len(index)) for s in shells[i]]
        b = [index.setdefault((int(j), int(s)), len(index)) for s in shells[j]]
        half = 0.5 * s_flat[entries].ravel()
        rows += [entries.ravel(), entries.ravel()]
        cols += [np.repeat(a, nj), np.tile(b, ni)]
        vals += [half, half]
    design = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(delta), len(index)),
    )
    v = spl.lsqr(design, delta, atol=1e-12, btol=1e-12)[0]
    return np.asarray(record[K.H0]) + design @ v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--every", type=int, default=12, help="every n-th entry of each dataset")
    ap.add_argument("--names", default=None, help="only these entries (comma-separated)")
    args = ap.parse_args(argv)
    wanted = None if args.names is None else set(args.names.split(","))
    print("| structure | Gauge MAE H0 | atom shift | shell shift | band MAE H0 | atom shift "
          "| shell shift |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for path in args.datasets:
        ds = Dataset(path)
        names = ds.names[:: args.every] if wanted is None else [n for n in ds.names if n in wanted]
        for name in names:
            r = ds.load(name)
            eps = band_energies(r, r[K.HT], KPTS, 1e-6)
            preds = [np.asarray(r[K.H0]), fitted_shift(r, False), fitted_shift(r, True)]
            ms = [structure_metrics(r, h, KPTS, eps_ref=eps) for h in preds]
            g = " | ".join(f"{m['gauge_mae']['overall']['mae_meV']:.2f}" for m in ms)
            b = " | ".join(f"{m['bands']['mae_meV']:.0f}" for m in ms)
            print(f"| {name} | {g} | {b} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
