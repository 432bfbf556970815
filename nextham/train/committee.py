"""Join trained models into a committee file and calibrate its uncertainty and gate.

The members are model files trained with one config and data split but different ``seed``
(initialization and batch order). The committee file keeps the first member's metadata
(engine settings, elements, split), recomputes the training-domain statistics from the
training split (so that members trained by an earlier version get today's statistics), lists
the members' seeds and adds the calibration of :mod:`nextham.predict.calibrate`, computed on the
validation split.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from nextham.errors import InputError
from nextham.evaluate import select_names
from nextham.model.committee import Committee
from nextham.model.files import load_model, save_model
from nextham.predict.calibrate import BUDGET, calibrate
from nextham.predict.core import predict_committee
from nextham.predict.domain import domain_statistics
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


def split_records(meta: dict, split: str, datasets: Sequence[str] | None = None) -> Iterator[dict]:
    """The records of a model's ``split`` ("train", "val", …), one at a time (``datasets``:
    where its datasets are now; default the paths of its training config), read as the model
    was trained (``data.scalar_part``)."""
    paths = datasets or meta["train_config"]["data"]["datasets"]
    as_scalar = meta["train_config"]["data"].get("scalar_part", False)
    wanted = {n.split("/", 1)[0] for n in meta["split"].get(split, [])}
    for path in paths:
        ds = Dataset(path)
        if ds.path.name in wanted:
            for n in select_names(ds, meta, split):
                rec = ds.load(n)
                yield scalar_part(rec) if as_scalar else rec


def validation_records(meta: dict, datasets: Sequence[str] | None = None) -> list[dict]:
    """The records of a model's validation split (see :func:`split_records`)."""
    records = list(split_records(meta, "val", datasets))
    if len(records) < 1:
        paths = datasets or meta["train_config"]["data"]["datasets"]
        raise InputError(f"no validation structure of the members found in {list(paths)}")
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
    skip = {"format", "nextham_version", "model_config", "committee", "uncertainty"}
    info = {k: v for k, v in metas[0].items() if k not in skip}
    if "domain" in info:  # the training domain as this version measures it (gate, flag)
        info["domain"] = domain_statistics(split_records(metas[0], "train", datasets))
    ranges = info.get("domain", {}).get("coordination")
    uncertainty = calibrate(records, outputs, budget, ranges)
    seeds = [m.get("train_config", {}).get("seed") for m in metas]
    info["committee"] = {"seeds": seeds, "members": paths}
    info["uncertainty"] = uncertainty
    save_model(committee, out, info)
    return uncertainty
