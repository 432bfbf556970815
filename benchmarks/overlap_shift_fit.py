"""How much of ΔH = HT − H0 a potential shift near each atom explains (`model.overlap_shift`).

For each structure the shift ΔH_ij,μν(R) ≈ ½(v_a + v_b) S_ij,μν(R) is fitted to the labels by
least squares, with one v per atom (``atom``) or per atom and shell (``shell``), and H0 + the
fitted shift is scored like a model: Gauge MAE and band MAE (VBM − 2 … CBM + 2 eV for
insulators, E_F ± 2 eV for metals) on a 4×4×4 mesh, next to H0 alone. This is the best the
form can do per structure (it is fitted to the answer), not a prediction.

With ``--model FILE`` the shift is fitted to what the model leaves, HT − (H0 + ΔH_pred), on the
model's ``--split`` (default test) of the datasets (a campaign's shards): how much of the
model's remaining error is a potential shift per atom (a charge transfer it misjudges) and how
much is not.

    python benchmarks/overlap_shift_fit.py DATASET [DATASET ...] [--every 12] [--names A,B]
    python benchmarks/overlap_shift_fit.py SHARD [SHARD ...] --model FILE [--split test]
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from nextham.evaluate import select_names
from nextham.loss.report import structure_metrics
from nextham.model.files import load_model
from nextham.predict import predict_hamiltonians
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


def fitted_shift(record: dict, per_shell: bool, base: np.ndarray | None = None) -> np.ndarray:
    """``base`` (default H0) + the least-squares ½(v_a + v_b) S fitted to HT − base (flat, the
    layout of HT)."""
    lay = BlockLayout.of(record, K.HT)
    base = np.asarray(record[K.H0]) if base is None else np.asarray(base)
    delta = np.asarray(record[K.HT]) - base
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
    return base + design @ v


def structures(args) -> Iterator[tuple[str, dict, np.ndarray]]:
    """(name, record, base) of every structure: H0 as the base, or the model's H0 + ΔH_pred on
    its split."""
    if args.model is None:
        wanted = None if args.names is None else set(args.names.split(","))
        for path in args.datasets:
            ds = Dataset(path)
            names = ds.names[:: args.every] if wanted is None else [
                n for n in ds.names if n in wanted]  # fmt: skip
            for name in names:
                r = ds.load(name)
                yield name, r, np.asarray(r[K.H0])
        return
    model, meta = load_model(args.model)
    for path in args.datasets:
        ds = Dataset(path)
        names = select_names(ds, meta, args.split, required=False)
        records = [ds.load(n) for n in names]
        for name, r, h in zip(names, records, predict_hamiltonians(model, records), strict=True):
            yield f"{ds.path.name}/{name}", r, np.asarray(h)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--every", type=int, default=12, help="every n-th entry of each dataset")
    ap.add_argument("--names", default=None, help="only these entries (comma-separated)")
    ap.add_argument("--model", default=None, help="fit to what this model leaves (its split)")
    ap.add_argument("--split", default="test", help="the model's split (with --model)")
    args = ap.parse_args(argv)
    base = "H0" if args.model is None else "model"
    print(f"| structure | Gauge MAE {base} | atom shift | shell shift | band MAE {base} | atom "
          "shift | shell shift |\n|---|---|---|---|---|---|---|")  # fmt: skip
    gauge, bands = [], []
    for name, r, h in structures(args):
        eps = band_energies(r, r[K.HT], KPTS, 1e-6)
        preds = [h, fitted_shift(r, False, h), fitted_shift(r, True, h)]
        ms = [structure_metrics(r, x, KPTS, eps_ref=eps) for x in preds]
        gauge.append([m["gauge_mae"]["overall"]["mae_meV"] for m in ms])
        bands.append([m["bands"]["mae_meV"] for m in ms])
        g = " | ".join(f"{x:.2f}" for x in gauge[-1])
        b = " | ".join(f"{x:.0f}" for x in bands[-1])
        print(f"| {name} | {g} | {b} |", flush=True)
    if gauge:
        g, b = np.mean(gauge, axis=0), np.nanmedian(np.asarray(bands, dtype=float), axis=0)
        print(f"\n{len(gauge)} structures; Gauge MAE mean over structures {base} / atom / shell "
              f"shift: {g[0]:.3f} / {g[1]:.3f} / {g[2]:.3f} meV; band MAE median "
              f"{b[0]:.1f} / {b[1]:.1f} / {b[2]:.1f} meV")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
