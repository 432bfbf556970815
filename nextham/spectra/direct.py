"""Sparse direct factorizations of Hermitian matrices: solves and inertia, two backends.

Every factorization of the sparse spectra (:mod:`nextham.spectra.slicing`: S(k) for Lanczos
bounds and KPM, H − εS for counts and shift-invert) goes through :func:`factor_hermitian`,
which returns an object with ``solve(b)`` and ``negative`` (the number of negative
eigenvalues, Sylvester's inertia).

Backends
--------
``pardiso``  Intel MKL PARDISO (:mod:`nextham.spectra.pardiso`; the ``mkl`` package, installed
             with nextham on x86-64 Linux): supernodal LDLᵀ / Cholesky with METIS, threaded.
             S(Γ) of a 4,096-atom Si cell (18.4 M entries): 17 s; 10,648 atoms: 130 s.
             Real matrices and definite complex ones (S(k)); complex indefinite ones
             (H − εS at k ≠ Γ) are factored by SuperLU.
``superlu``  scipy's SuperLU restricted to diagonal pivots and a symmetric ordering (always
             there): the same S(Γ) at 4,096 atoms 179 s, at 10⁴ atoms out of reach.
``auto``     PARDISO where it loads, else SuperLU.

``$NEXTHAM_SPARSE_SOLVER`` picks one (default ``auto``); :func:`use_backend` sets it in code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from nextham.errors import InputError
from nextham.spectra import pardiso
from nextham.spectra.rhs import split_complex

BACKENDS = ("auto", "pardiso", "superlu")
ENV = "NEXTHAM_SPARSE_SOLVER"
_override: str | None = None


class Factor(Protocol):
    """A factorization of a Hermitian matrix A: solves and the count of negative eigenvalues."""

    negative: int

    def solve(self, b: np.ndarray) -> np.ndarray: ...


def backend() -> str:
    """The backend in use: ``pardiso`` or ``superlu`` (see the module docstring)."""
    name = _override or os.environ.get(ENV, "auto").strip().lower() or "auto"
    if name not in BACKENDS:
        raise InputError(f"{ENV}={name!r} is not a sparse solver; use one of {', '.join(BACKENDS)}")
    if name == "pardiso" and not pardiso.available():
        raise InputError(
            f"{ENV}=pardiso but MKL PARDISO cannot be loaded; install the mkl package "
            f"(pip install mkl) or set {ENV}=superlu"
        )
    if name == "auto":
        return "pardiso" if pardiso.available() else "superlu"
    return name


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Use backend ``name`` inside the block (tests, benchmarks)."""
    global _override
    if name not in BACKENDS:
        raise InputError(f"{name!r} is not a sparse solver; use one of {', '.join(BACKENDS)}")
    before, _override = _override, name
    try:
        backend()  # refuse an unavailable backend here, not at the first factorization
        yield
    finally:
        _override = before


class SuperLUFactor:
    """SuperLU of a Hermitian A with diagonal pivots and a symmetric fill-reducing permutation
    (``SymmetricMode``, ``diag_pivot_thresh = 0``, minimum degree on AᴴA + A), so
    P A Pᵀ = L U with U = D Lᴴ: the signs of diag(U) are the inertia."""

    def __init__(self, a: sp.spmatrix):
        lu = sla.splu(
            sp.csc_matrix(a),
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True, "Equil": False},
        )
        if not np.array_equal(lu.perm_r, lu.perm_c):
            raise RuntimeError("SuperLU left the diagonal: inertia cannot be read from this LU")
        self._lu = lu
        self.negative = int(np.count_nonzero(lu.U.diagonal().real < 0))

    def solve(self, b: np.ndarray) -> np.ndarray:
        """x with A x = b, b of shape (M,) or (M, r)."""
        b = np.asarray(b)
        lu = self._lu
        return split_complex(
            lambda x: lu.solve(np.asarray(x, dtype=np.result_type(x, lu.U.dtype))),
            b,
            np.iscomplexobj(lu.U.data),
        )


def factor_hermitian(a: sp.spmatrix, definite: bool = False, single: bool = False) -> Factor:
    """Factor the Hermitian sparse matrix ``a`` (M, M) with the current :func:`backend`.

    ``definite``: ``a`` is positive definite (S(k)); PARDISO then uses Cholesky. ``single``:
    PARDISO factors and solves in single precision (SuperLU stays double). A complex
    indefinite ``a`` (H − εS at k ≠ Γ) always goes to SuperLU (:mod:`nextham.spectra.pardiso`
    says why). A singular ``a`` raises RuntimeError with "singular" in its message.
    """
    if backend() == "pardiso" and (definite or not np.iscomplexobj(a.data)):
        return pardiso.PardisoFactor(a, definite, single)
    return SuperLUFactor(a)


REFINE_STEPS = 1
"""Refinement steps of :class:`RefinedFactor`: each gains ~6 digits (H − σS of 4,096-atom Si
at mid-gap, single-precision LDLᵀ: residual 5.5e-5 of b, then 2.1e-10). One is enough for
the block shift-invert Krylov (relative residual 1e-8; its six band edges then equal the
double-precision factor's to 1.4e-11 eV, in 14.6 s against 19.1 s with two steps; with none
it does not converge)."""


class RefinedFactor:
    """A single-precision factor of A with its solves refined in double precision,
    x ← x + F⁻¹(b − A x) (:data:`REFINE_STEPS` times): solves to ~1e-10 relative, a
    factorization of about half the time and memory. ``negative`` is the single factor's
    inertia, that of A unless an eigenvalue of A lies within ~1e-7 ‖A‖ of zero."""

    def __init__(self, a: sp.spmatrix, factor: Factor, steps: int = REFINE_STEPS):
        self.a, self.factor, self.steps = sp.csr_matrix(a), factor, steps
        self.negative = factor.negative

    def solve(self, b: np.ndarray) -> np.ndarray:
        """x with A x = b, b of shape (M,) or (M, r)."""
        x = self.factor.solve(b)
        for _ in range(self.steps):
            x = x + self.factor.solve(b - self.a @ x)
        return x


def factor_refined(a: sp.spmatrix) -> Factor:
    """:func:`factor_hermitian` of ``a`` in single precision with refined solves
    (:class:`RefinedFactor`) where PARDISO factors it, else in double precision."""
    f = factor_hermitian(a, single=True)
    return RefinedFactor(a, f) if getattr(f, "single", False) else f


SINGLE_MIN_LEVELS = 4096
"""Above this many levels the factorizations are single precision (PARDISO): half the memory,
at 4,096-atom Si S(Γ) 10.1 s instead of 17.7 s and H − σS 9.9 s instead of 16.4 s, solves
40 % faster. S(k)'s factor serves only the Lanczos bounds (widened by 5 %) and the KPM's S⁻¹
(a DOS at 0.1 eV), where ~1e-7 relative in the substitutions is far below the stochastic
trace's noise; the solves of H − σS are refined (to ~1e-10, :class:`RefinedFactor`), and
its inertia is exact unless a level lies within ~1e-7 of the spectral width from σ."""


def factor_by_size(a: sp.spmatrix, definite: bool = False) -> Factor:
    """:func:`factor_hermitian` of ``a``, in single precision above :data:`SINGLE_MIN_LEVELS`
    rows: a definite ``a`` (S(k)) as it is, an indefinite one with refined solves
    (:func:`factor_refined`)."""
    if a.shape[0] <= SINGLE_MIN_LEVELS:
        return factor_hermitian(a, definite)
    return factor_hermitian(a, definite, single=True) if definite else factor_refined(a)
