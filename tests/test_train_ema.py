"""The parameter moving average against a direct computation of the same recurrence."""

from __future__ import annotations

import pytest
import torch

from nextham.train.ema import ParameterEMA


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))


def test_average_follows_the_ramped_recurrence():
    model = _model()
    ema = ParameterEMA(model, decay=0.8)
    expected = {n: p.detach().clone() for n, p in model.named_parameters()}
    for step in range(30):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        d = min(0.8, (1 + step) / (10 + step))
        for n, p in model.named_parameters():
            expected[n] = d * expected[n] + (1 - d) * p.detach()
        ema.update(model)
    for n, v in ema.tensors().items():
        torch.testing.assert_close(v, expected[n])


def test_averaged_swaps_in_and_restores():
    model = _model()
    ema = ParameterEMA(model, decay=0.5)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    raw = {n: p.detach().clone() for n, p in model.named_parameters()}
    ema.update(model)
    with ema.averaged(model):
        for n, p in model.named_parameters():
            torch.testing.assert_close(p.detach(), ema.tensors()[n])
            assert not torch.equal(p.detach(), raw[n])
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), raw[n])


def test_load_round_trip_and_bad_decay():
    model = _model()
    a = ParameterEMA(model, 0.9)
    a.update(model)
    b = ParameterEMA(_model(), 0.9)
    b.load(a.tensors(), a.num_updates)
    assert b.num_updates == 1 and b.current_decay() == a.current_decay()
    with pytest.raises(ValueError, match="decay must lie in"):
        ParameterEMA(model, 1.0)
