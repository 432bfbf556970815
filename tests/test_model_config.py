"""Configuration: YAML round trip and clear errors for impossible settings."""

from __future__ import annotations

import pytest
import torch
import yaml
from model_kit import crystal, tiny_config, tiny_model
from safetensors.torch import load_file, save_file

from nextham.model import ModelConfig, NextHAM, build_model


def test_yaml_round_trip():
    config = tiny_config(spinor=True, ensemble_bounds=[0, 2.5])
    text = yaml.safe_dump(config.to_dict())
    again = ModelConfig.from_dict(yaml.safe_load(text))
    assert again == config
    assert again.basis_ls[83] == (0, 1, 3)
    model = build_model(yaml.safe_load(text))
    assert len(model.nets) == 2


def test_unknown_key():
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({**tiny_config().to_dict(), "num_layer": 3})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"edge_irreps": "4x0e+4x1o+4x1e+4x2e+4x2o"}, "missing 3o, 3e"),
        ({"node_irreps": "4x1o+4x2e"}, "0e scalars"),
        ({"node_irreps": "8x0e+3x1o"}, "not divisible"),
        ({"node_irreps": "8x0q"}, "invalid irreps"),
    ],
)
def test_impossible_irreps(overrides, message):
    with pytest.raises(ValueError, match=message):
        NextHAM(tiny_config(**overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"ensemble_bounds": [1.0, 2.0]},
        {"ensemble_bounds": [0.0, 2.0, 2.0]},
        {"time_reversal": "yes"},
        {"dtype": "float16"},
        {"cutoff": 0.0},
        {"num_heads": 0},
        {"h0_input": False, "species_embedding": False},
    ],
)
def test_invalid_settings(overrides):
    with pytest.raises(ValueError):
        tiny_config(**overrides)


def test_state_dict_round_trip_through_safetensors(tmp_path):
    """Model files hold plain contiguous tensors; a rebuilt model predicts identically."""
    model = tiny_model(spinor=True, dtype="float32", ensemble_bounds=[0.0, 2.5])
    save_file(dict(model.state_dict()), tmp_path / "model.safetensors")
    config = yaml.safe_load(yaml.safe_dump(model.config.to_dict()))
    again = build_model(config)
    again.load_state_dict(load_file(tmp_path / "model.safetensors"))
    record = crystal(spinor=True)
    with torch.no_grad():
        a = model(model.make_batch([record]))["delta_flat"]
        b = again(again.make_batch([record]))["delta_flat"]
    assert torch.equal(a, b)
