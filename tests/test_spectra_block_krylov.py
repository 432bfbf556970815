"""Block shift-invert Krylov (nextham.spectra.block_krylov) against dense eigenvalues."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from nextham.spectra import block_krylov
from nextham.spectra.slicing import Pencil, factor


def _pencil(n: int = 400, seed: int = 0, complex_: bool = False) -> Pencil:
    """A banded Hermitian H with clustered (doubly degenerate) levels and a positive definite
    banded S."""
    rng = np.random.default_rng(seed)
    dtype = complex if complex_ else float
    a = sp.random(n, n, density=0.02, random_state=seed, dtype=float)
    if complex_:
        a = a + 1j * sp.random(n, n, density=0.02, random_state=seed + 1, dtype=float)
    levels = np.repeat(rng.uniform(-10, 10, n // 2), 2)  # pairs of equal diagonal entries
    h = sp.diags(levels) + 0.05 * (a + a.conj().T)
    s = sp.eye(n) + 0.05 * sp.diags(rng.uniform(0, 1, n - 1), 1)
    s = s + s.T - sp.eye(n)
    return Pencil(sp.csr_matrix(h, dtype=dtype), sp.csr_matrix(s, dtype=dtype))


def test_nearest_levels_equal_dense():
    for complex_ in (False, True):
        p = _pencil(complex_=complex_)
        dense = scipy.linalg.eigh(p.h.toarray(), p.s.toarray(), eigvals_only=True)
        sigma = 0.5 * (dense[199] + dense[200])
        got = block_krylov.nearest_block(p.h, p.s, factor(p.h, p.s, sigma), sigma, 6)
        want = np.sort(dense[np.argsort(np.abs(dense - sigma))[:6]])
        assert got is not None
        assert np.abs(got - want).max() < 1e-9


def test_no_convergence_falls_back_to_arpack(monkeypatch):
    p = _pencil(seed=1)
    dense = scipy.linalg.eigh(p.h.toarray(), p.s.toarray(), eigvals_only=True)
    sigma = 0.5 * (dense[99] + dense[100])
    lu = factor(p.h, p.s, sigma)
    monkeypatch.setattr(block_krylov, "MAX_STEPS", 1)  # one block: not converged
    assert block_krylov.nearest_block(p.h, p.s, lu, sigma, 6) is None
    got = p.nearest(sigma, 6)  # ARPACK
    want = np.sort(dense[np.argsort(np.abs(dense - sigma))[:6]])
    assert np.abs(got - want).max() < 1e-9
