"""k ↔ R transforms (pure functions) against explicit sums."""

from __future__ import annotations

import numpy as np

from nextham.spectra import kspace


def test_gamma_mesh_and_covering_mesh():
    k = kspace.gamma_mesh((2, 3, 1))
    assert k.shape == (6, 3)
    assert np.allclose(k[0], 0) and k.min() >= 0 and k.max() < 1
    assert kspace.covering_mesh(np.array([[0, 0, 0], [2, -1, 0], [-3, 1, 0]])) == (7, 3, 1)


def test_k_to_r_inverts_r_to_k_on_covering_mesh():
    rng = np.random.default_rng(1)
    shifts = np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 2, -1], [0, -2, 1]])
    hr = rng.normal(size=(len(shifts), 3, 3)) + 1j * rng.normal(size=(len(shifts), 3, 3))
    kfrac = kspace.gamma_mesh(kspace.covering_mesh(shifts))
    hk = kspace.r_to_k(hr, shifts, kfrac)
    # explicit phase sum for one k
    q = 5
    explicit = sum(np.exp(2j * np.pi * kfrac[q] @ r) * h for r, h in zip(shifts, hr))
    assert np.allclose(hk[q], explicit)
    assert np.allclose(kspace.k_to_r(hk, kfrac, shifts), hr, atol=1e-12)


def test_time_reversal_pairs():
    k = kspace.gamma_mesh((3, 4, 1))
    rep, partner = kspace.time_reversal_pairs(k)
    d = (k + k[partner]) % 1.0
    assert np.all(np.isclose(d, 0) | np.isclose(d, 1))
    assert np.all(partner[partner] == np.arange(len(k)))
    assert np.all(rep <= np.arange(len(k)))
    assert len(np.unique(rep)) < len(k)


def test_blocks_from_k_spinor_slices():
    rng = np.random.default_rng(2)
    shifts = np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0]])
    m = 6  # two atoms with 1 and 2 orbitals, times two spins
    hr = rng.normal(size=(3, m, m))
    kfrac = kspace.gamma_mesh((3, 1, 1))
    hk = kspace.r_to_k(hr, shifts, kfrac)
    slices = np.array([[[0, 1], [3, 4]], [[1, 3], [4, 6]]])  # (atom, spin, start/stop)
    blocks = kspace.blocks_from_k(hk, kfrac, np.array([[0, 1]]), np.array([[1, 0, 0]]), slices)
    rows, cols = [0, 3], [1, 2, 4, 5]
    assert np.allclose(blocks[0], hr[1][np.ix_(rows, cols)])
