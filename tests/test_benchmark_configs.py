"""Every training config shipped under benchmarks/configs reads as a TrainConfig."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nextham.model.config import check_pair_scales
from nextham.train.config import TrainConfig

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "benchmarks" / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_reads(path):
    data = yaml.safe_load(path.read_text())
    data["data"]["datasets"] = data["data"].get("datasets") or ["filled/by/the/script"]
    cfg = TrainConfig.from_dict(data)
    check_pair_scales(cfg.model.get("pair_scales"))
    assert cfg.optim.epochs > 0


def test_the_universal_config_is_there():
    assert "universal" in [p.stem for p in CONFIGS]
