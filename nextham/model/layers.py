"""Small equivariant building blocks: irreps sorting, gated linear maps, radial basis, heads."""

from __future__ import annotations

from collections.abc import Callable

import torch
from e3nn import nn as e3nn_nn
from e3nn import o3
from e3nn.math import soft_one_hot_linspace

from nextham.model.linear import Linear


def sorted_irreps(irreps: o3.Irreps) -> tuple[o3.Irreps, torch.Tensor]:
    """Sorted, simplified irreps and the component permutation taking data to that order.

    Returns
    -------
    irreps_sorted : o3.Irreps
    perm : (dim,) int64 with ``x_sorted = x[..., perm]``
    """
    irreps = o3.Irreps(irreps)
    slices = irreps.slices()
    order = sorted(range(len(irreps)), key=lambda k: (irreps[k].ir, k))
    perm = torch.cat([torch.arange(slices[k].start, slices[k].stop) for k in order])
    return o3.Irreps([irreps[k] for k in order]).simplify(), perm


def map_rows(fn: Callable, chunk: int, *rows: torch.Tensor, out=None):
    """``fn(*rows)`` evaluated on chunks of ``chunk`` rows and concatenated along dim 0.

    ``fn`` must be a row-wise map (row k of its output depends only on row k of every
    input); it may return a tensor or a tuple of tensors. Chunking keeps the temporaries
    of a large graph in cache, so the cost per row does not grow with the graph; results
    equal the unchunked call up to floating-point summation order. Without autograd the
    chunks are written into one preallocated result (no second copy of the output at the
    concatenation), into ``out`` where given (a tensor of the result's shape, which may be
    one of ``rows``: row k is read before it is written).
    """
    n = rows[0].shape[0]
    if n <= chunk and out is None:
        return fn(*rows)
    if torch.is_grad_enabled():
        parts = [fn(*(r[s : s + chunk] for r in rows)) for s in range(0, n, chunk)]
        if isinstance(parts[0], tuple):
            return tuple(torch.cat(p) for p in zip(*parts))
        return torch.cat(parts)
    result = None
    for s in range(0, n, chunk):
        part = fn(*(r[s : s + chunk] for r in rows))
        parts = part if isinstance(part, tuple) else (part,)
        if result is None:
            result = (
                (out,) if out is not None else tuple(p.new_empty((n, *p.shape[1:])) for p in parts)
            )
        for r, p in zip(result, parts):
            r[s : s + len(p)] = p
    return result if isinstance(part, tuple) else result[0]


def structure_mean(values: torch.Tensor, node_graph: torch.Tensor, num_graphs: int):
    """Mean of per-atom ``values`` (N, …) over each structure of ``node_graph`` (N,) int64:
    (num_graphs, …)."""
    total = values.new_zeros(num_graphs, *values.shape[1:]).index_add(0, node_graph, values)
    count = torch.bincount(node_graph, minlength=num_graphs).clamp(min=1).to(values.dtype)
    return total / count.reshape(-1, *([1] * (values.dim() - 1)))


def scalar_slice(irreps: o3.Irreps) -> slice:
    """Slice of the ``0e`` components of sorted, simplified irreps (empty if none)."""
    for (_mul, ir), sl in zip(irreps, irreps.slices()):
        if ir == o3.Irrep("0e"):
            return sl
    return slice(0, 0)


class GatedLinear(torch.nn.Module):
    """o3.Linear followed by a gate: scalars through SiLU (0e) / tanh (0o), l > 0 gated.

    Parameters
    ----------
    irreps_in, irreps_out
        ``irreps_out`` must be sorted and simplified (scalars first), so the gate's output
        order equals it.
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps):
        super().__init__()
        irreps_out = o3.Irreps(irreps_out)
        scalars = o3.Irreps([(m, ir) for m, ir in irreps_out if ir.l == 0])
        gated = o3.Irreps([(m, ir) for m, ir in irreps_out if ir.l > 0])
        gates = o3.Irreps(f"{gated.num_irreps}x0e") if gated.num_irreps else o3.Irreps("")
        acts = [torch.nn.functional.silu if ir.p == 1 else torch.tanh for _, ir in scalars]
        self.gate = e3nn_nn.Gate(scalars, acts, gates, [torch.sigmoid] * len(gates), gated)
        self.linear = Linear(irreps_in, self.gate.irreps_in)
        if self.gate.irreps_out != irreps_out:
            raise ValueError(f"irreps {irreps_out} must be sorted and simplified")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(…, irreps_in.dim) → (…, irreps_out.dim)."""
        return self.gate(self.linear(x))


class RadialBasis(torch.nn.Module):
    """Gaussian radial basis on [0, cutoff] and a smooth polynomial envelope.

    Parameters
    ----------
    cutoff : float
        Å.
    num_basis : int
    """

    def __init__(self, cutoff: float, num_basis: int):
        super().__init__()
        self.cutoff = float(cutoff)
        self.num_basis = int(num_basis)

    def forward(self, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Distances (E,) → basis (E, num_basis) and envelope (E,) (1 at 0, 0 beyond cutoff)."""
        basis = soft_one_hot_linspace(
            length, 0.0, self.cutoff, self.num_basis, basis="gaussian", cutoff=False
        )
        x = (length / self.cutoff).clamp(max=1.0)
        p = 6.0
        env = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1)
        env = env - p * (p + 1) / 2 * x ** (p + 2)
        return basis, env


def head_index(irreps: o3.Irreps, num_heads: int) -> torch.Tensor:
    """Head of every component of ``irreps`` (channels split evenly per irrep), shape (dim,).

    Raises
    ------
    ValueError
        If a multiplicity is not divisible by ``num_heads``.
    """
    out = []
    for mul, ir in irreps:
        if mul % num_heads:
            raise ValueError(f"multiplicity {mul} of {ir} is not divisible by {num_heads} heads")
        heads = torch.arange(mul) // (mul // num_heads)
        out.append(heads.repeat_interleave(ir.dim))
    return torch.cat(out)


def masked_softmax(
    logits: torch.Tensor, receiver: torch.Tensor, weight: torch.Tensor, num_nodes: int
) -> torch.Tensor:
    """Softmax of edge logits over each receiver's edges, with non-negative edge weights.

    α_e = w_e exp(s_e) / Σ_{e' → i} w_e' exp(s_e'); edges with w = 0 get α = 0.

    Parameters
    ----------
    logits : (E, H)
    receiver : (E,) int64
    weight : (E,)
    num_nodes : int
    """
    h = logits.shape[1]
    idx = receiver[:, None].expand(-1, h)
    top = logits.new_full((num_nodes, h), -torch.inf)
    top = top.scatter_reduce(0, idx, logits.detach(), "amax", include_self=True)
    e = torch.exp(logits - top[receiver]) * weight[:, None]
    total = logits.new_zeros(num_nodes, h).index_add(0, receiver, e)
    return e / (total[receiver] + 1e-12)
