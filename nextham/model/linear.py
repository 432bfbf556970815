"""An equivariant linear map with e3nn's parameters and a cheaper backward pass.

``o3.Linear`` cuts its input into one ``narrow`` view per input irrep block; autograd turns
each view's gradient into a zero-filled tensor of the whole input's size, added up block by
block, so the backward pass costs (input blocks) × (input size) — most of a training step
for the concatenated inputs of the Transformer's updates (15–20 blocks). :class:`Linear` has
the same parameters, instructions and path weights (a model file reads into either) and the
same result to rounding, computed with one ``split`` of the input (its backward is one
concatenation) and one matrix product per output irrep: the input blocks of that irrep are
stacked along the channel axis and their weight blocks, scaled by the path weights, along
the same axis.
"""

from __future__ import annotations

import torch
from e3nn import o3


class Linear(o3.Linear):
    """``o3.Linear(irreps_in, irreps_out)`` (internal weights, no biases), split-based forward.

    Parameters
    ----------
    irreps_in, irreps_out : o3.Irreps
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps):
        super().__init__(irreps_in, irreps_out)
        self._plan = [
            [k for k, ins in enumerate(self.instructions) if ins.i_out == i_out]
            for i_out in range(len(self.irreps_out))
        ]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(…, irreps_in.dim) → (…, irreps_out.dim)."""
        lead = features.shape[:-1]
        x = features.reshape(-1, self.irreps_in.dim)
        n = x.shape[0]
        pieces = torch.split(x, [mul_ir.dim for mul_ir in self.irreps_in], dim=-1)
        views = list(self.weight_views())
        out = []
        for (mul, ir), plan in zip(self.irreps_out, self._plan):
            if mul == 0:
                continue
            if not plan:
                out.append(x.new_zeros(n, mul * ir.dim))
                continue
            ins = [self.instructions[k] for k in plan]
            blocks = [pieces[i.i_in].reshape(n, self.irreps_in[i.i_in].mul, ir.dim) for i in ins]
            stacked = blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1)  # (n, U, d)
            weight = torch.cat([views[k] * i.path_weight for k, i in zip(plan, ins)])  # (U, mul)
            y = torch.matmul(stacked.transpose(1, 2), weight)  # (n, d, mul)
            out.append(y.transpose(1, 2).reshape(n, mul * ir.dim))
        y = out[0] if len(out) == 1 else torch.cat(out, dim=-1)
        return y.reshape(*lead, self.irreps_out.dim)
