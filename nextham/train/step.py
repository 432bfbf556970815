"""One training step's loss: real space, k space and TraceGrad, averaged over structures.

Every term is first averaged inside a structure and then over the structures of the batch.
That makes the loss of a batch the mean of the losses of any equal split of it, which is what
lets data-parallel ranks (each holding an equal share) reproduce single-process training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nextham.loss.gauge import gauge_corrected_difference, gauge_shift
from nextham.loss.kspace import kspace_loss, rms_residual, sample_kpoints
from nextham.loss.realspace import l1_loss, l2_loss
from nextham.loss.total import LossWeights, combine_losses, realspace_terms
from nextham.loss.tracegrad import tracegrad_loss
from nextham.record import keys as K
from nextham.record.flat import record_overlap_flat
from nextham.record.layout import BlockLayout
from nextham.train.config import KSpaceConfig


def delta_target(record: dict, dtype: torch.dtype) -> torch.Tensor:
    """Flat ΔH = HT − H0 of a record as a tensor of the model's precision (complex if spinor)."""
    d = np.asarray(record[K.HT]) - np.asarray(record[K.H0])
    if np.iscomplexobj(d):
        cdtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        return torch.as_tensor(d).to(cdtype)
    return torch.as_tensor(d).to(dtype)


REFERENCE_ERROR_EV = 1e-3
"""The H0 error (eV) whose structure weighs 1 under ``structure_power``."""
ERROR_FLOOR_EV = 1e-5
"""Smallest H0 error (eV) a structure's weight is computed from."""


def structure_weight(target: torch.Tensor, overlap: torch.Tensor | None, power: float):
    """(1 meV / e)^power, e the structure's H0 error: the mean |ΔH − μ*S| over its entries
    (its Gauge MAE of the zero correction; mean |ΔH| without ``overlap``), at least
    :data:`ERROR_FLOOR_EV`. Weighs the structures where H0 is nearly right up against those
    where it errs by eV, so that the loss asks for the same ratio to H0 everywhere."""
    if not power:
        return 1.0
    diff = target
    if overlap is not None:
        diff, _ = gauge_corrected_difference(torch.zeros_like(target), target, overlap)
    error = diff.abs().mean().clamp(min=ERROR_FLOOR_EV)
    return float((REFERENCE_ERROR_EV / error) ** power)


def kpoint_generator(seed: int, epoch: int, structure: int) -> torch.Generator:
    """Generator of one structure's k-points in one epoch (independent of batching and rank)."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + epoch * 10_007 + structure)


def _structure_terms(
    rec, idx, pred, target, z, weights, kcfg, seed, epoch, delta_scale, gauge, power=0.0
):
    shift, overlap = 0.0, None
    if gauge:
        overlap = torch.as_tensor(record_overlap_flat(rec)).to(pred.real.dtype).to(pred.device)
        terms = realspace_terms(pred, target, overlap, gauge=True)
        shift = gauge_shift(pred.detach(), target, overlap)[0] * overlap
    else:
        terms = {"l1": l1_loss(pred, target), "l2": l2_loss(pred, target)}
    if not weights.l2:
        terms.pop("l2")
    layout = BlockLayout.of(rec)
    if z is not None and weights.tracegrad:
        # z is built from log(1 + ‖features‖²): supervise it by log(1 + tr(ΔH ΔH†)/delta_scale²)
        terms["tracegrad"] = tracegrad_loss(z, target, layout, scaling="log1p", scale=delta_scale)
    if kcfg.n_k > 0 and weights.kspace:
        kpts = sample_kpoints(tuple(kcfg.mesh), kcfg.n_k, kpoint_generator(seed, epoch, idx))
        h0 = torch.as_tensor(rec[K.H0]).to(pred.dtype)
        k = kspace_loss(
            h0 + pred - shift, rec[K.HT], rec[K.S], layout, kpts,
            float(rec[K.META]["fermi_level"]), kcfg.window, kcfg.s_threshold,
        )  # fmt: skip
        terms.update({f"k_{name}": value for name, value in k.items()})
        if weights.k_rms:
            terms["k_rms"] = rms_residual(k)
    w = structure_weight(target, overlap, power)
    return {name: w * value for name, value in terms.items()} if w != 1.0 else terms


def batch_loss(
    model,
    records: Sequence[dict],
    indices: Sequence[int],
    targets: Sequence[torch.Tensor],
    weights: LossWeights,
    kcfg: KSpaceConfig,
    seed: int,
    epoch: int,
    device: torch.device | str = "cpu",
    gauge: bool = True,
    structure_power: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Loss terms and ``total`` of a batch of records (global structure ``indices``).

    With ``gauge`` the real-space terms use ΔH_pred − ΔH_ref − μ*S, μ* per structure (the
    uniform shift H → H + μS changes no physical quantity, so it is not penalized); the
    k-space terms then see the prediction shifted by the same (detached) μ*.
    ``structure_power`` p > 0 multiplies every term of a structure by (1 meV / e)^p, e its
    H0 error (:func:`structure_weight`); the terms returned are the weighted ones.
    """
    batch = getattr(model, "module", model).make_batch(records, device=device)
    out = model(batch)
    preds = batch.split_flat(out["delta_flat"])
    zs = batch.split_edges(out["z"]) if "z" in out else [None] * len(records)
    per: list[dict] = []
    scale = getattr(model, "module", model).config.delta_scale
    for rec, idx, pred, target, z in zip(records, indices, preds, targets, zs):
        t = target.to(device)
        args = (weights, kcfg, seed, epoch, scale, gauge, structure_power)
        per.append(_structure_terms(rec, idx, pred, t, z, *args))
    names = per[0].keys()
    terms = {name: torch.stack([p[name] for p in per]).mean() for name in names}
    return combine_losses(terms, weights)
