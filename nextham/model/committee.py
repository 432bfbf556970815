"""Committee: K networks of one configuration (different seeds) whose spread estimates the
error of their mean.

Each member is a complete :class:`~nextham.model.nextham.NextHAM` trained on the same data
with another initialization and batch order (a deep ensemble). The committee predicts the
members' mean ΔH; the member ΔH are returned as well, so that the prediction layer can turn
their per-block spread into a calibrated uncertainty (:mod:`nextham.predict.gate`). Every
member is equivariant and Hermitian, so the mean and the spread are too (the spread's block
norms are invariant).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nextham.model.graph import GraphBatch
from nextham.model.nextham import NextHAM


class Committee(torch.nn.Module):
    """K members of one configuration; behaves like one :class:`NextHAM` (mean ΔH).

    Parameters
    ----------
    members : sequence of NextHAM
        At least two networks with identical configs.
    """

    def __init__(self, members: Sequence[NextHAM]):
        super().__init__()
        if len(members) < 2:
            raise ValueError("a committee needs at least two members")
        configs = {repr(m.config.to_dict()) for m in members}
        if len(configs) != 1:
            raise ValueError("committee members must share one model config")
        self.members = torch.nn.ModuleList(members)
        self.config = members[0].config
        self.layout = members[0].layout

    @property
    def size(self) -> int:
        """Number of members K."""
        return len(self.members)

    def make_batch(
        self, records: Sequence[dict], device: torch.device | str | None = None
    ) -> GraphBatch:
        """Batch records for the members (all share layout, spin mode and dtype)."""
        return self.members[0].make_batch(records, device)

    def forward(self, batch: GraphBatch) -> dict[str, torch.Tensor]:
        """Mean prediction and the members' ΔH.

        Returns
        -------
        dict with ``delta_flat`` and ``hamiltonian_flat`` (n_entries,) of the mean, as
        :meth:`NextHAM.forward`, and ``member_delta_flat`` (K, n_entries).
        """
        members = torch.stack([m(batch)["delta_flat"] for m in self.members])
        delta = members.mean(dim=0)
        return {
            "delta_flat": delta,
            "hamiltonian_flat": batch.gather_flat(batch.h0) + delta,
            "member_delta_flat": members,
        }
