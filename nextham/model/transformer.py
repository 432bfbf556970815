"""Equivariant Transformer block updating node and edge features.

For an edge e = (i ← j) with direction harmonics Y_e and radial basis ρ_e:

* value   v_e = Linear(TP_uvu(Linear(x_j ⊕ h_e), Y_e; weights = MLP(ρ_e)))   (equivariant)
* logits  s_eh = ⟨q_h(x_i⁰), k_h(v_e⁰, ρ_e)⟩ / √d          (invariant: 0e scalars only)
* weights α_eh = softmax over i's incoming edges, times the cutoff envelope (self pairs
  send no message)
* nodes   x_i ← x_i + GatedLinear(x_i ⊕ Σ_e α_e,head(c) v_e,c)
* edges   h_e ← h_e + GatedLinear(h_e ⊕ v_e ⊕ x_i ⊕ x_j)

Heads split the value channels of every irrep evenly.
"""

from __future__ import annotations

import math

import torch
from e3nn import nn as e3nn_nn
from e3nn import o3

from nextham.model.layers import (
    GatedLinear,
    head_index,
    map_rows,
    masked_softmax,
    scalar_slice,
)
from nextham.model.linear import Linear


def uvu_instructions(
    irreps_in: o3.Irreps, irreps_sh: o3.Irreps, targets: o3.Irreps
) -> tuple[o3.Irreps, list[tuple[int, int, int, str, bool]]]:
    """Channel-wise ('uvu') tensor-product paths into irrep types present in ``targets``."""
    wanted = {ir for _, ir in targets}
    mid, instructions = [], []
    for i1, (mul, ir1) in enumerate(irreps_in):
        for i2, (_, ir2) in enumerate(irreps_sh):
            for ir in ir1 * ir2:
                if ir in wanted:
                    instructions.append((i1, i2, len(mid), "uvu", True))
                    mid.append((mul, ir))
    return o3.Irreps(mid), instructions


class TransformerBlock(torch.nn.Module):
    """One attention block over the pair graph.

    Parameters
    ----------
    irreps_node, irreps_edge : o3.Irreps
        Sorted, simplified feature irreps; ``irreps_node`` needs ``0e`` channels.
    irreps_sh : o3.Irreps
        Spherical harmonics of the edge direction.
    num_radial, radial_hidden : int
    num_heads, head_dim : int
    chunk : int
        Edges per chunk of the per-edge work (speed and memory only).
    """

    def __init__(
        self,
        irreps_node: o3.Irreps,
        irreps_edge: o3.Irreps,
        irreps_sh: o3.Irreps,
        num_radial: int,
        radial_hidden: int,
        num_heads: int,
        head_dim: int,
        chunk: int = 1024,
    ):
        super().__init__()
        self.chunk = chunk
        self.scalars = scalar_slice(irreps_node)
        n_scalar = self.scalars.stop - self.scalars.start
        if n_scalar == 0:
            raise ValueError(f"node irreps {irreps_node} need 0e channels for attention")
        self.num_heads, self.head_dim = num_heads, head_dim
        self.register_buffer("heads", head_index(irreps_node, num_heads), persistent=False)
        self.pre = Linear(irreps_node + irreps_edge, irreps_node)
        mid, instructions = uvu_instructions(irreps_node, irreps_sh, irreps_node)
        self.tp = o3.TensorProduct(
            irreps_node, irreps_sh, mid, instructions, shared_weights=False, internal_weights=False
        )
        silu = torch.nn.functional.silu
        self.tp_weights = e3nn_nn.FullyConnectedNet(
            [num_radial, radial_hidden, self.tp.weight_numel], silu
        )
        self.value = Linear(mid, irreps_node)
        self.query = torch.nn.Linear(n_scalar, num_heads * head_dim)
        self.key = e3nn_nn.FullyConnectedNet(
            [n_scalar + num_radial, radial_hidden, num_heads * head_dim], silu
        )
        self.node_update = GatedLinear(irreps_node + irreps_node, irreps_node)
        self.edge_update = GatedLinear(
            irreps_edge + irreps_node + irreps_node + irreps_node, irreps_edge
        )

    def forward(
        self,
        x: torch.Tensor,
        h: torch.Tensor,
        sh: torch.Tensor,
        radial: torch.Tensor,
        weight: torch.Tensor,
        edge_index: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Update node features x (N, dn) and edge features h (E, de).

        Parameters
        ----------
        sh : (E, dim_sh) ; radial : (E, num_radial)
        weight : (E,) message weight (envelope, 0 for self pairs)
        edge_index : (E, 2) receiver i, sender j
        """
        i, j = edge_index[:, 0], edge_index[:, 1]

        def values(jc, hc, shc, rc):
            m = self.pre(torch.cat([x[jc], hc], dim=-1))
            v = self.value(self.tp(m, shc, self.tp_weights(rc)))
            return v, self.key(torch.cat([v[:, self.scalars], rc], dim=-1))

        v, k = map_rows(values, self.chunk, j, h, sh, radial)
        q = self.query(x[:, self.scalars])[i]
        logits = (q * k).view(-1, self.num_heads, self.head_dim).sum(-1)
        alpha = masked_softmax(logits / math.sqrt(self.head_dim), i, weight, x.shape[0])
        agg = torch.zeros_like(x).index_add(0, i, alpha[:, self.heads] * v)
        x = x + self.node_update(torch.cat([x, agg], dim=-1))

        def update(hc, vc, ic, jc):
            return hc + self.edge_update(torch.cat([hc, vc, x[ic], x[jc]], dim=-1))

        in_place = h if not torch.is_grad_enabled() else None  # inference: no second h
        return x, map_rows(update, self.chunk, h, v, i, j, out=in_place)
