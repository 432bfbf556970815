"""One equivariant network from H0 irreps and geometry to ΔH irreps (and TraceGrad z).

The distance ensemble of :class:`~nextham.model.nextham.NextHAM` holds several of these,
all built from the same :class:`~nextham.model.config.ModelConfig`.
"""

from __future__ import annotations

import torch
from e3nn import o3

from nextham.model.config import ModelConfig
from nextham.model.context import GlobalContext
from nextham.model.layers import map_rows
from nextham.model.linear import Linear
from nextham.model.tracegrad import TraceGrad
from nextham.model.transformer import TransformerBlock


def squash_irreps(y: torch.Tensor, irreps: o3.Irreps) -> torch.Tensor:
    """Every irrep instance v of ``y`` (…, irreps.dim) mapped to v / (1 + ‖v‖).

    Equivariant (a rotation keeps each instance's norm) and monotonic in the norm; it
    compresses the many decades that H0 blocks span (tens of eV on site, micro-eV at the
    overlap threshold) into [0, 1) without losing the direction or the order of magnitudes.
    """
    parts = []
    for (mul, ir), sl in zip(irreps, irreps.slices()):
        seg = y[..., sl].reshape(*y.shape[:-1], mul, ir.dim)
        norm = torch.sqrt(seg.square().sum(-1, keepdim=True) + 1e-24)
        parts.append((seg / (1 + norm)).reshape(*y.shape[:-1], mul * ir.dim))
    return torch.cat(parts, dim=-1)


class HamiltonianNet(torch.nn.Module):
    """Embedding → Transformer blocks → TraceGrad → linear read-out.

    Parameters
    ----------
    config : ModelConfig
    irreps_h0 : o3.Irreps
        Sorted, simplified irreps of the H0 input (= those of the ΔH output).
    irreps_node, irreps_edge, irreps_sh : o3.Irreps
        Sorted, simplified feature irreps.
    num_species : int
    num_shells : int
        Padded shells per atom (``OrbitalLayout.slots`` summed): the invariants of
        ``overlap_shift`` (with ``coulomb_cutoff`` one more: the atom's charge).
    """

    def __init__(
        self,
        config: ModelConfig,
        irreps_h0: o3.Irreps,
        irreps_node: o3.Irreps,
        irreps_edge: o3.Irreps,
        irreps_sh: o3.Irreps,
        num_species: int,
        num_shells: int = 0,
        descriptors: torch.Tensor | None = None,
    ):
        super().__init__()
        self.config = config
        self.num_species = num_species if config.species_embedding else 0
        # per-species physical descriptors (species_descriptors), appended to the one-hot code
        self.register_buffer("descriptors", descriptors, persistent=False)
        n_code = self.num_species + (descriptors.shape[1] if descriptors is not None else 0)
        self.num_code = n_code
        extra_node = o3.Irreps(f"{n_code}x0e") if n_code else o3.Irreps("")
        extra_edge = o3.Irreps(f"{config.num_radial + 2 * n_code}x0e")
        irreps_in = irreps_h0 if config.h0_input else o3.Irreps("")
        self.node_embed = Linear(irreps_in + extra_node, irreps_node)
        self.edge_embed = Linear(irreps_in + extra_edge, irreps_edge)
        self.blocks = torch.nn.ModuleList(
            TransformerBlock(
                irreps_node,
                irreps_edge,
                irreps_sh,
                config.num_radial,
                config.radial_hidden,
                config.num_heads,
                config.head_dim,
                config.edge_chunk,
            )
            for _ in range(config.num_layers)
        )
        self.contexts = (
            torch.nn.ModuleList(
                GlobalContext(irreps_node, config.radial_hidden) for _ in range(config.num_layers)
            )
            if config.global_context
            else None
        )
        self.tracegrad = (
            TraceGrad(irreps_edge, config.tracegrad_hidden, config.tracegrad_scale)
            if config.tracegrad
            else None
        )
        self.readout = Linear(irreps_edge, irreps_h0)
        # one invariant per padded shell slot of each atom (``overlap_shift``), then its
        # charge (``coulomb_cutoff``)
        n_shift = num_shells + (config.coulomb_cutoff is not None)
        self.shift = (
            Linear(irreps_node, o3.Irreps(f"{n_shift}x0e")) if config.overlap_shift else None
        )
        use_skip = config.h0_skip and config.h0_input
        self.skip = Linear(irreps_h0, irreps_h0) if use_skip else None
        self.irreps_h0 = irreps_h0

    def forward(
        self,
        y0: torch.Tensor,
        species: torch.Tensor,
        edge_index: torch.Tensor,
        self_pair: torch.Tensor,
        sh: torch.Tensor,
        radial: torch.Tensor,
        weight: torch.Tensor,
        node_graph: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Predict ΔH irreps for every directed edge.

        Parameters
        ----------
        y0 : (E, dim_h0) scaled H0 irreps (sorted order)
        species : (N,) int64
        edge_index : (E, 2) int64
        self_pair : (E,) bool, pairs (i, i, 0)
        sh, radial, weight : edge direction harmonics, radial basis, message weights
        node_graph : (N,) int64 structure of each atom (needed with ``global_context``)

        Returns
        -------
        y : (E, dim_h0) ΔH irreps (sorted order, before output scaling)
        z : (E,) TraceGrad invariant, or None when TraceGrad is off
        v : (N, n_shell_slots) per-shell potential shifts (``overlap_shift``; a last column
            of charges with ``coulomb_cutoff``), or None
        """
        i, j = edge_index[:, 0], edge_index[:, 1]
        chunk = self.config.edge_chunk
        node_in, edge_in = [], [radial]
        if self.config.h0_input:
            onsite = y0.new_zeros(species.shape[0], y0.shape[1]).index_add(
                0, i[self_pair], self._h0_features(y0[self_pair])
            )
            node_in, edge_in = [onsite], [y0, radial]
        if self.num_code:
            code = self._species_code(species, y0.dtype)
            node_in.append(code)
            edge_in += [code[i], code[j]]
        x = self.node_embed(torch.cat(node_in, dim=-1))
        h = map_rows(self._embed_edges, chunk, *edge_in)
        for n, block in enumerate(self.blocks):
            x, h = block(x, h, sh, radial, weight, edge_index)
            if self.contexts is not None:
                x = self.contexts[n](x, node_graph)
        y, z = map_rows(self._read_out, chunk, h, y0)
        v = self.shift(x) if self.shift is not None else None
        return y, (z if self.tracegrad is not None else None), v

    def _species_code(self, species: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(N, num_code) element code of each atom: one-hot, then the descriptors."""
        parts = []
        if self.num_species:
            parts.append(torch.nn.functional.one_hot(species, self.num_species).to(dtype))
        if self.descriptors is not None:
            parts.append(self.descriptors[species].to(dtype))
        return torch.cat(parts, dim=-1)

    def _h0_features(self, y0: torch.Tensor) -> torch.Tensor:
        """H0 irreps as the network sees them (squashed with ``h0_squash``); row-wise."""
        return squash_irreps(y0, self.irreps_h0) if self.config.h0_squash else y0

    def _embed_edges(self, *columns: torch.Tensor) -> torch.Tensor:
        """Initial edge features from [H0 irreps,] radial basis [, element one-hots]; row-wise
        (run in chunks, so the squashed H0 copy never exists for the whole graph)."""
        if self.config.h0_input:
            columns = (self._h0_features(columns[0]), *columns[1:])
        return self.edge_embed(torch.cat(columns, dim=-1))

    def _read_out(self, h: torch.Tensor, y0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edge features → (ΔH irreps, TraceGrad z or an empty column); row-wise."""
        z = h.new_zeros(h.shape[0], 0)
        if self.tracegrad is not None:
            z, h = self.tracegrad(h)
        y = self.readout(h)
        if self.skip is not None:
            y = y + self.skip(y0)
        return y, z
