"""Real-space L1/L2 against explicit loops; padding never counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nextham.loss.realspace import l1_loss, l2_loss


def loop_losses(pred, target):
    """Mean |·| and (·)² over real components, by explicit loops."""
    s1 = s2 = 0.0
    n = 0
    for p, t in zip(pred, target):
        parts = [p.real - t.real, p.imag - t.imag] if np.iscomplexobj(pred) else [p - t]
        for d in parts:
            s1 += abs(d)
            s2 += d * d
            n += 1
    return s1 / n, s2 / n


@pytest.mark.parametrize("complex_", [False, True])
def test_flat_losses_match_loops(complex_):
    rng = np.random.default_rng(0)
    p, t = rng.standard_normal(37), rng.standard_normal(37)
    if complex_:
        p, t = p + 1j * rng.standard_normal(37), t + 1j * rng.standard_normal(37)
    w1, w2 = loop_losses(p, t)
    pt, tt = torch.as_tensor(p), torch.as_tensor(t)
    assert l1_loss(pt, tt).item() == pytest.approx(w1, rel=1e-12)
    assert l2_loss(pt, tt).item() == pytest.approx(w2, rel=1e-12)
    assert l1_loss(pt, tt, reduction="sum").item() == pytest.approx(w1 * (74 if complex_ else 37))


def test_padding_never_counts():
    rng = np.random.default_rng(1)
    sizes = [(2, 3), (4, 4), (1, 2)]
    blocks_p = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in sizes]
    blocks_t = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in sizes]
    pad_p = torch.full((3, 4, 4), complex(np.nan, np.nan), dtype=torch.complex128)
    pad_t = torch.full((3, 4, 4), 7.0 + 3j, dtype=torch.complex128)
    mask = torch.zeros(3, 4, 4, dtype=torch.bool)
    for e, (a, b) in enumerate(sizes):
        pad_p[e, :a, :b] = torch.as_tensor(blocks_p[e])
        pad_t[e, :a, :b] = torch.as_tensor(blocks_t[e])
        mask[e, :a, :b] = True
    flat_p = np.concatenate([x.ravel() for x in blocks_p])
    flat_t = np.concatenate([x.ravel() for x in blocks_t])
    w1, w2 = loop_losses(flat_p, flat_t)
    pad_p.requires_grad_(True)
    got1 = l1_loss(pad_p, pad_t, mask)
    got2 = l2_loss(pad_p, pad_t, mask)
    assert got1.item() == pytest.approx(w1, rel=1e-12)
    assert got2.item() == pytest.approx(w2, rel=1e-12)
    (got1 + got2).backward()
    assert torch.isfinite(torch.view_as_real(pad_p.grad)).all()
    assert (pad_p.grad[~mask] == 0).all()


def test_empty_mask_gives_zero_and_shape_mismatch_raises():
    x = torch.ones(5)
    assert l1_loss(x, 2 * x, torch.zeros(5, dtype=torch.bool)).item() == 0.0
    with pytest.raises(ValueError):
        l1_loss(torch.ones(4), torch.ones(5))
