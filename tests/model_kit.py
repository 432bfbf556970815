"""Tiny model configurations and crystals shared by the model tests, and the example
structure shipped with the package."""

from __future__ import annotations

import numpy as np
import torch
import yaml
from ase.build import bulk

from nextham.model import ModelConfig, NextHAM
from nextham.predict import default_model_path
from nextham.testing import random_crystal_record

BASIS = {8: (0, 1, 2), 83: (0, 1, 3), 1: (0, 0, 1)}
"""p, d and f shells; several s shells on H (padded layout with two s slots)."""
CELL = np.array([[3.1, 0.2, 0.0], [0.1, 3.3, 0.3], [0.0, 0.2, 3.5]])
TOL = {"float32": 1e-5, "float64": 1e-10}
ALP_EXAMPLE = default_model_path().parent.parent / "examples" / "AlP.vasp"
"""The AlP example structure shipped with the package (the shipped model covers it)."""
MOSE2_EXAMPLE = default_model_path().parent.parent / "examples" / "MoSe2.vasp"
"""The MoSe₂ monolayer of the README's main job (a 2H layer, 15 Å of vacuum)."""


TRAIN_MODEL = {"num_layers": 1, "edge_mul": 2, "node_irreps": "8x0e+2x1o+2x1e+2x2e",
               "num_heads": 2, "head_dim": 4, "sh_lmax": 2, "num_radial": 4, "radial_hidden": 8,
               "tracegrad_hidden": 8}  # fmt: skip
"""The ``model`` section of the tiny training configs of the training tests."""


def strained_cells(formula: str, kind: str, a: float, n: int, seed: int) -> list:
    """``n`` cells (``s0`` …) of ``bulk(formula, kind, a)``, the k-th expanded by k %, each
    rattled by 0.03 Å (one generator of ``seed`` in order)."""
    rng = np.random.default_rng(seed)
    cells = []
    for k in range(n):
        atoms = bulk(formula, kind, a=a * (1 + 0.01 * k))
        atoms.positions += rng.normal(0, 0.03, atoms.positions.shape)
        cells.append((f"s{k}", atoms))
    return cells


def tiny_config(spinor: bool = False, dtype: str = "float64", **overrides) -> ModelConfig:
    """A small but complete configuration (all irreps up to l = 2, both parities)."""
    settings = dict(
        basis_ls=BASIS,
        spinor=spinor,
        node_irreps="8x0e+4x0o+4x1o+4x1e+4x2e+4x2o",
        edge_mul=2,
        num_layers=2,
        num_heads=2,
        head_dim=4,
        sh_lmax=2,
        cutoff=3.2,
        num_radial=4,
        radial_hidden=8,
        dtype=dtype,
    )
    settings.update(overrides)
    return ModelConfig(**settings)


def tiny_model(seed: int = 0, **kwargs) -> NextHAM:
    torch.manual_seed(seed)
    return NextHAM(tiny_config(**kwargs))


def crystal(spinor: bool = False, magnetic: bool = False, seed: int = 1, numbers=(8, 83, 1)):
    """A three-atom triclinic crystal with pairs up to 3.2 Å."""
    return random_crystal_record(
        BASIS, list(numbers), CELL, 3.2, spinor=spinor, magnetic=magnetic, seed=seed
    )


def predictor(model: NextHAM, key: str = "delta_flat"):
    """record -> model output ``key`` as float64/complex128 numpy."""

    def predict(record: dict) -> np.ndarray:
        with torch.no_grad():
            out = model(model.make_batch([record]))[key]
        return out.numpy().astype(np.complex128 if out.is_complex() else np.float64)

    return predict


def train_config_file(tmp_path, dataset, out, epochs=3, max_edges=100000, **optim_extra):
    """A `nextham train` config file for ``dataset`` (the tiny training model), its path."""
    data = {"datasets": [str(dataset)], "split": [0.67, 0.17, 0.16], "max_edges": max_edges}
    optim = {"epochs": epochs, "lr": 0.01, "warmup_epochs": 0, **optim_extra}
    cfg = {"data": data,
           "model": TRAIN_MODEL, "kspace": {"n_k": 1, "mesh": [2, 2, 2]}, "optim": optim,
           "out": str(out), "seed": 1}  # fmt: skip
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path
