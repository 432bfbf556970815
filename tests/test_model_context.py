"""``global_context``: the structure-mean of the node invariants, added back to every atom."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_kit import TOL, crystal, predictor, tiny_model

from nextham.testing import assert_equivariant


def _context_model(spinor: bool = False):
    """A tiny model whose contexts act (their zero-initialised last layers made random)."""
    model = tiny_model(spinor=spinor, global_context=True)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for ctx in model.nets[0].contexts:
            weight = ctx.mlp[-1].weight
            weight.copy_(torch.randn(weight.shape, generator=gen, dtype=weight.dtype))
    return model


@pytest.mark.parametrize("spinor", [False, True])
def test_global_context_is_equivariant_and_changes_the_prediction(spinor):
    record = crystal(spinor=spinor, magnetic=True)
    model = _context_model(spinor)
    assert_equivariant(predictor(model), record, TOL["float64"])
    contexts, model.nets[0].contexts = model.nets[0].contexts, None
    plain = predictor(model)(record)
    model.nets[0].contexts = contexts
    assert np.abs(predictor(model)(record) - plain).max() > 1e-6


def test_a_new_context_changes_nothing_until_trained():
    record = crystal()
    model = tiny_model(global_context=True)
    with_context = predictor(model)(record)
    model.nets[0].contexts = None
    assert np.array_equal(predictor(model)(record), with_context)


def test_each_structure_sees_its_own_mean_not_the_batch_mean():
    """A structure's prediction is the same alone and batched with another one."""
    model = _context_model()
    a, b = crystal(seed=1), crystal(seed=2, numbers=(1, 1, 8))
    with torch.no_grad():
        out = model(model.make_batch([a, b]))
        batch = model.make_batch([a, b])
        together = batch.split_flat(out["delta_flat"])
    for record, joint in zip((a, b), together):
        np.testing.assert_allclose(predictor(model)(record), joint.numpy(), atol=1e-10)
