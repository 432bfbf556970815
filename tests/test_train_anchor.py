"""``optim.anchor``: a fine-tune pulled back to the model it started from (decoupled L2-SP)."""

from __future__ import annotations

import pytest
import torch
import yaml
from model_kit import train_config_file as _config
from safetensors.torch import load_file
from test_train_init import _init_config

from nextham.cli.main import main
from nextham.errors import InputError
from nextham.train.anchor import ParameterAnchor
from nextham.train.config import TrainConfig


def test_pull_shrinks_the_distance_to_the_start_by_lr_times_strength():
    model = torch.nn.Linear(3, 2)
    anchor = ParameterAnchor(model, strength=5.0)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    before = anchor.distance(model)
    assert before == pytest.approx(8**0.5)  # 8 parameters, each 1 away
    anchor.pull(model, lr=0.1)  # rate 0.5: half-way back
    assert anchor.distance(model) == pytest.approx(0.5 * before)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p, start[n] + 0.5)
    with pytest.raises(ValueError, match="≥ 0"):
        ParameterAnchor(model, -1.0)


def _distance(a: dict, b: dict) -> float:
    return sum(float(((a[k] - b[k]) ** 2).sum()) for k in b) ** 0.5


def test_an_anchored_fine_tune_stays_closer_to_its_start(tmp_path, tiny_dataset):
    base = tmp_path / "base"
    assert main(["train", str(_config(tmp_path, tiny_dataset, base, epochs=1)), "--quiet"]) == 0
    start = load_file(base / "model.safetensors")
    runs = {}
    for name, strength in (("free", 0.0), ("anchored", 200.0)):
        path = _init_config(tmp_path, tiny_dataset, base / "model.safetensors", name)
        cfg = yaml.safe_load(path.read_text())
        cfg["optim"] = {**cfg.get("optim", {}), "anchor": strength, "ema_decay": 0.0}
        path.write_text(yaml.safe_dump(cfg))
        assert main(["train", str(path), "--quiet"]) == 0
        runs[name] = load_file(tmp_path / name / "model.safetensors")
    free, anchored = (_distance(runs[n], start) for n in ("free", "anchored"))
    assert 0 < anchored < 0.5 * free


def test_anchor_needs_a_start(tmp_path, tiny_dataset):
    cfg = yaml.safe_load(_config(tmp_path, tiny_dataset, tmp_path / "x").read_text())
    cfg["optim"] = {**cfg.get("optim", {}), "anchor": 1.0}
    with pytest.raises(InputError, match="init_from"):
        TrainConfig.from_dict(cfg)
    cfg["optim"]["anchor"] = -1.0
    cfg["init_from"] = "some.safetensors"
    del cfg["model"]
    with pytest.raises(InputError, match="≥ 0"):
        TrainConfig.from_dict(cfg)
