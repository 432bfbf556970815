"""E(3) (+ SU(2) spin) equivariance, permutation, translation, periodic image, hermiticity."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import TOL, crystal, predictor, tiny_model

from nextham.store import schema as K
from nextham.testing import assert_equivariant, rotate_record, symmetry_errors


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spinor", [False, True])
def test_symmetries(spinor, dtype):
    model = tiny_model(spinor=spinor, dtype=dtype)
    record = crystal(spinor=spinor, magnetic=True)
    assert len(record[K.EDGE_INDEX]) > 10
    assert_equivariant(predictor(model), record, TOL[dtype])


def test_ensemble_and_no_tracegrad_are_equivariant():
    model = tiny_model(spinor=True, ensemble_bounds=[0.0, 2.5], tracegrad=False)
    assert_equivariant(predictor(model), crystal(spinor=True, magnetic=True), TOL["float64"])


def test_without_h0_input_is_equivariant_and_ignores_h0():
    """The "distance and element only" ablation: equivariant, and H0 does not change ΔH."""
    model = tiny_model(spinor=False, h0_input=False)
    record = crystal(spinor=False)
    assert_equivariant(predictor(model), record, TOL["float64"])
    other = {**record, K.H0: 2.0 * record[K.H0]}
    assert np.allclose(predictor(model)(record), predictor(model)(other))
    with_h0 = tiny_model(spinor=False)
    assert not np.allclose(predictor(with_h0)(record), predictor(with_h0)(other))


def test_z_is_invariant():
    model = tiny_model(spinor=True)
    record = crystal(spinor=True, magnetic=True)
    predict = predictor(model, "z")
    z = predict(record)
    rot = -np.eye(3) @ np.array([[0.6, -0.8, 0], [0.8, 0.6, 0], [0, 0, 1]])
    np.testing.assert_allclose(predict(rotate_record(record, rot)), z, atol=1e-10)


def test_kit_detects_a_broken_model():
    """A predictor that ignores rotation of its input must fail the kit."""
    model = tiny_model()
    record = crystal()
    frozen = predictor(model)(record)
    errors = symmetry_errors(lambda rec: frozen, record)
    assert errors["rotation"] > 1e-3 and errors["reflection"] > 1e-3
    assert errors["permutation"] > 1e-3
