"""Apply a trained model to records: H = H0 + ΔH in each record's flat layout."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nextham.model.batching import edge_batches
from nextham.record import keys as K


@torch.no_grad()
def predict_hamiltonians(
    model, records: Sequence[dict], max_edges: int = 20000, device: str | torch.device = "cpu"
) -> list[np.ndarray]:
    """Predicted H (eV) of every record, float64/complex128, in the layout of ``record[HT]``.

    Records are batched up to ``max_edges`` pairs. The forward pass runs without autograd
    (TraceGrad enables it for its own gradient only), so no activation of the graph is kept.
    """
    model.eval()
    n_edges = [len(r[K.EDGE_INDEX]) for r in records]
    out: list[np.ndarray | None] = [None] * len(records)
    for batch_idx in edge_batches(range(len(records)), n_edges, max_edges, seed=None):
        recs = [records[i] for i in batch_idx]
        batch = model.make_batch(recs, device=device)
        res = model(batch)
        for i, flat in zip(batch_idx, batch.split_flat(res["hamiltonian_flat"])):
            h = flat.detach().cpu().numpy()
            out[i] = h.astype(np.complex128 if np.iscomplexobj(h) else np.float64)
    return out  # type: ignore[return-value]


@torch.no_grad()
def predict_committee(
    model, records: Sequence[dict], max_edges: int = 20000, device: str | torch.device = "cpu"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Mean ΔH (n_entries,) and the members' ΔH (K, n_entries) of every record, eV, float64 /
    complex128, for a :class:`~nextham.model.committee.Committee`; batched as
    :func:`predict_hamiltonians`."""
    model.eval()
    n_edges = [len(r[K.EDGE_INDEX]) for r in records]
    out: list = [None] * len(records)
    for batch_idx in edge_batches(range(len(records)), n_edges, max_edges, seed=None):
        batch = model.make_batch([records[i] for i in batch_idx], device=device)
        res = model(batch)
        means = batch.split_flat(res["delta_flat"])
        members = [batch.split_flat(m) for m in res["member_delta_flat"]]
        for n, i in enumerate(batch_idx):
            mean = _double(means[n])
            out[i] = (mean, np.stack([_double(m[n]) for m in members]))
    return out


def _double(t: torch.Tensor) -> np.ndarray:
    """A tensor as float64 or complex128 numpy."""
    a = t.detach().cpu().numpy()
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
