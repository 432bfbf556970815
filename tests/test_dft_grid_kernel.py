"""The own-range grid kernel (nextham.dft.grid_kernel) against PySCF's NUMINT_fill2c."""

from __future__ import annotations

import numpy as np
import pytest
from pyscf import gto
from pyscf.pbc.dft.multigrid import multigrid as mg

from nextham.dft import grid_box

STEP = np.array([0.31, 0.27, 0.35])  # Bohr, a different step on each axis
DIMS = np.array([40, 44, 36])


def _shells(seed: int) -> tuple:
    """(atm, bas, env) of uncontracted Cartesian s, p, d, f primitives on four atoms: two
    inside the box, one near its edge, one outside it (its products are clipped)."""
    rng = np.random.default_rng(seed)
    box = DIMS * STEP
    centres = [box * [0.4, 0.5, 0.45], box * [0.6, 0.42, 0.55], box * [0.97, 0.5, 0.1]]
    centres.append(box * [1.1, 0.3, 0.5])
    top = [3.0, 3.0, 3.0, 0.4]  # the outside atom diffuse, so that its products reach in
    basis = {f"X{i}": [[l, [a, 1.0]] for l in range(4) for a in rng.uniform(0.15, top[i], 2)]
             for i in range(4)}  # fmt: skip
    mol = gto.M(atom=[("He", c) for c in centres], basis="sto-3g", unit="Bohr", verbose=0)
    # one primitive shell per (atom, l, exponent), coefficients normalized as decontracted
    bas, env = [], list(mol._env)
    for a in range(len(centres)):
        for l, (exp, _) in basis[f"X{a}"]:
            env += [exp, float(gto.gto_norm(l, exp))]
            bas.append([a, l, 1, 1, 0, len(env) - 2, len(env) - 1, 0])
    return mol._atm, np.array(bas, dtype=np.int32), np.array(env)


@pytest.mark.parametrize("seed", [0, 1])
def test_own_range_kernel_equals_pyscf(seed):
    atm, bas, env = _shells(seed)
    env = env.copy()
    env[mg.PTR_EXPDROP] = 1e-12
    n_home = 8  # atom 0's shells: s, p, d, f, two exponents each
    weights = np.random.default_rng(seed + 10).normal(size=tuple(DIMS))
    log_prec = float(np.log(1e-6))
    lattice = np.diag(DIMS * STEP)
    ref = grid_box._fill(atm, bas, env, n_home, weights.reshape(-1), lattice, DIMS, 0, log_prec)
    got = grid_box._fill_own_ranges(atm, bas, env, n_home, weights, STEP.copy(), log_prec)
    assert got.shape == ref.shape
    assert np.abs(ref).max() > 0.1
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    # the partner outside the box (clipped ranges) contributes, and is reproduced
    far = gto.moleintor.make_loc(bas, "cart")[24] - gto.moleintor.make_loc(bas, "cart")[8]
    assert np.abs(ref[far:]).max() > 1e-8


def test_own_range_kernel_sees_a_wrong_component_order():
    """The check above is sharp: swapping two d components of one shell is seen."""
    atm, bas, env = _shells(0)
    env = env.copy()
    env[mg.PTR_EXPDROP] = 1e-12
    weights = np.random.default_rng(3).normal(size=tuple(DIMS))
    got = grid_box._fill_own_ranges(atm, bas, env, 8, weights, STEP.copy(), float(np.log(1e-6)))
    d0 = gto.moleintor.make_loc(bas, "cart")[4]  # first d shell of atom 0 (xx, xy, …)
    swapped = got.copy()
    swapped[:, [d0, d0 + 1]] = got[:, [d0 + 1, d0]]
    ref = grid_box._fill(
        atm, bas, env, 8, weights.reshape(-1), np.diag(DIMS * STEP), DIMS, 0, float(np.log(1e-6))
    )
    assert np.abs(swapped - ref).max() > 1e-3 * np.abs(ref).max()
