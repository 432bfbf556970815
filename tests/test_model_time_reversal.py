"""Time-reversal symmetric output for non-magnetic spinor data."""

from __future__ import annotations

import pytest
from model_kit import crystal, predictor, tiny_model

from nextham.record import keys as K
from nextham.testing import assert_equivariant, time_reversal_error


@pytest.mark.parametrize(
    ("mode", "magnetic", "symmetric"),
    [
        ("auto", False, True),
        ("auto", True, False),
        ("on", True, True),
        ("off", False, False),
    ],
)
def test_time_reversal_modes(mode, magnetic, symmetric):
    model = tiny_model(spinor=True, time_reversal=mode)
    record = crystal(spinor=True, magnetic=magnetic)
    assert time_reversal_error(record, record[K.H0]) < 1e-12 or magnetic
    delta = predictor(model)(record)
    err = time_reversal_error(record, delta)
    if symmetric:
        assert err < 1e-12
    else:
        assert err > 1e-4


def test_projected_output_stays_equivariant():
    model = tiny_model(spinor=True)
    record = crystal(spinor=True, magnetic=False)
    assert_equivariant(predictor(model), record, 1e-10)
