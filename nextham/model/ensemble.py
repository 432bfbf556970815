"""Distance ensemble: one sub-network per interatomic-distance interval.

With bounds b_0 = 0 < b_1 < … < b_{K−1}, sub-network k predicts the pairs with
b_k ≤ |r_ij| < b_{k+1} (the last interval is open above). The prediction of a pair is
Σ_k m_k(|r_ij|) y_k with indicator masks m_k: distances are invariant, so the combination
stays exactly equivariant, and since a pair and its partner have the same length they are
predicted by the same sub-network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def distance_masks(length: torch.Tensor, bounds: Sequence[float] | None) -> torch.Tensor:
    """Indicator masks (K, E) of the distance intervals; K = 1 when ``bounds`` is None."""
    if not bounds:
        return torch.ones(1, length.shape[0], dtype=length.dtype, device=length.device)
    lo = torch.as_tensor(list(bounds), dtype=length.dtype, device=length.device)
    hi = torch.cat([lo[1:], lo.new_tensor([torch.inf])])
    inside = (length[None, :] >= lo[:, None]) & (length[None, :] < hi[:, None])
    return inside.to(length.dtype)
