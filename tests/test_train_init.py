"""Fine-tuning (`init_from`): the file's model is the start, a committee gives the member
named, data of other settings are refused."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
import yaml
from model_kit import train_config_file as _config
from safetensors.torch import load_file

from nextham.cli.main import main
from nextham.errors import InputError
from nextham.model.committee import Committee
from nextham.model.files import load_model, read_model_metadata, save_model
from nextham.train.config import TrainConfig
from nextham.train.loop import make_model, prepare_data


def _init_config(tmp_path, dataset, init, name="fine"):
    cfg = yaml.safe_load(_config(tmp_path, dataset, tmp_path / name, epochs=2).read_text())
    del cfg["model"]
    cfg["init_from"] = str(init)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_init_from_starts_at_the_files_model_and_trains_on(tmp_path, tiny_dataset):
    """Fine-tuning: the model (weights and scales) is the file's at the start, then trains."""
    base = tmp_path / "base"
    assert main(["train", str(_config(tmp_path, tiny_dataset, base)), "--quiet"]) == 0
    cfg = TrainConfig.load(_init_config(tmp_path, tiny_dataset, base / "model.safetensors"))
    start = make_model(cfg, prepare_data(cfg))
    saved = load_file(base / "model.safetensors")
    state = start.state_dict()
    assert set(saved) <= set(state)
    for k, v in saved.items():
        torch.testing.assert_close(state[k], v)
    assert start.training
    # and it trains on from there
    fine = tmp_path / "fine"
    path = _init_config(tmp_path, tiny_dataset, base / "model.safetensors")
    assert main(["train", str(path), "--quiet"]) == 0
    tuned = load_file(fine / "model.safetensors")
    assert any(not torch.equal(tuned[k], saved[k]) for k in saved)
    meta = read_model_metadata(fine / "model.safetensors")
    assert meta["train_config"]["init_from"] == str(base / "model.safetensors")


def test_init_from_a_committee_starts_from_the_member_named(tmp_path, tiny_dataset):
    """A committee file (the shipped default model) gives the member ``init_member``; a member
    it does not have is refused."""
    base = tmp_path / "base"
    assert main(["train", str(_config(tmp_path, tiny_dataset, base, epochs=1)), "--quiet"]) == 0
    model, meta = load_model(base / "model.safetensors")
    other, _ = load_model(base / "model.safetensors")
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.01)
    path = tmp_path / "committee.safetensors"
    save_model(Committee([model, other]), path, meta)
    cfg = yaml.safe_load(_init_config(tmp_path, tiny_dataset, path).read_text())
    for member, want in ((0, model), (1, other)):
        start = make_model(*_with_data(TrainConfig.from_dict({**cfg, "init_member": member})))
        for k, v in want.state_dict().items():
            torch.testing.assert_close(start.state_dict()[k], v)
    bad = TrainConfig.from_dict({**cfg, "init_member": 2})
    with pytest.raises(InputError, match="committee of 2 members"):
        make_model(bad, prepare_data(bad))


def _with_data(cfg: TrainConfig) -> tuple:
    return cfg, prepare_data(cfg)


def test_init_from_refuses_a_model_section_and_other_settings(tmp_path, tiny_dataset):
    base = tmp_path / "base"
    assert main(["train", str(_config(tmp_path, tiny_dataset, base, epochs=1)), "--quiet"]) == 0
    path = _init_config(tmp_path, tiny_dataset, base / "model.safetensors")
    cfg = yaml.safe_load(path.read_text())
    with pytest.raises(InputError, match="remove the model section"):
        TrainConfig.from_dict({**cfg, "model": {"num_layers": 2}})
    # data of other engine settings than the model's labels
    other = tmp_path / "other"
    shutil.copytree(tiny_dataset, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["engine_settings"]["ke_cutoff_ev"] = 500.0
    (other / "manifest.json").write_text(json.dumps(manifest))
    cfg["data"]["datasets"] = [str(other)]
    bad = TrainConfig.from_dict(cfg)
    with pytest.raises(InputError, match="engine settings"):
        make_model(bad, prepare_data(bad))
