"""Sparse H(k), S(k) of flat blocks (scipy CSR) for cells too large for dense matrices.

Same phase convention as :mod:`nextham.spectra.bloch` ("convention II")::

    H(k)_{ab} = Σ_R e^{i 2π k·R} H_ab(R)

with k fractional and R the pair's ``CELL_SHIFT``; atomic positions do not enter the phase.
Same dense layout (atom order; global spin-major rows for spinors, S ⊗ I₂ for the overlap of a
spinor record) as :mod:`nextham.record.flat`.

The CSR structure depends only on the layout, so :class:`BlochPattern` computes it once (COO
indices of every flat entry → sorted, duplicates merged) and each k costs one ``bincount`` of
the phased values into the CSR data array. Memory is proportional to the number of stored
entries (two int64 arrays per flat entry plus the CSR matrix); no dense matrix of the cell is
formed. Matrices are real (float64) where every phase is ±1 and the values are real (Γ and the
zone-boundary points of a scalar record), complex128 otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nextham.errors import InputError
from nextham.record import keys as K
from nextham.record.flat import flat_index
from nextham.record.layout import BlockLayout

REAL_PHASE_TOL = 1e-12
"""Phases whose imaginary parts are all below this are taken as real (k·R half-integers)."""


@dataclass(frozen=True)
class BlochPattern:
    """The CSR structure of Σ_R e^{i 2π k·R} B(R) for one layout, shared by every k.

    Attributes
    ----------
    indptr : (M + 1,) int64 ; indices : (nnz,) int64
        CSR structure of the summed matrix (entries of the same (row, col) from different R
        merged).
    slot : (n_entries,) int64
        Position of each flat entry in the CSR data array.
    edge : (n_entries,) int64
        Pair of each flat entry (its R gives the phase).
    cell_shift : (E, 3) int64
    n_dense : int
        M = N_orb, or 2 N_orb for spinor blocks.
    """

    indptr: np.ndarray
    indices: np.ndarray
    slot: np.ndarray
    edge: np.ndarray
    cell_shift: np.ndarray
    n_dense: int

    @classmethod
    def of(cls, layout: BlockLayout) -> BlochPattern:
        """Pattern of ``layout`` (vectorised over all flat entries, no loop over pairs)."""
        idx = flat_index(layout)
        m = idx.n_dense
        linear = idx.dense_row * m + idx.dense_col
        unique, slot = np.unique(linear, return_inverse=True)
        rows = unique // m
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m))])
        return cls(
            indptr=indptr.astype(np.int64),
            indices=(unique % m).astype(np.int64),
            slot=slot.reshape(-1).astype(np.int64),
            edge=idx.edge,
            cell_shift=np.asarray(layout.cell_shift, dtype=np.int64).reshape(-1, 3),
            n_dense=m,
        )

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def matrix(self, values: np.ndarray, kpt: np.ndarray) -> sp.csr_matrix:
        """Σ_R e^{i 2π k·R} B(R) at one fractional ``kpt`` (3,), CSR (M, M).

        ``values`` (n_entries,) are the flat blocks of this pattern's layout.
        """
        vals = np.asarray(values)
        if vals.shape != self.slot.shape:
            raise ValueError(f"values have shape {vals.shape}, expected {self.slot.shape}")
        k = np.asarray(kpt, dtype=np.float64).reshape(3)
        phase = np.exp(2j * np.pi * (self.cell_shift @ k))
        real = not np.iscomplexobj(vals) and np.abs(phase.imag).max(initial=0) < REAL_PHASE_TOL
        if real:
            contrib = vals.astype(np.float64) * phase.real[self.edge]
            data = np.bincount(self.slot, contrib, minlength=self.nnz)
        else:
            contrib = vals * phase[self.edge]
            re = np.bincount(self.slot, contrib.real, minlength=self.nnz)
            data = re + 1j * np.bincount(self.slot, contrib.imag, minlength=self.nnz)
        shape = (self.n_dense, self.n_dense)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=shape)


def sparse_bloch(values: np.ndarray, layout: BlockLayout, kpt: np.ndarray) -> sp.csr_matrix:
    """Sparse H(k) of flat blocks at one fractional ``kpt`` (3,), CSR (M, M).

    One-off form of :meth:`BlochPattern.matrix`; use :class:`SparseBloch` for many k.
    """
    return BlochPattern.of(layout).matrix(values, kpt)


def spinor_overlap_sparse(s_k: sp.spmatrix) -> sp.csr_matrix:
    """S(k) ⊗ I₂ in global spin-major order: (n, n) → (2n, 2n) block diagonal, CSR."""
    return sp.block_diag((s_k, s_k), format="csr")


class SparseBloch:
    """Sparse H(k), S(k) of one record's Hamiltonian, patterns built once.

    Parameters
    ----------
    record
        Structure record (:mod:`nextham.record.keys`); its S is used.
    h_flat
        Flat Hamiltonian blocks in the layout of ``record[HT]`` (default ``record[HT]``).
    """

    def __init__(self, record: Mapping, h_flat: np.ndarray | None = None):
        h = np.asarray(record[K.HT] if h_flat is None else h_flat)
        self.spinor = bool(record[K.SPINOR])
        self.h_layout = BlockLayout.of(record, K.HT)
        if h.shape != (self.h_layout.n_entries,):
            raise InputError(
                f"the Hamiltonian has {h.size} entries but the record's layout needs "
                f"{self.h_layout.n_entries}; give blocks in the layout of the record's HT"
            )
        self.h_values = h.astype(np.complex128 if np.iscomplexobj(h) else np.float64)
        self.s_values = np.asarray(record[K.S], dtype=np.float64)
        self.h_pattern = BlochPattern.of(self.h_layout)
        self.s_pattern = (  # a scalar H has S's layout: one pattern for both
            self.h_pattern if not self.h_layout.spinor else BlochPattern.of(self.h_layout.scalar())
        )

    @property
    def n_dense(self) -> int:
        """Size M of H(k) (spin included)."""
        return self.h_pattern.n_dense

    def h(self, kpt: np.ndarray) -> sp.csr_matrix:
        """H(k) at one fractional ``kpt`` (3,), CSR (M, M), eV."""
        return self.h_pattern.matrix(self.h_values, kpt)

    def s(self, kpt: np.ndarray) -> sp.csr_matrix:
        """S(k) at one fractional ``kpt`` (3,), CSR (M, M); S ⊗ I₂ for spinor records."""
        s_k = self.s_pattern.matrix(self.s_values, kpt)
        return spinor_overlap_sparse(s_k) if self.spinor else s_k

    def at(self, kpt: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(H(k), S(k)) at one fractional ``kpt``, with a common dtype."""
        h, s = self.h(kpt), self.s(kpt)
        if h.dtype != s.dtype:
            h, s = h.astype(np.complex128), s.astype(np.complex128)
        return h, s


def record_sparse(
    record: Mapping, key: str, kpt: np.ndarray, values: np.ndarray | None = None
) -> sp.csr_matrix:
    """Sparse matrix ``key`` of a record at one fractional ``kpt``, CSR (M, M).

    Sparse twin of :func:`nextham.spectra.bloch.record_bloch` (``K.S`` is expanded to
    S ⊗ I₂ for spinor records; ``values`` replace ``record[key]``).
    """
    vals = np.asarray(record[key] if values is None else values)
    mat = sparse_bloch(vals, BlockLayout.of(record, key), kpt)
    if key == K.S and record[K.SPINOR]:
        return spinor_overlap_sparse(mat)
    return mat
