"""The spin–orbit splitting's levels at Γ (benchmarks/suite/spin_orbit.py): Γ8 and Γ7 by
degeneracy in a symmetric cell (s-like sets passed over), the top four valence levels and the
next two otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from model_kit import crystal
from suite.spin_orbit import gamma_states, shell_weights, split_levels

from nextham.record import keys as K


def _levels(*sets: tuple[float, int]) -> np.ndarray:
    return np.sort(np.concatenate([np.full(m, e) + 1e-6 * np.arange(m) for e, m in sets]))


def test_symmetric_cell_takes_the_four_fold_top_and_the_pair_below():
    # Γ6 (s), Γ7 (split-off), Γ8 (valence top), Γ6 (conduction): eight occupied levels
    eps = _levels((-10.0, 2), (-0.8, 2), (0.0, 4), (1.5, 2))
    top, below = split_levels(eps, 8)
    assert list(top) == [4, 5, 6, 7] and list(below) == [2, 3]
    assert abs(eps[top].mean() - eps[below].mean() - 0.8) < 1e-5
    # a metal whose E_F cuts through Γ8 (six occupied levels): the same sets
    top, below = split_levels(eps, 6)
    assert list(top) == [4, 5, 6, 7] and list(below) == [2, 3]


def _weights(*characters: tuple[tuple[float, float, float], int]) -> np.ndarray:
    """Per-l weights (3, levels) of sets of levels with the (s, p, d) character given."""
    return np.concatenate([np.tile(np.asarray(c)[:, None], m) for c, m in characters], axis=1)


def test_a_band_inverted_cell_passes_over_the_s_like_gamma6():
    # HgTe-like: Γ7, Γ6 (inverted), Γ8 half filled at E_F
    eps = _levels((-1.0, 2), (-0.3, 2), (0.0, 4), (2.0, 2))
    s, p = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    weights = _weights((p, 2), (s, 2), (p, 4), (s, 2))
    top, below = split_levels(eps, 6, weights)
    assert list(top) == [4, 5, 6, 7] and list(below) == [0, 1]
    assert list(split_levels(eps, 6)[1]) == [2, 3]  # by degeneracy alone: Γ6


def test_a_split_off_set_half_d_is_still_gamma7():
    # AgI-like: a p–d bonding pair, the cation's d sets, the split-off pair (half p, half d)
    eps = _levels((-4.4, 2), (-2.8, 4), (-0.55, 2), (0.0, 4), (1.5, 2))
    mixed, d, top_p = (0.0, 0.49, 0.51), (0.0, 0.02, 0.98), (0.0, 0.67, 0.33)
    weights = _weights((mixed, 2), (d, 4), (mixed, 2), (top_p, 4), ((1.0, 0.0, 0.0), 2))
    top, below = split_levels(eps, 12, weights)
    assert list(top) == [8, 9, 10, 11] and list(below) == [6, 7]


def test_shell_weights_of_every_state_sum_to_one():
    record = crystal(spinor=True)
    eps, vectors, s_k = gamma_states(record, record[K.HT])
    weights = shell_weights(record, vectors, s_k)
    l_max = max(max(ls) for ls in record[K.BASIS_LS].values())
    assert weights.shape == (l_max + 1, eps.size)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, atol=1e-8)
    assert np.all(np.diff(eps) >= -1e-12)


def test_a_distorted_cell_falls_back_to_the_top_four_and_the_next_two():
    # only Kramers pairs: the four-fold set is split by more than the tolerance
    eps = _levels((-0.8, 2), (-0.05, 2), (0.0, 2), (1.5, 2))
    top, below = split_levels(eps, 6)
    assert list(top) == [2, 3, 4, 5] and list(below) == [0, 1]
    # and a four-fold set far from the valence top is not taken for Γ8
    eps = _levels((-5.0, 4), (-0.8, 2), (-0.05, 2), (0.0, 2), (1.5, 2))
    assert list(split_levels(eps, 10)[0]) == [6, 7, 8, 9]


def test_a_distorted_cell_passes_over_s_like_levels_too():
    # SnTe-like, strained: Γ8 split into two pairs, an s-like pair above the split-off pair
    eps = _levels((-1.7, 2), (-1.6, 2), (-0.87, 2), (0.0, 2), (2.7, 2))
    s, p = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    weights = _weights((p, 2), (s, 2), (p, 2), (p, 2), (p, 2))
    top, below = split_levels(eps, 8, weights)
    assert list(top) == [4, 5, 6, 7] and list(below) == [0, 1]
    assert list(split_levels(eps, 8)[1]) == [2, 3]  # without the weights: the s-like pair
