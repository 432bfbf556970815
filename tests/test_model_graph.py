"""Batching records: padded H0, flat gather, partners, edge vectors, batch = single."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_kit import BASIS, TOL, crystal, tiny_model

from nextham.basis import OrbitalLayout
from nextham.model import build_batch
from nextham.model.graph import partner_index
from nextham.record import keys as K


@pytest.mark.parametrize("spinor", [False, True])
def test_flat_gather_round_trip(spinor):
    records = [crystal(spinor=spinor, seed=1), crystal(spinor=spinor, seed=2, numbers=(1, 8))]
    batch = build_batch(records, OrbitalLayout(BASIS), spinor, torch.float64)
    flats = batch.split_flat(batch.gather_flat(batch.h0))
    for rec, flat in zip(records, flats):
        np.testing.assert_array_equal(flat.numpy(), rec[K.H0])
    assert batch.num_graphs == 2
    total = sum(np.abs(r[K.H0]).sum() for r in records)
    assert torch.isclose(batch.h0.abs().sum(), torch.as_tensor(total))  # padding stays zero


def test_edge_vectors_and_partners():
    rec = crystal()
    batch = build_batch([rec], OrbitalLayout(BASIS), False, torch.float64)
    pairs, shift = rec[K.EDGE_INDEX], rec[K.CELL_SHIFT]
    expected = rec[K.POSITIONS][pairs[:, 1]] + shift @ rec[K.CELL] - rec[K.POSITIONS][pairs[:, 0]]
    np.testing.assert_allclose(batch.edge_vectors().numpy(), expected, atol=1e-14)
    p = partner_index(pairs, shift)
    np.testing.assert_array_equal(pairs[p], pairs[:, ::-1])
    np.testing.assert_array_equal(shift[p], -shift)
    with pytest.raises(ValueError, match="no stored partner"):
        partner_index(pairs[1:], shift[1:])


def test_batch_rejects_mismatches():
    layout = OrbitalLayout(BASIS)
    with pytest.raises(ValueError, match="SPINOR"):
        build_batch([crystal(spinor=True)], layout, False)
    rec = crystal()
    rec[K.BASIS_LS] = {**rec[K.BASIS_LS], 8: (0, 1)}
    with pytest.raises(ValueError, match="basis of Z=8"):
        build_batch([rec], layout, False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spinor", [False, True])
def test_batch_equals_single(spinor, dtype):
    model = tiny_model(spinor=spinor, dtype=dtype)
    records = [
        crystal(spinor=spinor, seed=3),
        crystal(spinor=spinor, seed=4, numbers=(83, 1)),
        crystal(spinor=spinor, seed=5, numbers=(8, 8, 1, 83)),
    ]
    with torch.no_grad():
        batch = model.make_batch(records)
        out = model(batch)
        flats, zs = batch.split_flat(out["delta_flat"]), batch.split_edges(out["z"])
        for rec, flat, z in zip(records, flats, zs):
            single = model(model.make_batch([rec]))
            scale = single["delta_flat"].abs().max()
            assert (flat - single["delta_flat"]).abs().max() <= TOL[dtype] * scale
            assert (z - single["z"]).abs().max() <= TOL[dtype] * single["z"].abs().max()
            assert flat.shape == rec[K.H0].shape
            assert flat.is_complex() == spinor


def test_edge_chunking_does_not_change_results():
    records = [crystal(spinor=True, seed=6)]
    outs = []
    for chunk in (7, 100000):
        model = tiny_model(spinor=True, edge_chunk=chunk)
        with torch.no_grad():  # inference: chunks written in place (map_rows' ``out``)
            outs.append(model(model.make_batch(records))["delta_flat"])
    assert torch.allclose(outs[0], outs[1], rtol=0, atol=1e-12)
    model = tiny_model(spinor=True, edge_chunk=7)
    with_grad = model(model.make_batch(records))["delta_flat"].detach()  # concatenated chunks
    assert torch.allclose(outs[0], with_grad, rtol=0, atol=1e-12)


def test_edge_chunking_keeps_training_gradients():
    """Chunked per-pair work (TraceGrad's inner gradient included) trains like one chunk."""
    records = [crystal(spinor=True, seed=6)]
    results = []
    for chunk in (5, 100000):
        model = tiny_model(spinor=True, edge_chunk=chunk, tracegrad=True)
        out = model(model.make_batch(records))
        loss = out["delta_flat"].abs().square().sum() + out["z"].square().sum()
        grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
        flat = [g.flatten() for g in grads if g is not None]
        results.append((out["z"].detach(), torch.cat(flat)))
    assert torch.allclose(results[0][0], results[1][0], rtol=0, atol=1e-12)
    assert torch.allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)
