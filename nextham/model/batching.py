"""Which structures go into one forward pass: batches bounded by their number of pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def edge_batches(
    indices: Sequence[int], n_edges: Sequence[int], max_edges: int, seed: int | None
) -> list[list[int]]:
    """Pack structures (shuffled by ``seed``, or in order if None) into batches of ≤ max_edges.

    A structure larger than ``max_edges`` forms a batch of its own.
    """
    order = list(indices)
    if seed is not None:
        order = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    batches: list[list[int]] = []
    current, count = [], 0
    for i in order:
        if current and count + n_edges[i] > max_edges:
            batches.append(current)
            current, count = [], 0
        current.append(i)
        count += n_edges[i]
    if current:
        batches.append(current)
    return batches
