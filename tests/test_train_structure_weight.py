"""``structure_power``: each structure's loss weighted by its H0 error to a power."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from model_kit import train_config_file

from nextham.cli.main import main
from nextham.errors import InputError
from nextham.record.flat import record_overlap_flat
from nextham.store.dataset import Dataset
from nextham.train.config import TrainConfig
from nextham.train.step import ERROR_FLOOR_EV, delta_target, structure_weight


def test_weight_is_one_meV_over_the_h0_error_to_the_power():
    target = torch.tensor([2e-3, -2e-3, 2e-3, -2e-3], dtype=torch.float64)
    assert structure_weight(target, None, 0.0) == 1.0
    assert np.isclose(structure_weight(target, None, 1.0), 0.5)
    assert np.isclose(structure_weight(target, None, 0.5), 0.5**0.5)


def test_weight_is_gauge_invariant_and_floored():
    """A uniform shift μS of ΔH is no error of H0 (the Gauge MAE removes it)."""
    gen = torch.Generator().manual_seed(0)
    overlap = torch.rand(50, generator=gen, dtype=torch.float64)
    target = 1e-3 * torch.randn(50, generator=gen, dtype=torch.float64)
    w = structure_weight(target, overlap, 1.0)
    assert np.isclose(structure_weight(target + 0.3 * overlap, overlap, 1.0), w)
    assert w != structure_weight(target, None, 1.0)
    assert np.isclose(structure_weight(0.3 * overlap, overlap, 1.0), 1e-3 / ERROR_FLOOR_EV)


def test_structure_power_must_lie_in_the_unit_interval():
    assert TrainConfig.from_dict({"data": {"datasets": ["x"]}, "structure_power": 0.5})
    with pytest.raises(InputError, match="structure_power"):
        TrainConfig.from_dict({"data": {"datasets": ["x"]}, "structure_power": 1.5})


def _first_l1(out) -> float:
    with open(out / "metrics.csv") as f:
        return float(next(csv.DictReader(f))["train_l1"])


def test_training_weighs_the_logged_terms(tmp_path, tiny_dataset):
    """The first epoch with p = 1 logs each structure's L1 times 1 meV over its H0 error: the
    ratio to the unweighted run's L1 lies within the records' weights (the two runs' steps
    differ, so not exactly at their mean)."""
    l1 = {}
    for p in (0.0, 1.0):
        out = tmp_path / f"p{p}"
        cfg = train_config_file(tmp_path, tiny_dataset, out, epochs=1)
        cfg.write_text(cfg.read_text() + f"structure_power: {p}\n")
        assert main(["train", str(cfg)]) == 0
        l1[p] = _first_l1(out)
    ds = Dataset(tiny_dataset)
    weights = []
    for name in ds.names:
        rec = ds.load(name)
        target = delta_target(rec, torch.float64)
        weights.append(structure_weight(target, torch.as_tensor(record_overlap_flat(rec)), 1.0))
    assert max(weights) < 0.2  # these cells' H0 errs by ≫ 1 meV
    assert 0.5 * min(weights) < l1[1.0] / l1[0.0] < 2 * max(weights)
