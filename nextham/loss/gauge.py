"""Gauge (rigid energy shift) of a predicted Hamiltonian.

A Hamiltonian of a periodic crystal is defined up to a constant potential: H and H + μ S
have the same eigenvectors and eigenvalues shifted by μ. The gauge-invariant error of a
prediction is therefore measured after removing the best shift,

    μ* = argmin_μ Σ |H_pred − μ S − H_gt|²  =  Re Σ (H_pred − H_gt) S* / Σ |S|²,

the sums running over every stored entry of one structure (μ real). For spinor records S
stands for S ⊗ I₂ in the spinor layout (:func:`nextham.record.flat.spin_diagonal_flat`):
↑↓/↓↑ entries have S = 0, so only ↑↑/↓↓ entries determine μ*.

μ* is linear in H_pred, so it is differentiable. For a squared loss its gradient does not
change the gradient of the corrected loss (the loss is stationary in μ at μ*); for L1 it
does, and ``detach_shift=True`` treats μ* as a constant.
"""

from __future__ import annotations

import torch


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(-1)


def gauge_shift(
    pred: torch.Tensor,
    target: torch.Tensor,
    overlap: torch.Tensor,
    batch: torch.Tensor | None = None,
    n_structures: int | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Optimal rigid shift μ* of each structure, eV.

    Parameters
    ----------
    pred, target : (...,) real or complex
        Predicted and reference H (or ΔH) in the same layout (flat or padded).
    overlap : (...,) real or complex
        S in the same layout as ``pred`` (S ⊗ I₂ for spinor blocks).
    batch : (...,) int, optional
        Structure index of each entry (all zero when omitted).
    n_structures : int, optional
        Number of structures B; defaults to ``batch.max() + 1``.
    mask : (...,) bool, optional
        True on real entries of a padded layout.

    Returns
    -------
    torch.Tensor, (B,) real
        μ* per structure; 0 for a structure whose selected S is all zero.
    """
    d = _flat(pred - target)
    s = _flat(overlap).to(d.dtype)
    b = torch.zeros_like(d, dtype=torch.long) if batch is None else _flat(batch).long()
    if mask is not None:
        keep = _flat(torch.broadcast_to(mask, pred.shape)).to(torch.bool)
        d = torch.where(keep, d, torch.zeros((), dtype=d.dtype, device=d.device))
        s = torch.where(keep, s, torch.zeros((), dtype=s.dtype, device=s.device))
    nb = int(b.max().item()) + 1 if n_structures is None else int(n_structures)
    num_e = (d * s.conj()).real if d.is_complex() else d * s
    den_e = s.abs().square()
    num = torch.zeros(nb, dtype=num_e.dtype, device=d.device).index_add(0, b, num_e)
    den = torch.zeros(nb, dtype=den_e.dtype, device=d.device).index_add(0, b, den_e)
    return torch.where(den > 0, num / den.clamp(min=torch.finfo(den.dtype).tiny), 0.0)


def gauge_corrected_difference(
    pred: torch.Tensor,
    target: torch.Tensor,
    overlap: torch.Tensor,
    batch: torch.Tensor | None = None,
    n_structures: int | None = None,
    mask: torch.Tensor | None = None,
    detach_shift: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``pred − μ* S − target`` entry by entry, and μ*.

    Shapes as in :func:`gauge_shift`; the difference has the shape of ``pred`` and the
    shift shape (B,). Masked-out entries of the difference are set to zero.
    """
    mu = gauge_shift(pred, target, overlap, batch, n_structures, mask)
    mu_used = mu.detach() if detach_shift else mu
    b = torch.zeros_like(pred, dtype=torch.long) if batch is None else batch.long()
    diff = pred - target - mu_used[b].to(pred.dtype) * overlap.to(pred.dtype)
    if mask is not None:
        keep = torch.broadcast_to(mask, pred.shape).to(torch.bool)
        diff = torch.where(keep, diff, torch.zeros((), dtype=diff.dtype, device=diff.device))
    return diff, mu
