"""Fine-tuning anchored to its start: a decoupled pull of the parameters back to the model
they started from (``optim.anchor``; L2-SP, Li, Grandvalet & Davoine, ICML 2018).

A fine-tune on a small, narrow set (the spin–orbit crystals of a few heavy elements) moves the
universal model's parameters as far as that set asks, and with them its predictions for
everything the set does not hold. After each optimizer step every parameter is moved back
toward its value in the starting model, ``θ ← θ − lr · λ · (θ − θ₀)`` — decoupled from the
adaptive step as AdamW's weight decay is, so that λ is a rate per unit learning rate whatever
the gradient's scale: without a gradient a parameter's distance from θ₀ shrinks by e^{−λ·Σ lr}.
"""

from __future__ import annotations

import torch


class ParameterAnchor:
    """The starting parameters of ``model`` and the pull back to them.

    Parameters
    ----------
    model : torch.nn.Module
        The model as it starts (its ``named_parameters()`` are copied).
    strength : float
        λ ≥ 0, per unit learning rate.
    """

    def __init__(self, model: torch.nn.Module, strength: float) -> None:
        if strength < 0:
            raise ValueError(f"anchor strength must be ≥ 0, got {strength}")
        self.strength = float(strength)
        self.start = {n: p.detach().clone() for n, p in model.named_parameters()}

    @torch.no_grad()
    def pull(self, model: torch.nn.Module, lr: float) -> None:
        """θ ← θ − lr · λ · (θ − θ₀) for every parameter (after ``optimizer.step()``)."""
        rate = min(lr * self.strength, 1.0)
        for name, p in model.named_parameters():
            p.sub_(p.detach() - self.start[name], alpha=rate)

    def distance(self, model: torch.nn.Module) -> float:
        """‖θ − θ₀‖ over all parameters."""
        total = sum(float(((p.detach() - self.start[n]) ** 2).sum())
                    for n, p in model.named_parameters())  # fmt: skip
        return total**0.5
