"""Dataset-level evaluation of a model next to the baselines (used by ``nextham evaluate``)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.loss.report import aggregate_reports, evaluate_structure
from nextham.predict import predict_hamiltonians
from nextham.record.layout import require_h0
from nextham.store.dataset import Dataset


def select_names(ds: Dataset, meta: dict, split: str) -> list[str]:
    """Entries of ``ds`` in the model's ``split`` (``all``: every entry)."""
    if split == "all":
        return ds.names
    wanted = {
        n.split("/", 1)[1]
        for n in meta["split"].get(split, [])
        if n.split("/", 1)[0] == ds.path.name
    }
    names = [n for n in ds.names if n in wanted]
    if not names:
        raise InputError(f"no entry of {ds.path} is in the model's {split} split")
    return names


def evaluate_dataset(model, meta: dict, path: str, split: str, kpts: np.ndarray) -> dict:
    """Aggregated metrics of model and baselines plus per-structure reports."""
    ds = Dataset(path)
    for name in ds.names if ds.source is not None else []:
        require_h0(ds.load(name), f"{path}: entry {name}")
    if ds.settings != EngineSettings.from_meta(meta):
        raise InputError(
            f"{path} was generated with other engine settings than the model was trained on"
        )
    names = select_names(ds, meta, split)
    records = [ds.load(n) for n in names]
    preds = predict_hamiltonians(model, records)
    per = [evaluate_structure(r, h, kpts) for r, h in zip(records, preds)]
    return {
        "dataset": str(path),
        "split": split,
        "n_kpts": len(kpts),
        "summary": aggregate_reports(per),
        "structures": dict(zip(names, per)),
    }


def print_report(report: dict) -> None:
    """The summary table: Gauge MAE, spin blocks, band MAE, ghosts per model/baseline."""
    n = report["summary"]["model"]["n_structures"]
    t = Table(title=f"{report['dataset']} ({report['split']}, {n} structures)")
    cols = ("", "Gauge MAE meV", "spin blocks meV", "band MAE meV (E_F±2 eV)", "ghost states",
            "levels > 0.1 eV off")  # fmt: skip
    for col in cols:
        t.add_column(col)
    for name, s in report["summary"].items():
        g = s["gauge_mae"]
        spin = " ".join(
            f"{k}={v['mae_meV']:.3g}"
            for k, v in g.get("spin", {}).items()
            if v["mae_meV"] is not None
        )
        t.add_row(name, f"{g['overall']['mae_meV']:.4g}", spin or "-",
                  f"{s['bands']['mae_meV']:.4g}" if s["bands"]["mae_meV"] is not None else "-",
                  str(s["ghost_states"]["total"]),
                  str(s["unmatched_levels"]["total"]))  # fmt: skip
    Console(width=140).print(t)
