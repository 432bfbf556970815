"""Exponential moving average (EMA) of the model parameters.

With one small structure per optimizer step the raw parameters move noisily from step to step;
their running average ``θ̄ ← d·θ̄ + (1 − d)·θ`` is a better model than the last iterate. The
training loop validates and saves the averaged parameters (the optimizer keeps working on the
raw ones). ``d`` ramps up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so the first
steps are not dominated by the initial parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


class ParameterEMA:
    """Running average of ``model``'s floating-point parameters.

    Parameters
    ----------
    model : torch.nn.Module
        The model whose ``named_parameters()`` are averaged.
    decay : float
        Target decay ``d`` in (0, 1); the averaging window is about ``1 / (1 − d)`` steps.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must lie in (0, 1), got {decay}")
        self.decay = float(decay)
        self.num_updates = 0
        self.shadow = {n: p.detach().clone() for n, p in model.named_parameters()}

    def current_decay(self) -> float:
        """The decay applied by the next update (warm-up ramp, then ``decay``)."""
        return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Fold the current parameters of ``model`` into the average (after optimizer.step)."""
        d = self.current_decay()
        for name, p in model.named_parameters():
            self.shadow[name].mul_(d).add_(p.detach(), alpha=1.0 - d)
        self.num_updates += 1

    @contextmanager
    def averaged(self, model: torch.nn.Module) -> Iterator[torch.nn.Module]:
        """Temporarily load the averaged parameters into ``model`` (restored on exit)."""
        params = dict(model.named_parameters())
        saved = {n: p.detach().clone() for n, p in params.items()}
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(self.shadow[n])
        try:
            yield model
        finally:
            with torch.no_grad():
                for n, p in params.items():
                    p.copy_(saved[n])

    def tensors(self) -> dict[str, torch.Tensor]:
        """The averaged parameters by name (for checkpoints)."""
        return dict(self.shadow)

    def load(self, tensors: dict[str, torch.Tensor], num_updates: int) -> None:
        """Restore the average from :meth:`tensors` output and its update count."""
        missing = sorted(set(self.shadow) - set(tensors))
        if missing:
            raise KeyError(f"EMA checkpoint lacks parameters {missing[:3]}…")
        for name in self.shadow:
            self.shadow[name] = tensors[name].to(self.shadow[name]).clone()
        self.num_updates = int(num_updates)
