"""TraceGrad: an invariant per edge and its gradient as an equivariant update.

For edge features h (equivariant irreps) the module forms

    z = MLP(log(1 + ‖(W h)_c‖²) for every irrep channel c),     h ← h + λ ∂z/∂h,

with W an equivariant linear map. The squared norms are invariant, so z is invariant, and
the gradient of an invariant with respect to an orthogonally transforming input transforms
like the input: the update is equivariant and non-linear in h. z is supervised by the
(scaled) trace tr(ΔH ΔH†) of the edge's block, see :mod:`nextham.loss.tracegrad`.
"""

from __future__ import annotations

import torch
from e3nn import nn as e3nn_nn
from e3nn import o3

from nextham.model.linear import Linear


class TraceGrad(torch.nn.Module):
    """Invariant z (E,) and gradient update of edge features.

    Parameters
    ----------
    irreps : o3.Irreps
        Edge feature irreps.
    hidden : int
        Width of the MLP from channel norms to z.
    scale : float
        λ, factor of the gradient update.
    """

    def __init__(self, irreps: o3.Irreps, hidden: int, scale: float):
        super().__init__()
        self.linear = Linear(irreps, irreps)
        self.norm = o3.Norm(irreps, squared=True)
        self.mlp = e3nn_nn.FullyConnectedNet(
            [irreps.num_irreps, hidden, 1], torch.nn.functional.silu
        )
        self.scale = float(scale)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edge features (E, dim) → z (E,) and updated features (E, dim)."""
        create_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            if not h.requires_grad:
                h = h.detach().requires_grad_(True)
            z = self.mlp(torch.log1p(self.norm(self.linear(h)))).squeeze(-1)
            (grad,) = torch.autograd.grad(z.sum(), h, create_graph=create_graph)
        if not create_graph:
            z, h = z.detach(), h.detach()
        return z, h + self.scale * grad
