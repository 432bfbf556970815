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


def test_model_files_from_before_h0_squash_load_without_it(tmp_path):
    """A stored config without ``h0_squash`` (files written before the option) loads with it
    off and predicts what was saved; a new file keeps its own setting."""
    import json

    import numpy as np
    from model_kit import predictor
    from safetensors import safe_open

    from nextham.model.files import load_model, save_model

    old = tiny_model(h0_squash=False, dtype="float64")
    save_model(old, tmp_path / "m.safetensors", {})
    with safe_open(str(tmp_path / "m.safetensors"), framework="pt") as f:
        meta = json.loads(f.metadata()["nextham"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    del meta["model_config"]["h0_squash"]
    save_file(tensors, str(tmp_path / "old.safetensors"), {"nextham": json.dumps(meta)})
    loaded, _ = load_model(tmp_path / "old.safetensors")
    assert loaded.config.h0_squash is False
    record = crystal()
    np.testing.assert_allclose(predictor(loaded)(record), predictor(old)(record), atol=1e-12)
    save_model(tiny_model(), tmp_path / "new.safetensors", {})
    assert load_model(tmp_path / "new.safetensors")[0].config.h0_squash is True
