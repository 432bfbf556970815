"""The NextHAM module: H0 blocks and geometry → ΔH blocks in the record layout.

Pipeline for a :class:`~nextham.model.graph.GraphBatch`:

1. H0 blocks (padded layout) → real irreps (:mod:`nextham.basis`), divided by ``h0_scale``.
2. Every sub-network (one, or one per distance interval) predicts ΔH irreps per directed
   pair; the distance masks pick one per pair.
3. Spinor data: optional time-reversal projection (zero Im H_0 and Re H_vec irreps).
4. Irreps → blocks through the exact inverse of step 1, times ``delta_scale`` (or the
   scale of the block's kind, ``pair_scales``); with ``overlap_shift`` plus
   ½(v_i + v_j) ⊙ S_ij(R) from per-atom, per-shell invariants v (with ``coulomb_cutoff``
   v also holds c_Z,s φ_i, the learned charges' electrostatic potential).
5. Hermiticity by construction: each unordered pair gets ½(B_e + B_p(e)†), its partner the
   conjugate transpose of that, so H_ji(−R) = H_ij(R)† holds exactly.
6. One gather puts the blocks into the records' flat layout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from e3nn import o3

from nextham.basis import BlockCoupling, OrbitalLayout, SpinorCoupling, dagger
from nextham.model.config import ModelConfig, pair_scale_key
from nextham.model.electrostatics import neutral_charges, wolf_potential
from nextham.model.ensemble import distance_masks
from nextham.model.graph import GraphBatch, build_batch
from nextham.model.layers import RadialBasis, map_rows, sorted_irreps
from nextham.model.network import HamiltonianNet
from nextham.model.species import species_descriptors


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Temporarily set torch's default floating dtype (restored on exit)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def resolve_irreps(config: ModelConfig, irreps_out: o3.Irreps) -> tuple[o3.Irreps, o3.Irreps]:
    """Sorted node and edge irreps of a config, checked against the output irreps.

    Raises
    ------
    ValueError
        For unparsable irreps, node irreps without ``0e``, multiplicities not divisible by
        the number of heads, or edge irreps missing an irrep type of the output.
    """
    try:
        node = o3.Irreps(config.node_irreps).sort().irreps.simplify()
        needed = sorted({ir for _, ir in irreps_out})
        if config.edge_irreps is None:
            edge = o3.Irreps([(config.edge_mul, ir) for ir in needed])
        else:
            edge = o3.Irreps(config.edge_irreps)
        edge = edge.sort().irreps.simplify()
    except (ValueError, AssertionError) as err:
        raise ValueError(f"invalid irreps in the model config: {err}") from err
    if o3.Irrep("0e") not in [ir for _, ir in node]:
        raise ValueError(f"node_irreps {node} must contain 0e scalars (attention queries)")
    bad = [f"{m}x{ir}" for m, ir in node if m % config.num_heads]
    if bad:
        raise ValueError(f"node_irreps multiplicities {bad} not divisible by {config.num_heads}")
    missing = [str(ir) for ir in needed if ir not in [i for _, i in edge]]
    if missing:
        raise ValueError(
            f"edge_irreps {edge} cannot represent the ΔH blocks of this basis: missing "
            f"{', '.join(missing)} (needed up to l = {max(ir.l for ir in needed)})"
        )
    return node, edge


class NextHAM(torch.nn.Module):
    """E(3)-equivariant Transformer predicting ΔH = HT − H0 blocks.

    Parameters
    ----------
    config : ModelConfig
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        with default_dtype(getattr(torch, config.dtype)):
            self._build(config)
        self.to(getattr(torch, config.dtype))

    def _build(self, config: ModelConfig) -> None:
        """Create the submodules (under the config's default dtype, so that e3nn's
        Clebsch–Gordan and harmonic constants are exact in float64)."""
        self.config = config
        self.layout = OrbitalLayout(config.basis_ls)
        self.coupling = SpinorCoupling(self.layout) if config.spinor else BlockCoupling(self.layout)
        irreps_h0, perm = sorted_irreps(self.coupling.irreps_out)
        self.register_buffer("perm", perm, persistent=False)
        self.register_buffer("unperm", torch.argsort(perm), persistent=False)
        node, edge = resolve_irreps(config, irreps_h0)
        self.irreps_h0, self.irreps_node, self.irreps_edge = irreps_h0, node, edge
        self.register_buffer("scale_table", self._scale_table(config), persistent=False)
        shell_of = torch.as_tensor(self.layout.shell_slots())
        self.register_buffer("shell_of", shell_of, persistent=False)
        self.irreps_sh = o3.Irreps.spherical_harmonics(config.sh_lmax)
        self.sh = o3.SphericalHarmonics(self.irreps_sh, normalize=False, normalization="integral")
        self.radial = RadialBasis(config.cutoff, config.num_radial)
        n_sub = len(config.ensemble_bounds) if config.ensemble_bounds else 1
        species = len(self.layout.species)
        descriptors = (
            torch.as_tensor(species_descriptors(self.layout.species))
            if config.species_descriptors
            else None
        )
        self.nets = torch.nn.ModuleList(
            HamiltonianNet(
                config,
                irreps_h0,
                node,
                edge,
                self.irreps_sh,
                species,
                sum(self.layout.slots),
                descriptors,
            )
            for _ in range(n_sub)
        )
        # c_Z,s: how much of the charges' potential each element's shells take (eV per eV)
        self.coulomb_coupling = (
            torch.nn.Parameter(torch.zeros(species, sum(self.layout.slots)))
            if config.coulomb_cutoff is not None
            else None
        )

    def _scale_table(self, config: ModelConfig) -> torch.Tensor:
        """(species, species, 2) output scale relative to ``delta_scale`` of a block between
        two species, [..., 1] for on-site blocks (from ``pair_scales``; 1 where unlisted)."""
        n = len(self.layout.species)
        table = torch.ones(n, n, 2)
        scales = config.pair_scales
        if scales == "auto":
            raise ValueError("pair_scales 'auto' is filled by `nextham train` from its data")
        for a, za in enumerate(self.layout.species):
            for b, zb in enumerate(self.layout.species):
                for onsite in (0, 1):
                    key = pair_scale_key(za, zb, bool(onsite))
                    if scales and key in scales:
                        table[a, b, onsite] = float(scales[key]) / config.delta_scale
        return table

    def make_batch(
        self, records: Sequence[dict], device: torch.device | str | None = None
    ) -> GraphBatch:
        """Batch records for this model (its layout, spin mode and dtype; S as well for
        ``overlap_shift``, the pairs within the Coulomb range for ``coulomb_cutoff``)."""
        dtype = next(self.parameters()).dtype
        cfg = self.config
        return build_batch(
            records, self.layout, cfg.spinor, dtype, device, cfg.overlap_shift, cfg.coulomb_cutoff
        )

    def _coulomb_shift(self, charges: torch.Tensor, batch: GraphBatch) -> dict[str, torch.Tensor]:
        """The neutral charges (N,), their potential φ (N,) eV and the shells' share
        c_Z,s φ_i (N, n_shell_slots) eV of one batch (``coulomb_cutoff``)."""
        if batch.coulomb_pairs is None:
            raise ValueError("coulomb_cutoff needs the Coulomb pairs: build with model.make_batch")
        q = neutral_charges(charges, batch.node_graph, batch.num_graphs)
        cfg = self.config
        phi = wolf_potential(
            q, batch.coulomb_pairs, batch.coulomb_length, cfg.coulomb_cutoff, cfg.coulomb_alpha
        )
        coupling = self.coulomb_coupling[batch.species].to(q.dtype)
        return {"charges": q, "potential": phi, "shift": coupling * phi[:, None]}

    def _overlap_shift(
        self,
        v: torch.Tensor,
        batch: GraphBatch,
        blocks: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> None:
        """Add ½(v_i,s(μ) + v_j,s(ν)) S_ij,μν(R) to the padded ``blocks`` in place (both spin
        blocks of spinor data); v (N, n_shell_slots) is scaled by each atom's on-site scale,
        ``extra`` (N, n_shell_slots, eV) is added unscaled."""
        if batch.overlap is None:
            raise ValueError("overlap_shift needs S in the batch: build it with model.make_batch")
        sp = batch.species
        scale = self.config.delta_scale * self.scale_table[sp, sp, 1]
        per_shell = v * scale[:, None].to(v.dtype)
        if extra is not None:
            per_shell = per_shell + extra
        per_orbital = per_shell[:, self.shell_of]  # (N, F)
        i, j = batch.edge_index[:, 0], batch.edge_index[:, 1]
        shift = 0.5 * (per_orbital[i][:, :, None] + per_orbital[j][:, None, :]) * batch.overlap
        if self.config.spinor:
            for s in (0, 1):
                blocks[:, s, :, s, :] += shift.to(blocks.dtype)
        else:
            blocks += shift

    def _time_reversal_edges(self, batch: GraphBatch) -> torch.Tensor | None:
        """(E,) bool of pairs to project onto time-reversal-symmetric output, or None."""
        mode = self.config.time_reversal
        if not self.config.spinor or mode == "off":
            return None
        on = ~batch.magnetic if mode == "auto" else torch.ones_like(batch.magnetic)
        return on[batch.edge_graph]

    def _h0_envelope(self, h0: torch.Tensor, self_pair: torch.Tensor) -> torch.Tensor:
        """(E,) output factor ‖H0_e‖ / (‖H0_e‖ + h) of each pair block (Frobenius norm, eV;
        h = ``h0_envelope``), 1 for on-site blocks: a pair's correction scales with its H0."""
        norm = h0.abs().square().flatten(1).sum(1).sqrt()
        factor = norm / (norm + self.config.h0_envelope)
        return torch.where(self_pair, torch.ones_like(factor), factor)

    def _encode(self, h0: torch.Tensor) -> torch.Tensor:
        """Padded H0 blocks → scaled irreps in the network's (sorted) order."""
        return self.coupling.encode(h0)[:, self.perm] / self.config.h0_scale

    def _decode(self, y: torch.Tensor) -> torch.Tensor:
        """Network irreps (sorted order) → padded ΔH blocks (eV), before symmetrisation."""
        return self.coupling.decode(y[:, self.unperm] * self.config.delta_scale)

    def _network(
        self,
        batch: GraphBatch,
        length: torch.Tensor,
        self_pair: torch.Tensor,
        sh: torch.Tensor,
        radial: torch.Tensor,
        weight: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(y (E, dim) irreps, z (E,) or None, v (N, shells) or None) of the network(s) over
        the pairs within ``max_pair_length`` (y = z = 0 for the others); the other arguments
        are per pair (E, …) as in :meth:`forward`."""
        near = None
        if self.config.max_pair_length is not None:
            mask = length <= self.config.max_pair_length
            near = None if bool(mask.all()) else mask.nonzero().squeeze(1)

        def take(t: torch.Tensor) -> torch.Tensor:
            return t if near is None else t[near]

        y0 = map_rows(self._encode, self.config.edge_chunk, take(batch.h0))
        edge_index, pairs = take(batch.edge_index), (take(self_pair), take(sh), take(radial))
        outs = [
            net(y0, batch.species, edge_index, *pairs, take(weight), batch.node_graph)
            for net in self.nets
        ]
        y, z, v = outs[0]
        if len(outs) > 1:
            masks = distance_masks(take(length), self.config.ensemble_bounds)
            y = sum(m[:, None] * yk for m, (yk, _, _) in zip(masks, outs))
            z = None if z is None else sum(m * zk for m, (_, zk, _) in zip(masks, outs))
        if near is not None:
            y = y.new_zeros(len(length), y.shape[1]).index_copy(0, near, y)
            z = None if z is None else z.new_zeros(len(length)).index_copy(0, near, z)
        return y, z, v

    def forward(self, batch: GraphBatch) -> dict[str, torch.Tensor]:
        """Predict ΔH for every pair of the batch.

        Returns
        -------
        dict with
            ``delta`` : padded blocks, shape of ``batch.h0`` (eV)
            ``delta_flat`` : (n_entries,) ΔH in the records' flat layout, concatenated
            (split with ``batch.split_flat``); real, or complex for spinor data
            ``hamiltonian_flat`` : H0 + ΔH, same layout
            ``z`` : (E,) TraceGrad invariant per pair (only with ``tracegrad``)
            ``charges``, ``potential`` : (N,) the neutral learned charges (e) and their
            potential φ (eV) at every atom (only with ``coulomb_cutoff``)
        """
        vec = batch.edge_vectors()
        length = vec.norm(dim=-1)
        sh = self.sh(vec / length.clamp(min=1e-9)[:, None])
        radial, envelope = self.radial(length)
        i, j = batch.edge_index[:, 0], batch.edge_index[:, 1]
        self_pair = (i == j) & (batch.cell_shift == 0).all(dim=-1)
        weight = envelope * (~self_pair).to(envelope.dtype)
        y, z, v = self._network(batch, length, self_pair, sh, radial, weight)
        tr = self._time_reversal_edges(batch)
        if tr is not None:
            keep = self.coupling.time_reversal_mask(y.dtype)[self.perm]
            y = torch.where(tr[:, None], y * keep, y)
        if self.config.pair_scales:
            kind = self.scale_table[batch.species[i], batch.species[j], self_pair.long()]
            y = y * kind[:, None].to(y.dtype)
        if self.config.h0_envelope is not None:
            y = y * self._h0_envelope(batch.h0, self_pair)[:, None].to(y.dtype)
        blocks = map_rows(self._decode, self.config.edge_chunk, y)
        coulomb = None
        if v is not None and self.coulomb_coupling is not None:
            coulomb = self._coulomb_shift(v[:, -1], batch)
            v = v[:, :-1]
        if v is not None:
            self._overlap_shift(v, batch, blocks, None if coulomb is None else coulomb["shift"])
        spinor = self.config.spinor
        blocks = (blocks + dagger(blocks[batch.partner], spinor)).mul_(0.5)
        delta_flat = batch.gather_flat(blocks)
        out = {
            "delta": blocks,
            "delta_flat": delta_flat,
            "hamiltonian_flat": batch.gather_flat(batch.h0) + delta_flat,
        }
        if z is not None:
            out["z"] = 0.5 * (z + z[batch.partner])
        if coulomb is not None:
            out["charges"], out["potential"] = coulomb["charges"], coulomb["potential"]
        return out


def build_model(config: ModelConfig | dict) -> NextHAM:
    """:class:`NextHAM` from a config or a plain mapping (e.g. loaded from YAML)."""
    if not isinstance(config, ModelConfig):
        config = ModelConfig.from_dict(config)
    return NextHAM(config)
