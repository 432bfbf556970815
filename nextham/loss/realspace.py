"""Real-space losses on the blocks of ΔH (or H; the difference is the same).

Every stored entry counts, spinor blocks included. A complex entry contributes two real
components (real and imaginary part), so both parts are learned and the mean runs over
real components:

    L1 = Σ_c |p_c − t_c| / n_c,        L2 = Σ_c (p_c − t_c)² / n_c

where c runs over the real components of the selected entries (n_c = n_entries for real
blocks, 2 n_entries for complex ones). Inputs are either the flat 1-D layout of a record or
batch (no mask needed) or any padded layout with a boolean ``mask`` of the same shape that is
True on real entries; masked-out entries never enter the sum nor the count, and their
values (even NaN) never reach the result or its gradient.
"""

from __future__ import annotations

from typing import Literal

import torch

Reduction = Literal["mean", "sum"]


def masked_difference(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real components of ``pred − target`` on the selected entries, and their count.

    Parameters
    ----------
    pred, target : (...,) real or complex, same shape
        Flat (n_entries,) or padded, e.g. (E, d_max, d_max).
    mask : (...,) bool, optional
        Broadcastable to ``pred``; True where an entry is real data.

    Returns
    -------
    diff : (..., 2) or (..., 1) real
        Differences split into real components, zero where masked out.
    count : () real
        Number of selected real components.
    """
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch: pred {tuple(pred.shape)}, target {tuple(target.shape)}")
    diff = pred - target
    if mask is None:
        keep = torch.ones_like(diff, dtype=torch.bool)
    else:
        keep = torch.broadcast_to(mask.to(torch.bool), diff.shape)
        diff = torch.where(keep, diff, torch.zeros((), dtype=diff.dtype, device=diff.device))
    parts = torch.view_as_real(diff) if diff.is_complex() else diff[..., None]
    count = keep.sum().to(parts.dtype) * parts.shape[-1]
    return parts, count


def _reduce(values: torch.Tensor, count: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / count.clamp(min=1)
    raise ValueError(f"unknown reduction {reduction!r}")


def l1_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Mean (or sum) absolute error over the real components of the selected entries, eV.

    See :func:`masked_difference` for shapes. An empty selection gives 0.
    """
    parts, count = masked_difference(pred, target, mask)
    return _reduce(parts.abs(), count, reduction)


def l2_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Mean (or sum) squared error over the real components of the selected entries, eV².

    See :func:`masked_difference` for shapes. An empty selection gives 0.
    """
    parts, count = masked_difference(pred, target, mask)
    return _reduce(parts.square(), count, reduction)
