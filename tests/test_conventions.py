"""PYSCF_TO_E3NN against an independent fit of PySCF's real harmonics to e3nn's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from e3nn import o3
from pyscf import gto

from nextham.conventions import PYSCF_TO_E3NN
from nextham.testing import random_orthogonal

LS = (0, 1, 2, 3)


def _shell_values(points: np.ndarray) -> dict[int, np.ndarray]:
    """PySCF 'GTOval_sph' of one s, p, d, f shell each, per l: (n_points, 2l+1)."""
    basis = {"X": [[l, [0.7, 1.0]] for l in LS]}
    mol = gto.M(atom="X 0 0 0", basis=basis, unit="Bohr", spin=None, verbose=0)
    mol.spin = mol.nelectron % 2
    values = mol.eval_gto("GTOval_sph", points)
    out, start = {}, 0
    for l in LS:
        out[l] = values[:, start : start + 2 * l + 1]
        start += 2 * l + 1
    return out


def _unit_points(n: int, seed: int) -> np.ndarray:
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def _e3nn(l: int, points: np.ndarray) -> np.ndarray:
    pts = torch.as_tensor(points)
    return o3.spherical_harmonics(l, pts, normalize=True, normalization="integral").numpy()


@pytest.mark.parametrize("l", LS)
def test_mapping_matches_fit(l):
    """Fit e3nn's Y_l = c · φ_pyscf Uᵀ on the unit sphere; c > 0 and U = PYSCF_TO_E3NN."""
    pts = _unit_points(60, l)
    phi = _shell_values(pts)[l]
    a = np.linalg.lstsq(phi, _e3nn(l, pts), rcond=None)[0]
    c = np.sqrt(np.mean(np.diag(a.T @ a)))
    np.testing.assert_allclose(a.T @ a / c**2, np.eye(2 * l + 1), atol=1e-10)
    np.testing.assert_allclose((a / c).T, PYSCF_TO_E3NN[l], atol=1e-10)
    np.testing.assert_allclose(phi @ (a / c), _e3nn(l, pts) / c, atol=1e-10)


@pytest.mark.parametrize("improper", [False, True])
@pytest.mark.parametrize("l", LS)
def test_rotation_through_mapping(l, improper):
    """φ_pyscf(R x) = Uᵀ D_e3nn(R) U φ_pyscf(x), D from e3nn's Irrep.D_from_matrix."""
    rot = random_orthogonal(10 + l, improper)
    pts = 1.3 * _unit_points(40, 100 + l)
    phi = _shell_values(pts)[l]
    phi_rot = _shell_values(pts @ rot.T)[l]
    d = o3.Irrep(l, (-1) ** l).D_from_matrix(torch.as_tensor(rot)).numpy()
    u = PYSCF_TO_E3NN[l]
    np.testing.assert_allclose(phi_rot, phi @ (u.T @ d @ u).T, atol=1e-5)
    if l >= 2:
        assert np.abs(phi_rot - phi @ d.T).max() > 1e-2, "without the mapping it must differ"
