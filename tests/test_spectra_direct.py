"""Sparse direct factorizations: PARDISO and SuperLU against dense linear algebra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nextham.errors import InputError
from nextham.spectra import direct, pardiso

BACKENDS = ("pardiso", "superlu")


def hermitian(n: int, complex_: bool, seed: int) -> sp.csr_matrix:
    """A sparse indefinite Hermitian matrix with a non-trivial inertia."""
    a = sp.random(n, n, density=0.05, random_state=seed)
    a = a + a.T + 0.3 * sp.identity(n)
    if complex_:
        b = sp.random(n, n, density=0.03, random_state=seed + 1)
        a = a + 1j * (b - b.T)
    return sp.csr_matrix(a)


def test_pardiso_is_installed_with_nextham():
    """The mkl package comes with nextham on x86-64 Linux (this machine and CI)."""
    assert pardiso.available()
    assert direct.backend() == "pardiso"


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("name", BACKENDS)
def test_inertia_and_solves_equal_dense(name, complex_):
    a = hermitian(240, complex_, seed=1)
    dense = a.toarray()
    ev = np.linalg.eigvalsh(dense)
    b = np.random.default_rng(0).normal(size=(240, 3))
    with direct.use_backend(name):
        for shift in (-1.0, 0.1, 2.5):
            f = direct.factor_hermitian((a - shift * sp.identity(240)).tocsr())
            kind = pardiso.PardisoFactor if name == "pardiso" and not complex_ else None
            assert isinstance(f, kind or direct.SuperLUFactor)  # complex indefinite: SuperLU
            assert f.negative == int((ev < shift).sum())
            assert 0 < f.negative < 240 or shift != 0.1
            x = f.solve(b)
            ref = np.linalg.solve(dense - shift * np.eye(240), b)
            np.testing.assert_allclose(x, ref, rtol=0, atol=1e-9 * np.abs(ref).max())
            np.testing.assert_allclose(f.solve(b[:, 1]), ref[:, 1], rtol=0,
                                       atol=1e-9 * np.abs(ref).max())  # fmt: skip


@pytest.mark.parametrize("complex_", [False, True])
def test_definite_factor_solves_and_refuses_indefinite(complex_):
    a = hermitian(200, complex_, seed=3)
    s = sp.csr_matrix(a @ a.getH() + sp.identity(200))
    b = np.random.default_rng(1).normal(size=200) + (1j if complex_ else 0.0)
    with direct.use_backend("pardiso"):
        f = direct.factor_hermitian(s, definite=True)
        assert f.negative == 0
        np.testing.assert_allclose(s @ f.solve(b), b, rtol=0, atol=1e-10)
        with pytest.raises(RuntimeError, match="singular"):
            direct.factor_hermitian(a, definite=True)


@pytest.mark.parametrize("complex_", [False, True])
def test_single_precision_definite_factor(complex_):
    """Single precision: solves and F = L⁻¹P (Fᴴ F = S⁻¹) to ~1e-6, results in double."""
    a = hermitian(200, complex_, seed=4)
    s = sp.csr_matrix(a @ a.getH() + sp.identity(200))
    b = np.random.default_rng(3).normal(size=(200, 2)) * (1 + 1j if complex_ else 1.0)
    f = pardiso.PardisoFactor(s, definite=True, single=True)
    x = f.solve(b)
    assert x.dtype == (np.complex128 if complex_ else np.float64)
    exact = np.linalg.solve(s.toarray(), b)
    err = np.abs(x - exact).max() / np.abs(exact).max()
    assert 1e-12 < err < 1e-5  # single, not double, precision, and still a solve
    np.testing.assert_allclose(f.backward(f.forward(b)), exact, rtol=0,
                               atol=1e-5 * np.abs(exact).max())  # fmt: skip
    with direct.use_backend("pardiso"):
        assert isinstance(direct.factor_hermitian(s, definite=True, single=True),
                          pardiso.PardisoFactor)  # fmt: skip


def test_refined_single_factor_solves_to_double_precision():
    a = hermitian(240, False, seed=1) - 2.0 * sp.identity(240)  # condition number 409
    dense = a.toarray()
    b = np.random.default_rng(5).normal(size=(240, 3))
    exact = np.linalg.solve(dense, b)
    with direct.use_backend("pardiso"):
        f = direct.factor_refined(sp.csr_matrix(a))
        assert isinstance(f, direct.RefinedFactor) and f.factor.single
        assert f.negative == int((np.linalg.eigvalsh(dense) < 0).sum())
        one = f.factor.solve(b)
        assert np.abs(one - exact).max() > 1e-7 * np.abs(exact).max()  # single alone is not
        np.testing.assert_allclose(f.solve(b), exact, rtol=0, atol=1e-9 * np.abs(exact).max())
        f.steps = 3
        np.testing.assert_allclose(f.solve(b), exact, rtol=0, atol=1e-13 * np.abs(exact).max())
    with direct.use_backend("superlu"):
        assert isinstance(direct.factor_refined(sp.csr_matrix(a)), direct.SuperLUFactor)


def test_complex_right_hand_side_of_a_real_factor():
    a = hermitian(150, False, seed=5)
    b = np.random.default_rng(2).normal(size=150) * (1 + 2j)
    for name in BACKENDS:
        with direct.use_backend(name):
            x = direct.factor_hermitian(a).solve(b)
            np.testing.assert_allclose(a @ x, b, rtol=0, atol=1e-9)


def test_pardiso_refuses_complex_indefinite():
    with pytest.raises(ValueError, match="complex Hermitian indefinite"):
        pardiso.PardisoFactor(hermitian(40, True, seed=9))


def test_singular_matrix_is_refused_as_singular():
    """An exactly singular matrix (a zero row block) is refused, never given a wrong count."""
    a = sp.block_diag([hermitian(50, False, seed=7), sp.csr_matrix((3, 3))]).tocsr()
    a = (a + sp.diags(np.r_[np.zeros(50), 0.0, 0.0, 0.0])).tocsr()
    with direct.use_backend("pardiso"), pytest.raises(RuntimeError, match="singular"):
        direct.factor_hermitian(a)


def test_backend_choice(monkeypatch):
    monkeypatch.setenv(direct.ENV, "superlu")
    assert direct.backend() == "superlu"
    monkeypatch.setenv(direct.ENV, "umfpack")
    with pytest.raises(InputError, match="not a sparse solver"):
        direct.backend()
    monkeypatch.setenv(direct.ENV, "pardiso")
    monkeypatch.setattr(pardiso, "available", lambda: False)
    with pytest.raises(InputError, match="install the mkl package"):
        direct.backend()
    monkeypatch.setenv(direct.ENV, "auto")
    assert direct.backend() == "superlu"
