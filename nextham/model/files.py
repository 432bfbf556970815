"""Model files: the weights in safetensors, everything else as JSON in its metadata.

A model file (``*.safetensors``, what users receive) holds the weights and, in the safetensors
metadata, one JSON string ``"nextham"`` with the model config, scales, engine settings
(under :data:`nextham.record.keys.ENGINE_SETTINGS`), elements and version — enough to rebuild
the model and to refuse structures it was not trained for. Nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

import nextham
from nextham.errors import InputError
from nextham.model.committee import Committee
from nextham.model.config import BEFORE_OPTION
from nextham.model.nextham import NextHAM, build_model
from nextham.store.atomic import atomic_output


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, meta: dict[str, str]) -> None:
    """Write ``tensors`` (moved to the CPU) and string metadata to ``path``, atomically."""
    with atomic_output(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp, meta)


def save_model(model: NextHAM | Committee, path: str | Path, info: dict[str, Any]) -> None:
    """Write a self-describing model file (weights + metadata), atomically; a committee also
    records its size."""
    meta = {
        "format": "nextham-model/1",
        "nextham_version": nextham.__version__,
        "model_config": model.config.to_dict(),
        **info,
    }
    if isinstance(model, Committee):
        meta["committee"] = {**meta.get("committee", {}), "size": model.size}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(dict(model.state_dict()), path, {"nextham": json.dumps(meta)})


def read_model_metadata(path: str | Path) -> dict:
    """The metadata of a model file; raises InputError for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("nextham")
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a safetensors model file or corrupted ({exc})") from None
    if raw is None:
        raise InputError(f"{path}: safetensors file without nextham metadata (not a nextham model)")
    return json.loads(raw)


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[NextHAM | Committee, dict]:
    """Rebuild the model (a committee when the file holds one) from a model file; returns
    (model in eval mode, metadata)."""
    meta = read_model_metadata(path)
    config = {**BEFORE_OPTION, **meta["model_config"]}
    if "committee" in meta:
        model = Committee([build_model(config) for _ in range(meta["committee"]["size"])])
    else:
        model = build_model(config)
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
        model.load_state_dict(state)
    except (SafetensorError, RuntimeError) as exc:
        raise InputError(f"{path}: weights do not match the stored model config ({exc})") from None
    return model.to(device).eval(), meta
