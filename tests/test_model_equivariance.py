"""E(3) (+ SU(2) spin) equivariance, permutation, translation, periodic image, hermiticity."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import TOL, crystal, predictor, tiny_model

from nextham.record import keys as K
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


@pytest.mark.parametrize("spinor", [False, True])
def test_squashed_h0_input_is_equivariant(spinor):
    """``h0_squash``: v / (1 + ‖v‖) per irrep instance keeps every symmetry and changes ΔH."""
    record = crystal(spinor=spinor, magnetic=True)
    model = tiny_model(spinor=spinor, h0_squash=True)
    assert_equivariant(predictor(model), record, TOL["float64"])
    plain = tiny_model(spinor=spinor, h0_squash=False)
    assert np.abs(predictor(model)(record) - predictor(plain)(record)).max() > 1e-6


def test_squash_irreps_maps_each_instance_into_the_unit_ball():
    import torch
    from e3nn import o3

    from nextham.model.network import squash_irreps

    irreps = o3.Irreps("2x0e+1x1o+1x2e")
    y = torch.tensor([[3.0, -0.5, 0.0, 3.0, 4.0, 1.0, 0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    out = squash_irreps(y, irreps)
    expect = [0.75, -0.5 / 1.5, 0.0, 0.5, 4.0 / 6.0, 0.5, 0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(out[0].numpy(), expect, atol=1e-12)


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


@pytest.mark.parametrize("spinor", [False, True])
def test_pair_scales_scale_each_kind_of_block_and_keep_the_symmetries(spinor):
    """``pair_scales``: each block is the plain model's times its kind's scale / delta_scale."""
    import torch

    from nextham.model.config import pair_scale_key

    scales = {"8": 3.0, "1-8": 0.5, "83-83": 0.02}  # on-site O; O–H pairs; Bi–Bi (not on-site)
    record = crystal(spinor=spinor, magnetic=True)
    model = tiny_model(spinor=spinor, delta_scale=2.0, pair_scales=scales)
    plain = tiny_model(spinor=spinor, delta_scale=2.0)
    assert_equivariant(predictor(model), record, TOL["float64"])
    with torch.no_grad():
        got = model(model.make_batch([record]))["delta"].numpy()
        want = plain(plain.make_batch([record]))["delta"].numpy()
    z, ei, shift = record[K.NUMBERS], record[K.EDGE_INDEX], record[K.CELL_SHIFT]
    kinds = set()
    for e, (i, j) in enumerate(ei):
        onsite = i == j and not np.any(shift[e])
        key = pair_scale_key(z[i], z[j], onsite)
        kinds.add(key)
        factor = scales.get(key, 2.0) / 2.0
        assert np.allclose(got[e], factor * want[e], atol=1e-12), (key, e)
    assert {"8", "1-8", "83-83"} <= kinds  # every listed kind occurred


def test_pair_scales_are_checked():
    from nextham.model.config import check_pair_scales, pair_scale_key

    assert pair_scale_key(8, 1, False) == "1-8" and pair_scale_key(8, 8, True) == "8"
    check_pair_scales({"1-8": 0.1})
    for bad in ({"1-8": 0.0}, ["1-8"]):
        with pytest.raises(ValueError, match="pair_scales"):
            check_pair_scales(bad)
    with pytest.raises(ValueError, match="filled by `nextham train`"):
        tiny_model(pair_scales="auto")
