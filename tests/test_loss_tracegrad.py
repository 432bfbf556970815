"""TraceGrad targets per block and the auxiliary loss against explicit loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_loss_records import blocks_of, make_record

from nextham.loss.tracegrad import block_traces, scale_target, tracegrad_loss
from nextham.record import keys as K
from nextham.record.layout import BlockLayout


def args(rec):
    return (BlockLayout.of(rec),)


@pytest.mark.parametrize("spinor", [False, True])
def test_block_traces_match_matrix_traces(spinor):
    rec = make_record(21, spinor=spinor)
    delta = np.asarray(rec[K.HT]) - np.asarray(rec[K.H0])
    rec_delta = {**rec, K.HT: delta}
    want = [np.trace(b @ b.conj().T).real for b in blocks_of(rec_delta, K.HT)]
    got = block_traces(torch.as_tensor(delta), *args(rec))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    sizes = [b.size for b in blocks_of(rec_delta, K.HT)]
    per = block_traces(torch.as_tensor(delta), *args(rec), per_entry=True)
    np.testing.assert_allclose(per.numpy(), np.array(want) / sizes, rtol=1e-12)


def test_scalings():
    tr = torch.tensor([0.0, 0.25, 4.0], dtype=torch.float64)
    np.testing.assert_allclose(scale_target(tr, "none").numpy(), [0.0, 0.25, 4.0])
    np.testing.assert_allclose(scale_target(tr, "sqrt").numpy(), [0.0, 0.5, 2.0])
    np.testing.assert_allclose(
        scale_target(tr, "log1p", scale=0.5).numpy(), np.log1p([0.0, 1.0, 16.0])
    )
    with pytest.raises(ValueError):
        scale_target(tr, "cube")


def test_tracegrad_loss_matches_loop_and_has_gradient():
    rec = make_record(22, spinor=True)
    delta = np.asarray(rec[K.HT]) - np.asarray(rec[K.H0])
    blocks = blocks_of({**rec, K.HT: delta}, K.HT)
    rng = np.random.default_rng(0)
    z = torch.tensor(rng.uniform(0, 2, len(blocks)), requires_grad=True)
    want = 0.0
    for zi, b in zip(z.detach().numpy(), blocks):
        want += (zi - np.sqrt(np.sum(np.abs(b) ** 2))) ** 2
    want /= len(blocks)
    got = tracegrad_loss(z, torch.as_tensor(delta), *args(rec), scaling="sqrt")
    assert got.item() == pytest.approx(want, rel=1e-12)
    got.backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        tracegrad_loss(z[:-1], torch.as_tensor(delta), *args(rec))
