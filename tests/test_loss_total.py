"""Weighted combination of the loss terms and the gauge-corrected real-space terms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_loss_records import make_record

from nextham.loss.total import LossWeights, combine_losses, realspace_terms
from nextham.record import keys as K
from nextham.record.flat import record_overlap_flat


def test_combine_weights_terms():
    w = LossWeights(l1=2.0, l2=0.0, k_pp=0.5, k_qq=0.0, k_pq=1.0, tracegrad=3.0)
    terms = {
        "l1": torch.tensor(1.0),
        "l2": torch.tensor(100.0),
        "k_pp": torch.tensor(4.0),
        "tracegrad": torch.tensor(0.5),
    }
    out = combine_losses(terms, w)
    assert out["total"].item() == pytest.approx(2.0 + 0.5 * 4.0 + 3.0 * 0.5)
    assert out["l2"].item() == 100.0
    with pytest.raises(ValueError, match="unknown"):
        combine_losses({"l3": torch.tensor(1.0)}, w)
    assert combine_losses({}, w)["total"].item() == 0.0


def test_weights_from_dict():
    w = LossWeights.from_dict({"l1": 1, "k_pp": "0.25"})
    assert w.k_pp == 0.25 and w.as_dict()["tracegrad"] == LossWeights().tracegrad
    with pytest.raises(ValueError, match="unknown"):
        LossWeights.from_dict({"kspace": 1.0})


@pytest.mark.parametrize("spinor", [False, True])
def test_realspace_terms_gauge_removes_rigid_shift(spinor):
    rec = make_record(31, spinor=spinor)
    s = torch.as_tensor(record_overlap_flat(rec))
    target = torch.as_tensor(rec[K.HT])
    noise = torch.as_tensor(np.random.default_rng(0).normal(0, 0.01, target.shape))
    pred = target + noise.to(target.dtype)
    plain = realspace_terms(pred, target)
    shifted = realspace_terms(pred + 0.8 * s, target, s, gauge=True)
    raw_shifted = realspace_terms(pred + 0.8 * s, target)
    assert shifted["l2"].item() <= plain["l2"].item() + 1e-15
    assert shifted["l1"].item() == pytest.approx(plain["l1"].item(), rel=0.05)
    assert raw_shifted["l1"].item() > 2 * plain["l1"].item()
    with pytest.raises(ValueError):
        realspace_terms(pred, target, gauge=True)


def test_kspace_says_whether_a_k_term_is_weighted():
    assert LossWeights().kspace
    off = LossWeights(k_pp=0.0, k_qq=0.0, k_pq=0.0)
    assert not off.kspace
    assert LossWeights(k_pp=0.0, k_qq=0.0, k_pq=0.0, k_rms=0.002).kspace
    assert LossWeights(k_pp=0.0, k_qq=0.0, k_pq=0.0, k_ghost=1.0).kspace
