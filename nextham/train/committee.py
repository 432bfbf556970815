"""Join trained models into a committee file and calibrate its uncertainty and gate.

The members are model files trained with one config and data split but different ``seed``
(initialization and batch order). The committee file keeps the first member's metadata
(engine settings, elements, split, domain statistics), lists the members' seeds and adds the
calibration of :mod:`nextham.predict.calibrate`, computed on the validation split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nextham.errors import InputError
from nextham.evaluate import select_names
from nextham.model.committee import Committee
from nextham.model.files import load_model, save_model
from nextham.predict.calibrate import BUDGET, calibrate
from nextham.predict.core import predict_committee
from nextham.predict.spin_orbit import scalar_part
from nextham.store.dataset import Dataset

SHARED = (
    "model_config",
    "engine_settings",
    "elements",
    "split",
)
"""Metadata every member must share."""


def _check_members(metas: Sequence[dict], paths: Sequence[str]) -> None:
    for key in SHARED:
        for meta, path in zip(metas[1:], paths[1:], strict=True):
            if meta.get(key) != metas[0].get(key):
                raise InputError(
                    f"{path}: its {key} differs from {paths[0]}'s; committee members must be "
                    "trained with one config and data split (only the seed may differ)"
                )


def validation_records(meta: dict, datasets: Sequence[str] | None = None) -> list[dict]:
    """The records of a model's validation split (``datasets``: where its datasets are now;
    default the paths of its training config)."""
    paths = datasets or meta["train_config"]["data"]["datasets"]
    records = []
    for path in paths:
        ds = Dataset(path)
        wanted = {n.split("/", 1)[0] for n in meta["split"].get("val", [])}
        if ds.path.name in wanted:
            records += [ds.load(n) for n in select_names(ds, meta, "val")]
    if len(records) < 1:
        raise InputError(f"no validation structure of the members found in {list(paths)}")
    if meta["train_config"]["data"].get("scalar_part"):  # as the members were trained
        records = [scalar_part(r) for r in records]
    return records


def build_committee(
    member_paths: Sequence[str | Path],
    out: str | Path,
    datasets: Sequence[str] | None = None,
    budget: float = BUDGET,
) -> dict:
    """Write the calibrated committee of ``member_paths`` to ``out``; returns its
    ``"uncertainty"`` metadata (scale, τ, limits, validation numbers)."""
    paths = [str(p) for p in member_paths]
    loaded = [load_model(p) for p in paths]
    metas = [m for _, m in loaded]
    _check_members(metas, paths)
    committee = Committee([m for m, _ in loaded]).eval()
    records = validation_records(metas[0], datasets)
    outputs = predict_committee(committee, records)
    uncertainty = calibrate(records, outputs, budget)
    skip = {"format", "nextham_version", "model_config", "committee", "uncertainty"}
    info = {k: v for k, v in metas[0].items() if k not in skip}
    seeds = [m.get("train_config", {}).get("seed") for m in metas]
    info["committee"] = {"seeds": seeds, "members": paths}
    info["uncertainty"] = uncertainty
    save_model(committee, out, info)
    return uncertainty
