"""Global context: what the whole structure is, told to every atom.

A message-passing network sees a few neighbour shells. Part of ΔH is set by the structure as
a whole: how strongly the self-consistent density screens or amplifies H0's own anisotropy
(metal or insulator, ionic or covalent), which fixes one response factor per structure
(docs/training.md). :class:`GlobalContext` averages every atom's invariant (0e) features over
its structure, maps the mean through a small MLP and adds the result to every atom's
invariant features:

    x_i⁰ ← x_i⁰ + MLP(⟨x⁰⟩_structure(i)).

The mean is invariant under rotations and translations and intensive: a supercell of a
crystal has the same mean as its primitive cell, so it gets the same prediction. The last
layer starts at zero, so a new context changes nothing until it is trained.
"""

from __future__ import annotations

import torch
from e3nn import o3

from nextham.model.layers import scalar_slice, structure_mean


class GlobalContext(torch.nn.Module):
    """Structure-mean of the node invariants, through an MLP, added back to every node.

    Parameters
    ----------
    irreps_node : o3.Irreps
        Sorted, simplified node irreps (their 0e part is read and updated).
    hidden : int
        Width of the MLP's hidden layer.
    """

    def __init__(self, irreps_node: o3.Irreps, hidden: int):
        super().__init__()
        self.scalars = scalar_slice(o3.Irreps(irreps_node))
        n = self.scalars.stop - self.scalars.start
        if n == 0:
            raise ValueError(f"global_context needs 0e node features; node irreps {irreps_node}")
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(n, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, n)
        )
        torch.nn.init.zeros_(self.mlp[-1].weight)
        torch.nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, x: torch.Tensor, node_graph: torch.Tensor) -> torch.Tensor:
        """Node features x (N, dim) of structures ``node_graph`` (N,) int64 → (N, dim)."""
        n_graphs = int(node_graph.max()) + 1 if node_graph.numel() else 0
        ctx = self.mlp(structure_mean(x[:, self.scalars], node_graph, n_graphs))[node_graph]
        pad = (self.scalars.start, x.shape[1] - self.scalars.stop)
        return x + torch.nn.functional.pad(ctx, pad)
