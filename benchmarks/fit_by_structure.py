"""Per structure: the model's Gauge MAE against H0's, split into on-site and pair blocks and
by pair length — which structures, and which blocks of them, a model does not fit.

    python benchmarks/fit_by_structure.py RUN_DIR DATASET [--weights checkpoint|ema|model]
        [--names a,b,…] [--shells]

RUN_DIR is a training run (its ``model.safetensors`` gives the architecture; ``checkpoint``,
the default, scores the last epoch's parameters, ``ema`` their moving average, ``model`` the
file's own, i.e. the best-validation ones). Errors in meV; "× H0" is model / H0 per structure,
and the last line the ratio of the means.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from safetensors import safe_open

from nextham.loss.metrics import gauge_difference
from nextham.model.files import load_model
from nextham.predict.core import predict_hamiltonians
from nextham.record import keys as K
from nextham.record.flat import flat_index
from nextham.record.geometry import edge_distances
from nextham.record.layout import BlockLayout
from nextham.store.dataset import Dataset

SHELLS = ((0.01, 2.5), (2.5, 3.2), (3.2, 4.0), (4.0, 5.0), (5.0, 6.0), (6.0, 8.0), (8.0, 99.0))


def load_run(run: Path, weights: str):
    """The run's model with the chosen parameters."""
    model, _ = load_model(run / "model.safetensors")
    if weights == "model":
        return model
    doc = json.loads((run / "checkpoint" / "last.json").read_text())
    prefix = "model/" if weights == "checkpoint" else "ema/"
    with safe_open(str(run / "checkpoint" / doc["tensors"]), framework="pt") as f:
        found = {k[len(prefix) :]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}
    state = model.state_dict()
    state.update({k: v for k, v in found.items() if k in state})
    model.load_state_dict(state)
    return model


def entry_lengths(record: dict) -> np.ndarray:
    """(n_entries,) length (Å) of the pair each flat entry belongs to (0 on site)."""
    return edge_distances(record)[flat_index(BlockLayout.of(record)).edge]


def row(name: str, record: dict, h_pred: np.ndarray, shells: bool) -> tuple[float, float, str]:
    """(model MAE, H0 MAE, printed line) of one structure."""
    err_m = np.abs(gauge_difference(record, h_pred)[0])
    err_0 = np.abs(gauge_difference(record, np.asarray(record[K.H0]))[0])
    length = entry_lengths(record)
    on = length < 1e-6
    m, z = 1e3 * err_m.mean(), 1e3 * err_0.mean()
    line = (f"{name:24s} {len(record[K.NUMBERS]):4d} {m:8.3f} {z:8.3f} {m / z:6.2f}  "
            f"{1e3 * err_m[on].mean():8.2f} {1e3 * err_0[on].mean():8.2f}  "
            f"{1e3 * err_m[~on].mean():7.3f} {1e3 * err_0[~on].mean():7.3f}")  # fmt: skip
    if shells:
        parts = []
        for lo, hi in SHELLS:
            sel = (length >= lo) & (length < hi)
            if sel.any():
                parts.append(f"{lo:g}-{hi:g} Å {err_m[sel].sum() / err_0.sum():.3f}/"
                             f"{err_0[sel].sum() / err_0.sum():.3f}")  # fmt: skip
        line += "\n    share of H0's Σ|error| (model/H0): " + "  ".join(parts)
    return m, z, line


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("dataset")
    p.add_argument("--weights", choices=("checkpoint", "ema", "model"), default="checkpoint")
    p.add_argument("--names", default="", help="comma-separated entries (default: all)")
    p.add_argument("--shells", action="store_true", help="also the error by pair length")
    args = p.parse_args()
    ds = Dataset(args.dataset)
    names = args.names.split(",") if args.names else ds.names
    records = [ds.load(n) for n in names]
    preds = predict_hamiltonians(load_run(args.run, args.weights), records)
    print(f"{'structure':24s} {'atoms':>4s} {'model':>8s} {'H0':>8s} {'× H0':>6s}  "
          f"{'on-site':>8s} {'(H0)':>8s}  {'pairs':>7s} {'(H0)':>7s}")  # fmt: skip
    totals = []
    for name, record, h in zip(names, records, preds):
        m, z, line = row(name, record, h, args.shells)
        totals.append((m, z))
        print(line)
    m, z = np.mean(totals, axis=0)
    print(f"{'mean':24s} {'':4s} {m:8.3f} {z:8.3f} {m / z:6.3f}")


if __name__ == "__main__":
    main()
