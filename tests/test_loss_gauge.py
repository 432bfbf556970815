"""Analytic gauge shift μ* against brute force and a numerical minimizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from test_loss_records import make_record

from nextham.loss.gauge import gauge_corrected_difference, gauge_shift
from nextham.record import keys as K
from nextham.record.flat import record_overlap_flat


def shifted_error(mu, pred, target, s):
    return float(np.sum(np.abs(pred - mu * s - target) ** 2))


@pytest.mark.parametrize("spinor", [False, True])
def test_mu_star_is_the_minimizer(spinor):
    rec = make_record(5, spinor=spinor)
    s = record_overlap_flat(rec)
    pred = rec[K.H0] + 0.37 * s
    target = rec[K.HT]
    mu = gauge_shift(torch.as_tensor(pred), torch.as_tensor(target), torch.as_tensor(s))
    res = minimize_scalar(shifted_error, args=(pred, target, s), tol=1e-12)
    assert mu.shape == (1,)
    assert mu.item() == pytest.approx(res.x, abs=1e-6)
    num = sum(((p - t) * np.conj(v)).real for p, t, v in zip(pred, target, s))
    den = sum(abs(v) ** 2 for v in s)
    assert mu.item() == pytest.approx(num / den, rel=1e-10)


def test_spinor_overlap_has_no_spin_flip_entries():
    rec = make_record(6, spinor=True)
    s = record_overlap_flat(rec)
    assert np.sum(np.abs(s) ** 2) == pytest.approx(2 * np.sum(rec[K.S] ** 2))


def test_per_structure_shift_and_invariance():
    a, b = make_record(7), make_record(8, numbers=(1, 1, 8))
    sa, sb = record_overlap_flat(a), record_overlap_flat(b)
    pred = np.concatenate([a[K.HT] + 0.5 * sa, b[K.HT] - 1.25 * sb])
    target = np.concatenate([a[K.HT], b[K.HT]])
    s = np.concatenate([sa, sb])
    batch = torch.as_tensor(np.repeat([0, 1], [len(sa), len(sb)]))
    mu = gauge_shift(torch.as_tensor(pred), torch.as_tensor(target), torch.as_tensor(s), batch)
    np.testing.assert_allclose(mu.numpy(), [0.5, -1.25], atol=1e-12)
    diff, _ = gauge_corrected_difference(
        torch.as_tensor(pred), torch.as_tensor(target), torch.as_tensor(s), batch
    )
    np.testing.assert_allclose(diff.numpy(), 0.0, atol=1e-12)


def test_mask_excludes_padding_and_gradient_flows():
    rng = np.random.default_rng(2)
    pred = torch.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    target = torch.as_tensor(rng.standard_normal((2, 3)))
    s = torch.as_tensor(rng.standard_normal((2, 3)))
    mask = torch.tensor([[True, True, False], [True, False, False]])
    mu = gauge_shift(pred, target, s, mask=mask)
    keep = mask.numpy()
    d, sv = (pred.detach() - target).numpy()[keep], s.numpy()[keep]
    assert mu.item() == pytest.approx(float(d @ sv / (sv @ sv)), rel=1e-12)
    mu.sum().backward()
    assert (pred.grad[~mask] == 0).all() and (pred.grad[mask] != 0).all()
