"""TraceGrad: switchable, changes the prediction, trains through its gradient update."""

from __future__ import annotations

import torch
from model_kit import crystal, tiny_model

from nextham.loss.tracegrad import tracegrad_loss
from nextham.record import keys as K
from nextham.record.layout import BlockLayout


def test_switch_off_removes_z():
    record = crystal()
    on, off = tiny_model(tracegrad=True), tiny_model(tracegrad=False)
    with torch.no_grad():
        out_on = on(on.make_batch([record]))
        out_off = off(off.make_batch([record]))
    assert out_on["z"].shape == (len(record[K.EDGE_INDEX]),)
    assert "z" not in out_off
    assert off.nets[0].tracegrad is None


def test_gradient_update_changes_prediction():
    record = crystal(spinor=True)
    outs = []
    for scale in (0.0, 0.5):
        model = tiny_model(spinor=True, tracegrad_scale=scale)
        with torch.no_grad():
            outs.append(model(model.make_batch([record]))["delta_flat"])
    assert (outs[0] - outs[1]).abs().max() > 1e-6


def test_inference_without_autograd_equals_training_forward():
    """Under no_grad TraceGrad takes its gradient without a second-order graph; the
    prediction equals the forward pass with autograd on, and nothing in it keeps a graph."""
    record = crystal(spinor=True)
    model = tiny_model(spinor=True, dtype="float64")
    model.eval()
    with_graph = model(model.make_batch([record]))["delta_flat"]
    with torch.no_grad():
        plain = model(model.make_batch([record]))["delta_flat"]
    assert with_graph.requires_grad and not plain.requires_grad
    assert (with_graph - plain).abs().max() < 1e-12
    assert plain.abs().max() > 1e-6


def test_trains_through_update_and_aux_loss():
    """ΔH loss alone reaches the z head (second-order path); the aux loss runs on z."""
    record = crystal(spinor=True)
    model = tiny_model(spinor=True, dtype="float32")
    out = model(model.make_batch([record]))
    target = torch.as_tensor(record[K.HT] - record[K.H0]).to(out["delta_flat"].dtype)
    (out["delta_flat"] - target).abs().square().mean().backward(retain_graph=True)
    head = model.nets[0].tracegrad.mlp
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    aux = tracegrad_loss(out["z"], target, BlockLayout.of(record))
    assert torch.isfinite(aux) and aux > 0
    aux.backward()


def test_short_fit_reduces_loss():
    """A learnable target (ΔH = 0.2 H0) is fitted quickly."""
    record = crystal()
    model = tiny_model(dtype="float32", h0_scale=1.0)
    batch = model.make_batch([record])
    target = torch.as_tensor(0.2 * record[K.H0], dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = (model(batch)["delta_flat"] - target).square().mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.3 * losses[0]
