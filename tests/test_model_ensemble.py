"""Distance ensemble: each sub-network owns one distance interval."""

from __future__ import annotations

import torch
from model_kit import crystal, tiny_model

from nextham.model.ensemble import distance_masks


def test_masks_partition_distances():
    length = torch.tensor([0.0, 1.0, 2.5, 3.0, 9.0])
    masks = distance_masks(length, [0.0, 2.5, 5.0])
    assert masks.tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1]]
    assert distance_masks(length, None).tolist() == [[1.0] * 5]


def test_sub_network_owns_its_interval():
    record = crystal()
    model = tiny_model(ensemble_bounds=[0.0, 2.5])
    batch = model.make_batch([record])
    length = batch.edge_vectors().norm(dim=-1)
    far = length >= 2.5
    assert far.any() and (~far).any()
    with torch.no_grad():
        before = model(batch)["delta"]
        for p in model.nets[1].parameters():
            p.add_(0.1 * torch.randn_like(p))
        after = model(batch)["delta"]
    change = (after - before).flatten(1).abs().amax(dim=1)
    assert change[~far].max() == 0
    assert change[far].min() > 1e-6
