"""The spin–orbit splitting's levels at Γ (benchmarks/suite/spin_orbit.py): Γ8 and Γ7 by
degeneracy in a symmetric cell, the top four valence levels and the next two otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from suite.spin_orbit import split_levels


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


def test_a_band_inverted_cell_measures_gamma8_minus_the_pair_below_it():
    # HgTe-like: Γ7, Γ6 (inverted), Γ8 half filled at E_F
    eps = _levels((-1.0, 2), (-0.3, 2), (0.0, 4), (2.0, 2))
    top, below = split_levels(eps, 6)
    assert list(top) == [4, 5, 6, 7] and list(below) == [2, 3]


def test_a_distorted_cell_falls_back_to_the_top_four_and_the_next_two():
    # only Kramers pairs: the four-fold set is split by more than the tolerance
    eps = _levels((-0.8, 2), (-0.05, 2), (0.0, 2), (1.5, 2))
    top, below = split_levels(eps, 6)
    assert list(top) == [2, 3, 4, 5] and list(below) == [0, 1]
    # and a four-fold set far from the valence top is not taken for Γ8
    eps = _levels((-5.0, 4), (-0.8, 2), (-0.05, 2), (0.0, 2), (1.5, 2))
    assert list(split_levels(eps, 10)[0]) == [6, 7, 8, 9]
