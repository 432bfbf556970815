"""The training configuration: one documented YAML file, read into small dataclasses.

Example (every key optional except ``data.datasets``)::

    data:
      datasets: [data/scalar40]     # dataset directories (same engine settings)
      split: [0.8, 0.1, 0.1]        # train / validation / test fractions, by structure
      seed: 0                       # seed of the split
      split_by: structure           # structure | cell: a base cell's copies in one part
      stable_split: false           # true: parts and drawn pairs by a hash of each name (a
                                    #   growing dataset keeps every structure's part)
      max_edges: 4000               # batch = structures packed up to this many pairs
      holdout_elements: [Ge]        # structures with these elements: "ood" split, never trained
      holdout_pairs: [Ga-As]        # structures holding both elements of a pair: "ood" too
      holdout_pair_fraction: 0.0    # also hold out this fraction of the binaries' pairs (seeded)
      cache_mb: 4000                # records stream from the store through an LRU cache this big
      balance: none                 # none | element: draws ∝ mean 1/count of its elements
      samples_per_epoch: null       # draws per epoch with balance: element (default: train size)
      balance_power: 1.0            # τ: draws ∝ (mean 1/count)^τ; 0 uniform, 1 fully balanced
    model: {num_layers: 2, edge_mul: 8}      # nextham.model.config.ModelConfig fields
    loss: {l1: 1.0, k_pp: 0.1, tracegrad: 0.1}   # nextham.loss.total.LossWeights fields
    kspace: {n_k: 2, mesh: [4, 4, 4], window: 10.0}
    optim: {lr: 3.0e-3, weight_decay: 0.0, epochs: 100, warmup_epochs: 2, grad_clip: 10.0,
            ema_decay: 0.99}        # validate/save the parameters' moving average (0: off)
    out: runs/scalar40              # checkpoints, logs, best model
    seed: 0                         # parameters, batch order, k-point sampling
    device: auto                    # auto | cpu | cuda
    gauge_loss: true                # real-space terms after removing μ*·S per structure
    structure_power: 0.0            # p: each structure's terms × (1 meV / its H0 error)^p
    init_from: null                 # a model file to start from (fine-tuning; no model section)
    init_member: 0                  # with a committee file in init_from: the member to start from

The basis (``basis_ls``) and the spin mode of the model come from the data, not the file;
with ``init_from`` the whole model comes from that file (:mod:`nextham.train.initial`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ase.data import atomic_numbers

from nextham.config import from_mapping
from nextham.errors import InputError
from nextham.loss.total import LossWeights
from nextham.train.holdout import parse_pair
from nextham.train.sampling import BALANCE_MODES

SPLIT_BY = ("structure", "cell")
"""How train/validation/test are drawn: per structure, or per base cell (a recipe's strained
copies, supercell and vacancy of one composition and prototype stay together,
:func:`nextham.train.data.cell_keys`)."""


@dataclass(frozen=True)
class DataConfig:
    datasets: tuple[str, ...] = ()
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    max_edges: int = 4000
    holdout_elements: tuple[str, ...] = ()
    holdout_pairs: tuple[str, ...] = ()
    holdout_pair_fraction: float = 0.0
    cache_mb: float = 4000.0
    balance: str = "none"
    samples_per_epoch: int | None = None
    balance_power: float = 1.0
    scalar_part: bool = False
    split_by: str = "structure"
    stable_split: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "datasets", tuple(str(d) for d in self.datasets))
        if not isinstance(self.stable_split, bool):
            raise InputError(f"data.stable_split must be true or false, got {self.stable_split!r}")
        if self.split_by not in SPLIT_BY:
            raise InputError(f"data.split_by must be one of {SPLIT_BY}, got {self.split_by!r}")
        object.__setattr__(self, "holdout_elements", tuple(self.holdout_elements))
        bad = [e for e in self.holdout_elements if e not in atomic_numbers]
        if bad:
            raise InputError(f"data.holdout_elements: {bad} are not element symbols (e.g. Ge)")
        object.__setattr__(self, "holdout_pairs", tuple(str(p) for p in self.holdout_pairs))
        for p in self.holdout_pairs:
            parse_pair(p)  # raises on a malformed pair
        if not 0 <= self.holdout_pair_fraction < 1:
            raise InputError(
                f"data.holdout_pair_fraction must be in [0, 1), got {self.holdout_pair_fraction}"
            )
        object.__setattr__(self, "split", tuple(float(x) for x in self.split))
        if not self.datasets:
            raise InputError("data.datasets is empty; list at least one dataset directory")
        if self.balance not in BALANCE_MODES:
            raise InputError(f"data.balance must be one of {BALANCE_MODES}, got {self.balance!r}")
        if not 0 <= self.balance_power <= 1:
            raise InputError(f"data.balance_power must be in [0, 1], got {self.balance_power}")
        if not self.cache_mb > 0:
            raise InputError(f"data.cache_mb must be positive (MB of cached records), got "
                             f"{self.cache_mb}")  # fmt: skip
        if len(self.split) != 3 or abs(sum(self.split) - 1) > 1e-6 or min(self.split) < 0:
            raise InputError(
                f"data.split must be three non-negative fractions summing to 1, got {self.split}"
            )


@dataclass(frozen=True)
class KSpaceConfig:
    """k-points per structure and step (0 disables), the grid they are drawn from, the window."""

    n_k: int = 2
    mesh: tuple[int, int, int] = (4, 4, 4)
    window: float = 10.0
    s_threshold: float = 1e-6


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 3e-3
    weight_decay: float = 0.0
    epochs: int = 100
    warmup_epochs: int = 2
    min_lr_ratio: float = 0.02
    grad_clip: float = 10.0
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputError(
                f"optim.ema_decay must lie in [0, 1) (0 disables the average), got {self.ema_decay}"
            )


@dataclass(frozen=True)
class TrainConfig:
    data: DataConfig
    model: dict = field(default_factory=dict)
    loss: LossWeights = field(default_factory=LossWeights)
    kspace: KSpaceConfig = field(default_factory=KSpaceConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    out: str = "runs/nextham"
    seed: int = 0
    device: str = "auto"
    gauge_loss: bool = True
    structure_power: float = 0.0
    init_from: str | None = None
    init_member: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from the YAML mapping; unknown keys in any section are an InputError."""
        return from_mapping(cls, d, "top-level config", _sections)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such config file")
        try:
            d = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(d, dict):
            raise InputError(f"{path}: expected a mapping of sections (data, model, …)")
        return cls.from_dict(d)

    def to_dict(self) -> dict:
        """Plain mapping that :meth:`from_dict` reads back."""
        d = dataclasses.asdict(self)
        d["loss"] = self.loss.as_dict()
        return d


def _structure_power(value: Any) -> float:
    """``structure_power`` as a float in [0, 1]."""
    p = float(value)
    if not 0 <= p <= 1:
        raise InputError(f"structure_power must be in [0, 1], got {value}")
    return p


def _sections(d: dict[str, Any]) -> dict[str, Any]:
    """The top-level mapping with each section read into its dataclass."""
    if "data" not in d:
        raise InputError("the config has no 'data' section (data.datasets is required)")
    for key in ("basis_ls", "spinor"):
        if key in (d.get("model") or {}):
            raise InputError(f"model.{key} comes from the data; remove it from the config")
    if d.get("init_from") and d.get("model"):
        raise InputError(
            "init_from takes the model (architecture, scales, weights) from its file; remove "
            "the model section from the config"
        )
    return {
        **d,
        "data": from_mapping(DataConfig, d["data"], "data"),
        "model": dict(d.get("model") or {}),
        "loss": LossWeights.from_dict(d.get("loss") or {}),
        "kspace": from_mapping(KSpaceConfig, d.get("kspace"), "kspace"),
        "optim": from_mapping(OptimConfig, d.get("optim"), "optim"),
        "out": str(d.get("out", TrainConfig.out)),
        "seed": int(d.get("seed", 0)),
        "device": str(d.get("device", "auto")),
        "gauge_loss": bool(d.get("gauge_loss", True)),
        "structure_power": _structure_power(d.get("structure_power", 0.0)),
        "init_from": None if d.get("init_from") is None else str(d["init_from"]),
        "init_member": int(d.get("init_member", 0)),
    }
