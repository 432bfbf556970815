"""``h0_envelope``: each pair's correction scaled by its H0 block's norm."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import TOL, crystal, predictor, tiny_model

from nextham.testing import assert_equivariant


@pytest.mark.parametrize("spinor", [False, True])
def test_h0_envelope_scales_each_pair_by_its_h0_and_keeps_the_symmetries(spinor):
    """``h0_envelope``: a pair's ΔH is the plain model's times ‖H0_e‖ / (‖H0_e‖ + h)."""
    record = crystal(spinor=spinor, magnetic=True)
    model = tiny_model(spinor=spinor, h0_envelope=5.0)
    assert_equivariant(predictor(model), record, TOL["float64"])
    plain = tiny_model(spinor=spinor)
    blocks, plain_blocks = (predictor(m, "delta")(record) for m in (model, plain))
    batch = model.make_batch([record])
    h0 = batch.h0.numpy()
    norm = np.sqrt((np.abs(h0) ** 2).reshape(len(h0), -1).sum(1))
    i, j = batch.edge_index.numpy().T
    self_pair = (i == j) & (batch.cell_shift.numpy() == 0).all(1)
    factor = np.where(self_pair, 1.0, norm / (norm + 5.0))
    expected = plain_blocks * factor.reshape(-1, *([1] * (plain_blocks.ndim - 1)))
    assert factor.min() < 0.9
    assert np.allclose(blocks, expected, atol=1e-9 * np.abs(expected).max())


def test_h0_envelope_must_be_positive():
    with pytest.raises(ValueError, match="h0_envelope"):
        tiny_model(h0_envelope=0.0)
