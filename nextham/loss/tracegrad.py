"""TraceGrad auxiliary target and loss.

For every pair block the trace ``tr(ΔH_ij ΔH_ij†) = Σ_ab |ΔH_ij,ab|²`` is invariant under
rotations (the block transforms as D_i ΔH D_j† with unitary D), so a model can learn it
with an invariant output z per edge; the gradient of that invariant with respect to the
equivariant features supplies non-linear equivariant features (the TraceGrad construction).

Scaling
-------
The raw trace is quadratic in ΔH and spans many orders of magnitude between on-site
blocks and distant pairs. The model predicts a scaled target t = f(tr) instead:

=========  ==========================================================================
``none``   t = tr                                              (eV²)
``sqrt``   t = √tr = ‖ΔH_ij‖_F, linear in ΔH                    (eV, default)
``log1p``  t = log(1 + tr / scale²), roughly tr/scale² small, 2 log(‖ΔH‖/scale) large
=========  ==========================================================================

With ``per_entry=True`` the trace is divided by the number of entries of the block first
(mean squared entry), so blocks of different sizes are on one footing. The aux loss is the
mean squared error between z and t over the edges.
"""

from __future__ import annotations

from typing import Literal

import torch

from nextham.record.flat import flat_index
from nextham.record.layout import BlockLayout

Scaling = Literal["none", "sqrt", "log1p"]


def block_traces(
    delta_flat: torch.Tensor, layout: BlockLayout, per_entry: bool = False
) -> torch.Tensor:
    """tr(ΔH_e ΔH_e†) of every block, shape (E,) real.

    Parameters
    ----------
    delta_flat : (n_entries,) real or complex
        ΔH = HT − H0 in the flat layout (scalar or spinor blocks).
    layout : BlockLayout
        The layout of ``delta_flat``.
    per_entry : bool
        Divide each trace by the number of entries of its block.
    """
    idx = flat_index(layout)
    values = torch.as_tensor(delta_flat)
    sq = values.abs().square() if values.is_complex() else values.square()
    n_edges = layout.n_edges
    edge = torch.as_tensor(idx.edge, device=sq.device)
    out = torch.zeros(n_edges, dtype=sq.dtype, device=sq.device).index_add(0, edge, sq)
    if per_entry:
        sizes = torch.bincount(edge, minlength=n_edges).to(sq.dtype)
        out = out / sizes.clamp(min=1)
    return out


def scale_target(
    trace: torch.Tensor, scaling: Scaling = "sqrt", scale: float = 1.0
) -> torch.Tensor:
    """Map traces (E,) to the model's target t (E,); see the module docstring."""
    if scaling == "none":
        return trace
    if scaling == "sqrt":
        return trace.clamp(min=0).sqrt()
    if scaling == "log1p":
        return torch.log1p(trace.clamp(min=0) / scale**2)
    raise ValueError(f"unknown scaling {scaling!r}")


def tracegrad_loss(
    z_pred: torch.Tensor,
    delta_flat: torch.Tensor,
    layout: BlockLayout,
    scaling: Scaling = "sqrt",
    scale: float = 1.0,
    per_entry: bool = False,
) -> torch.Tensor:
    """Mean squared error between the predicted invariant z (E,) and the scaled target.

    The target is built from the reference ΔH without gradient; ``z_pred`` must be in the
    units of the chosen scaling.
    """
    with torch.no_grad():
        trace = block_traces(delta_flat, layout, per_entry)
        target = scale_target(trace, scaling, scale).to(z_pred.device, z_pred.dtype)
    if z_pred.shape != target.shape:
        raise ValueError(f"z_pred has shape {tuple(z_pred.shape)}, expected {tuple(target.shape)}")
    return (z_pred - target).square().mean()
