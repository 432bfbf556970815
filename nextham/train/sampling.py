"""Which training structures an epoch visits: all of them once, or element-balanced draws.

With ``data.balance: element`` an epoch draws ``data.samples_per_epoch`` structures (default:
as many as there are training structures) with replacement, structure s with probability
∝ (mean over its elements e of 1/n_e)^τ, n_e the number of training structures holding e and τ
``data.balance_power`` (default 1). With τ = 1 a rare element is visited about as often as a
common one instead of in proportion to its count; τ = 0 visits every structure alike (a
uniform draw) and τ between tempers the balance. The draw of epoch e depends only on
(seed, e), so a resumed run repeats it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from nextham.errors import InputError

BALANCE_MODES = ("none", "element")


def element_weights(elements: Sequence[Sequence[int]], power: float = 1.0) -> np.ndarray:
    """Sampling probabilities (S,) of structures whose element lists are ``elements``, the
    balance tempered by ``power`` (τ of the module docstring)."""
    sets = [set(int(z) for z in e) for e in elements]
    counts = Counter(z for s in sets for z in s)
    w = np.array([np.mean([1.0 / counts[z] for z in s]) for s in sets]) ** float(power)
    return w / w.sum()


def epoch_structures(
    train: Sequence[int],
    elements: Sequence[Sequence[int]],
    balance: str,
    seed: int,
    epoch: int,
    size: int | None = None,
    power: float = 1.0,
) -> list[int]:
    """The training indices visited in ``epoch`` (``elements[k]``: elements of ``train[k]``)."""
    if balance not in BALANCE_MODES:
        raise InputError(f"data.balance must be one of {BALANCE_MODES}, got {balance!r}")
    if balance == "none":
        return list(train)
    rng = np.random.default_rng([seed, epoch, 104729])
    p = element_weights(elements, power)
    pick = rng.choice(len(train), size=size or len(train), replace=True, p=p)
    return [int(train[k]) for k in pick]
