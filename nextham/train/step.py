"""One training step's loss: real space, k space and TraceGrad, averaged over structures.

Every term is first averaged inside a structure and then over the structures of the batch.
That makes the loss of a batch the mean of the losses of any equal split of it, which is what
lets data-parallel ranks (each holding an equal share) reproduce single-process training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nextham.loss.kspace import kspace_loss, sample_kpoints
from nextham.loss.layout import record_orbitals
from nextham.loss.realspace import l1_loss, l2_loss
from nextham.loss.total import LossWeights, combine_losses
from nextham.loss.tracegrad import tracegrad_loss
from nextham.store import schema as K
from nextham.train.config import KSpaceConfig


def delta_target(record: dict, dtype: torch.dtype) -> torch.Tensor:
    """Flat ΔH = HT − H0 of a record as a tensor of the model's precision (complex if spinor)."""
    d = np.asarray(record[K.HT]) - np.asarray(record[K.H0])
    if np.iscomplexobj(d):
        cdtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        return torch.as_tensor(d).to(cdtype)
    return torch.as_tensor(d).to(dtype)


def kpoint_generator(seed: int, epoch: int, structure: int) -> torch.Generator:
    """Generator of one structure's k-points in one epoch (independent of batching and rank)."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + epoch * 10_007 + structure)


def _structure_terms(rec, idx, pred, target, z, weights, kcfg, seed, epoch) -> dict:
    terms: dict[str, torch.Tensor] = {"l1": l1_loss(pred, target)}
    if weights.l2:
        terms["l2"] = l2_loss(pred, target)
    layout = (rec[K.BLOCK_PTR], rec[K.EDGE_INDEX], record_orbitals(rec), bool(rec[K.SPINOR]))
    if z is not None and weights.tracegrad:
        terms["tracegrad"] = tracegrad_loss(z, target, *layout)
    if kcfg.n_k > 0 and (weights.k_pp or weights.k_qq or weights.k_pq):
        kpts = sample_kpoints(tuple(kcfg.mesh), kcfg.n_k, kpoint_generator(seed, epoch, idx))
        h0 = torch.as_tensor(rec[K.H0]).to(pred.dtype)
        k = kspace_loss(
            h0 + pred, rec[K.HT], rec[K.S], rec[K.BLOCK_PTR], rec[K.EDGE_INDEX],
            rec[K.CELL_SHIFT], record_orbitals(rec), kpts, bool(rec[K.SPINOR]),
            float(rec[K.META]["fermi_level"]), kcfg.window, kcfg.s_threshold,
        )  # fmt: skip
        terms.update({f"k_{name}": value for name, value in k.items()})
    return terms


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
) -> dict[str, torch.Tensor]:
    """Loss terms and ``total`` of a batch of records (global structure ``indices``)."""
    batch = getattr(model, "module", model).make_batch(records, device=device)
    out = model(batch)
    preds = batch.split_flat(out["delta_flat"])
    zs = batch.split_edges(out["z"]) if "z" in out else [None] * len(records)
    per: list[dict] = []
    for rec, idx, pred, target, z in zip(records, indices, preds, targets, zs):
        per.append(
            _structure_terms(rec, idx, pred, target.to(device), z, weights, kcfg, seed, epoch)
        )
    names = per[0].keys()
    terms = {name: torch.stack([p[name] for p in per]).mean() for name in names}
    return combine_losses(terms, weights)
