"""Training checkpoints: tensors in safetensors, everything else in JSON.

Model files (what users receive) are written by :mod:`nextham.model.files`.

Checkpoint (what ``train`` resumes from): ``ckpt-NNNN.safetensors`` (weights, optimizer
tensors, torch RNG state) and ``last.json`` (epoch, optimizer scalars, history, best metric)
that names the tensor file. The tensor file is written first, then ``last.json`` is renamed
into place, so a kill at any moment leaves the previous consistent checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from nextham.errors import InputError
from nextham.model.config import BEFORE_OPTION
from nextham.model.files import save_tensors
from nextham.store.atomic import atomic_write_text


def save_checkpoint(out: Path, epoch: int, model, optimizer, state: dict, ema=None) -> None:
    """Write the checkpoint of a finished epoch (see module docstring); ``ema`` is an optional
    :class:`nextham.train.ema.ParameterEMA` saved alongside (``ema/…`` tensors)."""
    out.mkdir(parents=True, exist_ok=True)
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    if ema is not None:
        tensors.update({f"ema/{k}": v for k, v in ema.tensors().items()})
        state = {**state, "ema_updates": ema.num_updates}
    opt = optimizer.state_dict()
    scalars: dict[str, Any] = {}
    for pid, st in opt["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"optim/{pid}/{key}"] = value
            else:
                scalars[f"{pid}/{key}"] = value
    tensors["rng/torch"] = torch.get_rng_state()
    name = f"ckpt-{epoch:05d}.safetensors"
    save_tensors(tensors, out / name, {})
    doc = {"epoch": epoch, "tensors": name, "param_groups": opt["param_groups"],
           "optim_scalars": scalars, "h0_squash": model.config.h0_squash, **state}  # fmt: skip
    atomic_write_text(out / "last.json", json.dumps(doc, indent=1))
    for old in out.glob("ckpt-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def load_checkpoint(out: Path, model, optimizer, ema=None) -> dict | None:
    """Restore model, optimizer, RNG (and ``ema`` if given) from ``out``; returns the JSON
    state or None."""
    doc_path = out / "last.json"
    if not doc_path.exists():
        return None
    doc = json.loads(doc_path.read_text())
    written = doc.get("h0_squash", BEFORE_OPTION["h0_squash"])
    if written != model.config.h0_squash:
        raise InputError(
            f"{out}: the checkpoint was trained with model.h0_squash: {str(written).lower()}, "
            f"the config asks for {str(model.config.h0_squash).lower()}; set it in the "
            "config's model section to resume, or start afresh"
        )
    with safe_open(str(out / doc["tensors"]), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model/")})
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("optim/"):
            _, pid, key = k.split("/", 2)
            state.setdefault(int(pid), {})[key] = v
    for k, v in doc["optim_scalars"].items():
        pid, key = k.split("/", 1)
        state.setdefault(int(pid), {})[key] = v
    optimizer.load_state_dict({"state": state, "param_groups": doc["param_groups"]})
    torch.set_rng_state(tensors["rng/torch"])
    if ema is not None:
        averaged = {k[4:]: v for k, v in tensors.items() if k.startswith("ema/")}
        if not averaged:
            raise InputError(
                f"{out}: the checkpoint has no parameter average but the config asks for "
                "optim.ema_decay; resume with the config it was written with, or start afresh"
            )
        ema.load(averaged, doc["ema_updates"])
    return doc
