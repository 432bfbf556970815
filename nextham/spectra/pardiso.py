"""Intel MKL PARDISO for Hermitian sparse matrices: LDLᴴ or Cholesky, solves and inertia.

A thin ctypes binding of the ``pardiso`` routine of ``libmkl_rt`` (the ``mkl`` package on
x86-64 Linux): supernodal factorization of the upper triangle with a METIS nested-dissection
ordering, threaded by OpenMP (the GNU layer, so it shares the runtime of PySCF and torch).

Matrix types: real symmetric (``mtype`` −2 indefinite, 2 positive definite) and complex
Hermitian positive definite (4). For the real indefinite type the factorization is
P A Pᵀ = L D Lᵀ with 1×1 and 2×2 Bunch–Kaufman pivots, and PARDISO reports the inertia of D
(``iparm[21]``, ``iparm[22]``): by Sylvester's law the number of negative eigenvalues of A.
Complex Hermitian indefinite matrices (−4) are refused: with Bunch–Kaufman pivots PARDISO
reports no inertia, and with 1×1 pivots only its factors were wrong without a perturbed
pivot reported (H − εS of 512-atom Si at a general k: residual 10³, 1,211 negative
eigenvalues counted of 1,024). A pivot PARDISO had to perturb
(``iparm[13]`` > 0: A numerically singular) makes both the inertia and the solves unreliable,
so it is refused as singular, as is a non-positive pivot of a definite type (error −4).
``single=True`` factors and substitutes in single precision (``iparm[27]``): half the memory
and memory traffic of the factor, the results returned in double precision
(:func:`nextham.spectra.direct.factor_by_size` says where it is used).

:func:`available` says whether the library loads; nothing here is imported unless it does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys

import numpy as np
import scipy.sparse as sp

from nextham.spectra.rhs import split_complex

MTYPES = {(False, False): -2, (False, True): 2, (True, True): 4}
"""PARDISO matrix type of (complex?, positive definite?); complex indefinite is refused."""
THREADING_GNU = 3
"""``MKL_THREADING_GNU`` of ``MKL_Set_Threading_Layer``: OpenMP through libgomp."""
ERRORS = {
    -1: "input inconsistent",
    -2: "not enough memory",
    -3: "reordering problem",
    -4: "zero or negative pivot (singular, or not positive definite)",
    -7: "diagonal matrix is singular",
    -8: "32-bit integer overflow",
    -9: "not enough memory for out-of-core",
}

_LIB: ctypes.CDLL | None = None
_TRIED = False


def _candidates() -> list[str]:
    """Paths of libmkl_rt to try: $NEXTHAM_MKL_RT, the loader's, then the environment's."""
    found = [os.environ.get("NEXTHAM_MKL_RT"), ctypes.util.find_library("mkl_rt")]
    for root in {sys.prefix, sys.base_prefix}:
        found += sorted(glob.glob(os.path.join(root, "lib", "libmkl_rt.so*")), key=len)
    return [p for p in found if p]


def library() -> ctypes.CDLL | None:
    """The loaded ``libmkl_rt`` (GNU threading layer), or None where it cannot be loaded."""
    global _LIB, _TRIED
    if _TRIED:
        return _LIB
    _TRIED = True
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            lib.MKL_Set_Threading_Layer(ctypes.c_int(THREADING_GNU))
            lib.pardiso.restype = None
        except (OSError, AttributeError):
            continue
        _LIB = lib
        break
    return _LIB


def available() -> bool:
    """Whether MKL PARDISO can be used here."""
    return library() is not None


def _iparm(indefinite: bool, single: bool = False) -> np.ndarray:
    """PARDISO's control array: METIS ordering, zero-based CSR, inertia reported; ``single``:
    the factor and the solves in single precision."""
    iparm = np.zeros(64, dtype=np.int32)
    iparm[0] = 1  # no solver defaults
    iparm[1] = 2  # METIS nested dissection
    iparm[7] = 0  # no iterative refinement: these solves are exact to rounding, and it
    # triples a solve's cost
    iparm[9] = 8  # pivot perturbation 1e-8 (counted in iparm[13] and refused)
    iparm[10] = iparm[12] = 1 if indefinite else 0  # scaling and weighted matching
    iparm[20] = 1  # Bunch–Kaufman pivots
    iparm[27] = 1 if single else 0  # single precision: matrix, factor and right-hand sides
    iparm[34] = 1  # zero-based indices
    return iparm


class PardisoFactor:
    """The factorization of a Hermitian CSR matrix ``a`` (M, M): real, or complex and
    positive definite.

    ``definite``: Cholesky (refused unless positive definite), else LDLᵀ with inertia.
    ``single``: factor and substitutions in single precision (half the memory and the memory
    traffic; results still returned as float64 / complex128, accurate to ~1e-7 relative).
    ``negative`` is the number of negative eigenvalues of ``a``; :meth:`solve` solves
    a x = b for b of shape (M,) or (M, r).
    """

    def __init__(self, a: sp.spmatrix, definite: bool = False, single: bool = False):
        lib = library()
        if lib is None:
            raise RuntimeError("MKL PARDISO is not available: install the mkl package")
        self._lib = lib
        self.complex = np.iscomplexobj(a.data)
        if (self.complex, definite) not in MTYPES:
            raise ValueError("PARDISO is not used for complex Hermitian indefinite matrices")
        self.single = single
        self.dtype = np.dtype(np.complex128 if self.complex else np.float64)
        self.work = np.dtype(np.complex64 if self.complex else np.float32) if single else self.dtype
        upper = sp.triu(sp.csr_matrix(a, dtype=self.dtype), format="csr")
        upper = (upper + sp.diags(np.zeros(a.shape[0]), format="csr")).tocsr()  # every diagonal
        upper.sort_indices()
        self.n = a.shape[0]
        self._data = np.ascontiguousarray(upper.data, dtype=self.work)
        self._ia = upper.indptr.astype(np.int32)
        self._ja = upper.indices.astype(np.int32)
        self._mtype = MTYPES[(self.complex, definite)]
        self._pt = np.zeros(64, dtype=np.int64)
        self.iparm = _iparm(not definite, single)
        self._call(12, np.zeros((self.n, 1), self.work))
        if self.iparm[13] > 0:
            self.release()
            raise RuntimeError(f"singular matrix: PARDISO perturbed {self.iparm[13]} pivots")
        self.negative = 0 if definite else int(self.iparm[22])

    def _call(self, phase: int, b: np.ndarray) -> np.ndarray:
        x = np.zeros_like(b)
        err = ctypes.c_int32(0)
        i32 = ctypes.POINTER(ctypes.c_int32)
        self._lib.pardiso(
            self._pt.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
            ctypes.byref(ctypes.c_int32(1)),  # maxfct
            ctypes.byref(ctypes.c_int32(1)),  # mnum
            ctypes.byref(ctypes.c_int32(self._mtype)),
            ctypes.byref(ctypes.c_int32(phase)),
            ctypes.byref(ctypes.c_int32(self.n)),
            self._data.ctypes.data_as(ctypes.c_void_p),
            self._ia.ctypes.data_as(i32),
            self._ja.ctypes.data_as(i32),
            None,  # perm
            ctypes.byref(ctypes.c_int32(b.shape[1])),  # right-hand sides
            self.iparm.ctypes.data_as(i32),
            ctypes.byref(ctypes.c_int32(0)),  # no messages
            b.ctypes.data_as(ctypes.c_void_p),
            x.ctypes.data_as(ctypes.c_void_p),
            ctypes.byref(err),
        )
        if err.value != 0:
            if phase != -1:
                self.release()
            text = ERRORS.get(err.value, "see the MKL PARDISO documentation")
            kind = "singular matrix: " if err.value in (-4, -7) else ""
            raise RuntimeError(f"{kind}PARDISO error {err.value}: {text}")
        return x

    def solve(self, b: np.ndarray) -> np.ndarray:
        """x with a x = b, b of shape (M,) or (M, r)."""
        return self._apply(33, b)

    def forward(self, b: np.ndarray) -> np.ndarray:
        """F b with Fᴴ F = A⁻¹ (the forward substitution of a definite factor: F = L⁻¹ P)."""
        return self._half(331, b)

    def backward(self, b: np.ndarray) -> np.ndarray:
        """Fᴴ b, the backward substitution (:meth:`forward`'s adjoint)."""
        return self._half(333, b)

    def _half(self, phase: int, b: np.ndarray) -> np.ndarray:
        if self._mtype not in (2, 4):
            raise RuntimeError("forward/backward substitutions need a definite factor")
        return self._apply(phase, b)

    def _apply(self, phase: int, b: np.ndarray) -> np.ndarray:
        """One solve phase on b (M,) or (M, r); a complex b of a real factor in two parts."""
        if self._pt is None:
            raise RuntimeError("the factorization was released")
        b = np.asarray(b)

        def same(part: np.ndarray) -> np.ndarray:
            rhs = np.asfortranarray(part.reshape(self.n, -1), dtype=self.work)
            return self._call(phase, rhs).reshape(part.shape).astype(self.dtype, copy=False)

        return split_complex(same, b, self.complex)

    def release(self) -> None:
        """Free PARDISO's memory (also done when the object is collected)."""
        if self._pt is not None and self._pt.any():
            self._call(-1, np.zeros((self.n, 1), self.work))
        self._pt = None

    def __del__(self):
        try:
            self.release()
        except Exception:  # never raise from a finalizer
            pass
