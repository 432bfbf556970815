"""The training loop: epochs over edge-bounded batches, validation Gauge MAE, checkpoints, resume.

The validated and saved model is the moving average of the parameters when
``optim.ema_decay`` > 0 (:mod:`nextham.train.ema`), the last iterate otherwise.

Determinism: parameters are initialised from ``seed``; the batch order of epoch e is drawn from
``(seed, e)`` and the k-points of structure s in epoch e from ``(seed, e, s)``, so a run killed
and restarted from its last checkpoint repeats the same trajectory.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ase.data import atomic_numbers, chemical_symbols

from nextham.dft.settings import EngineSettings, element_details, ke_cutoff_ev
from nextham.errors import InputError
from nextham.loss.metrics import gauge_mae
from nextham.model.batching import edge_batches
from nextham.model.files import save_model
from nextham.model.nextham import build_model
from nextham.predict import domain_statistics, predict_hamiltonians
from nextham.record import keys as K
from nextham.train import distributed as dist
from nextham.train.checkpoint import load_checkpoint, save_checkpoint
from nextham.train.config import TrainConfig
from nextham.train.data import (
    add_kind_sums,
    cell_keys,
    kind_rms,
    merged_basis,
    split_groups,
    split_indices,
)
from nextham.train.ema import ParameterEMA
from nextham.train.holdout import draw_pairs, held_out, pair_name, parse_pair
from nextham.train.initial import initial_model
from nextham.train.logging import MetricLogger
from nextham.train.sampling import epoch_structures
from nextham.train.source import EntryRef, RecordSource, index_datasets
from nextham.train.step import batch_loss, delta_target


@dataclass
class TrainData:
    """The indexed entries, their records (streamed, :mod:`nextham.train.source`) and split."""

    refs: list[EntryRef]
    records: RecordSource
    settings: EngineSettings
    train: list[int]
    val: list[int]
    test: list[int]
    ood: list[int]
    holdout_pairs: tuple[tuple[int, int], ...] = ()
    skipped: tuple[str, ...] = ()  # entries left out: their SCF did not converge

    @property
    def names(self) -> list[str]:
        return [r.label for r in self.refs]


def prepare_data(cfg: TrainConfig) -> TrainData:
    """Indexed entries and their split: structures with a held-out element or element pair
    (:mod:`nextham.train.holdout`) form the "ood" part, the rest is split into
    train/validation/test by structure (``split_by: cell``: by base cell, so that no strained
    copy of a test cell is trained on); ``stable_split`` draws parts and pairs by a hash of each
    name (:mod:`nextham.train.stable`), so that a larger copy of a growing dataset keeps them."""
    d = cfg.data
    refs, settings, skipped = index_datasets(d.datasets, d.scalar_part)
    numbers = [r.numbers for r in refs]
    held = {atomic_numbers[e] for e in d.holdout_elements}
    pairs = {parse_pair(p) for p in d.holdout_pairs}
    pairs |= set(draw_pairs(numbers, d.holdout_pair_fraction, d.seed, d.stable_split))
    ood = held_out(numbers, held, pairs)
    out = set(ood)
    rest = [i for i in range(len(refs)) if i not in out]
    if not rest:
        raise InputError("every structure holds a held-out element or element pair")
    if d.split_by == "cell":
        keys = cell_keys(d.datasets, refs)
        parts = split_groups([keys[i] for i in rest], d.split, d.seed, d.stable_split)
    elif d.stable_split:
        parts = split_groups([refs[i].label for i in rest], d.split, d.seed, stable=True)
    else:
        parts = split_indices(len(rest), d.split, d.seed)
    train, val, test = ([rest[i] for i in p] for p in parts)
    records = RecordSource(refs, d.cache_mb * 2**20, d.scalar_part)
    return TrainData(refs, records, settings, train, val, test, ood, tuple(sorted(pairs)),
                     tuple(skipped))  # fmt: skip


def data_scales(records, per_kind: bool = False) -> tuple[float, float, dict | None]:
    """(h0_scale, delta_scale, pair scales) in eV: RMS of H0 and of ΔH over the training
    records (an iterable, read once), and with ``per_kind`` the RMS of ΔH per kind of block
    (:func:`nextham.train.data.pair_scales`; else None)."""
    h0_sq = dh_sq = count = 0.0
    kinds: dict[str, list] = {}
    for r in records:
        h0_sq += float(np.sum(np.abs(r[K.H0]) ** 2))
        dh_sq += float(np.sum(np.abs(r[K.HT] - r[K.H0]) ** 2))
        count += r[K.H0].size
        if per_kind:
            add_kind_sums(kinds, r)
    pairs = kind_rms(kinds) if per_kind else None
    return float(np.sqrt(h0_sq / count)), float(max(np.sqrt(dh_sq / count), 1e-6)), pairs


def make_model(cfg: TrainConfig, data: TrainData):
    """The model for this config and data (basis and spin mode from the data); ``pair_scales:
    auto`` gets the training split's scales per kind of block. With ``init_from`` the model of
    that file (:mod:`nextham.train.initial`)."""
    basis = merged_basis([{K.BASIS_LS: r.basis_ls} for r in data.refs])
    spinor = data.refs[0].spinor
    if cfg.init_from:
        return initial_model(cfg.init_from, data.settings, basis, spinor, cfg.init_member)
    auto = cfg.model.get("pair_scales") == "auto"
    h0_scale, delta_scale, pairs = data_scales(data.records.subset(data.train), per_kind=auto)
    scales = {"h0_scale": h0_scale, "delta_scale": delta_scale}
    model_cfg = {**scales, **cfg.model, "basis_ls": basis, "spinor": spinor}
    if auto:
        model_cfg["pair_scales"] = pairs
    torch.manual_seed(cfg.seed)
    return zero_output_(build_model(model_cfg))


def zero_output_(model):
    """Start from ΔH = 0 (the H0 baseline): zero the read-out and skip maps of every sub-network."""
    with torch.no_grad():
        for net in model.nets:
            net.readout.weight.zero_()
            if net.skip is not None:
                net.skip.weight.zero_()
    return model


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio``·lr (per epoch)."""
    o = cfg.optim
    if epoch < o.warmup_epochs:
        return o.lr * (epoch + 1) / (o.warmup_epochs + 1)
    span = max(o.epochs - o.warmup_epochs, 1)
    t = (epoch - o.warmup_epochs) / span
    return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def validation_mae(model, records, baseline: bool = False, chunk: int = 64) -> float:
    """Gauge MAE (meV) over all entries of ``records`` (a sequence), predicted by ``model`` in
    chunks of ``chunk`` structures, or of H0 itself with ``baseline``."""
    if not len(records):
        return float("nan")
    total = count = 0.0
    for start in range(0, len(records), chunk):
        part = [records[i] for i in range(start, min(start + chunk, len(records)))]
        h_pred = [r[K.H0] for r in part] if baseline else predict_hamiltonians(model, part)
        for r, h in zip(part, h_pred):
            stats = gauge_mae(r, h)["overall"]
            total, count = total + stats["sum_meV"], count + stats["count"]
    return total / count


def _train_epoch(cfg, ddp_model, core, data, optimizer, epoch, device, ema) -> dict:
    rank, world = dist.rank_and_world()
    n_edges = [r.n_edges for r in data.refs]
    visit = epoch_structures(
        data.train, [data.refs[i].numbers for i in data.train], cfg.data.balance, cfg.seed,
        epoch, cfg.data.samples_per_epoch, cfg.data.balance_power,
    )  # fmt: skip
    batches = edge_batches(visit, n_edges, cfg.data.max_edges, seed=cfg.seed * 7919 + epoch)
    dtype = next(core.parameters()).dtype
    sums: dict[str, float] = {}
    for batch in batches:
        mine = batch[rank::world] or batch[:1]
        optimizer.zero_grad(set_to_none=True)
        recs = [data.records[i] for i in mine]
        terms = batch_loss(
            ddp_model, recs, mine, [delta_target(r, dtype) for r in recs],
            cfg.loss, cfg.kspace, cfg.seed, epoch, device, cfg.gauge_loss, cfg.structure_power,
        )  # fmt: skip
        terms["total"].backward()
        if cfg.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(core.parameters(), cfg.optim.grad_clip)
        optimizer.step()
        if ema is not None:
            ema.update(core)
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach()) / len(batches)
    return {f"train_{k}": v for k, v in sums.items()}


def fit(cfg: TrainConfig, progress: bool = True) -> dict:
    """Train (or resume) according to ``cfg``; returns the final state (history, best)."""
    device = dist.pick_device(cfg.device)
    data = prepare_data(cfg)
    if data.skipped and progress and dist.is_main():
        more = " …" if len(data.skipped) > 10 else ""
        print(f"left out {len(data.skipped)} entries whose SCF did not converge: "
              f"{', '.join(data.skipped[:10])}{more}")  # fmt: skip
    core = make_model(cfg, data).to(device)
    ddp_model = dist.wrap(core)
    optimizer = torch.optim.AdamW(
        core.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
    )
    out = Path(cfg.out)
    ckpt = out / "checkpoint"
    ema = ParameterEMA(core, cfg.optim.ema_decay) if cfg.optim.ema_decay else None
    state = load_checkpoint(ckpt, core, optimizer, ema)
    state = state or {"epoch": -1, "history": [], "best": None}
    val = _Subset(data.records, data.val)
    baseline = validation_mae(core, val, baseline=True)
    logger = MetricLogger(out, history=state["history"], enabled=dist.is_main())
    info = model_info(cfg, data) if dist.is_main() else {}
    for epoch in range(state["epoch"] + 1, cfg.optim.epochs):
        for g in optimizer.param_groups:
            g["lr"] = learning_rate(cfg, epoch)
        t0 = time.perf_counter()
        core.train()
        row = _train_epoch(cfg, ddp_model, core, data, optimizer, epoch, device, ema)
        row.update(epoch=epoch, lr=optimizer.param_groups[0]["lr"], time_s=time.perf_counter() - t0)
        with ema.averaged(core) if ema is not None else nullcontext(core):
            row["val_gauge_mae_meV"] = validation_mae(core, val)
            row["val_h0_gauge_mae_meV"] = baseline
            state["history"].append(row)
            if dist.is_main() and _improved(state["best"], row):
                state["best"] = {"epoch": epoch, "val_gauge_mae_meV": row["val_gauge_mae_meV"]}
                save_model(core, out / "model.safetensors", info)
        if dist.is_main():
            history = {k: state[k] for k in ("history", "best")}
            save_checkpoint(ckpt, epoch, core, optimizer, history, ema)
            logger.log(row, progress)
        dist.barrier()
    logger.close()
    return state


class _Subset:
    """``records[indices[k]]`` as a sequence, loaded on access."""

    def __init__(self, records: RecordSource, indices: list[int]):
        self.records, self.indices = records, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> dict:
        return self.records[self.indices[k]]


def _improved(best: dict | None, row: dict) -> bool:
    return best is None or row["val_gauge_mae_meV"] < best["val_gauge_mae_meV"]


def model_info(cfg: TrainConfig, data: TrainData) -> dict:
    """Metadata stored in the model file (engine settings, elements, split, training config,
    per-element engine choices and the training-domain statistics of the reliability flag)."""
    z = sorted({int(x) for r in data.refs for x in r.numbers})
    settings = data.settings
    check_cutoffs(data, settings)
    return {
        K.ENGINE_SETTINGS: settings.to_dict(),
        "elements": [chemical_symbols[i] for i in z],
        "spin": settings.spin,
        "train_config": cfg.to_dict(),
        "split": {
            "train": [data.names[i] for i in data.train],
            "val": [data.names[i] for i in data.val],
            "test": [data.names[i] for i in data.test],
            "ood": [data.names[i] for i in data.ood],
        },
        "holdout_pairs": [pair_name(p) for p in data.holdout_pairs],
        "element_details": element_details(z, settings),
        "domain": domain_statistics(data.records.subset(data.train)),
    }


def check_cutoffs(data: TrainData, settings: EngineSettings) -> None:
    """Every record must have been computed with this version's plane-wave cutoff table."""
    for ref in data.refs:
        name = ref.label
        want, have = ke_cutoff_ev(list(ref.numbers), settings), ref.ke_cutoff_ev
        if want is not None and have is not None and abs(want - have) > 1e-6:
            raise InputError(
                f"{name} was computed at a {have:.0f} eV cutoff but this nextham uses "
                f"{want:.0f} eV for its elements; regenerate it (delete the entry and rerun "
                "`nextham generate` with the same options)"
            )
