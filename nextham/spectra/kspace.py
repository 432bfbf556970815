"""Pure functions between k-space and real-space (R-space) matrices.

Phase convention (PySCF's): H(k)_{ij} = Σ_R e^{i 2π k·R} H_ij(R), with k in fractional
(reduced) coordinates and R integer lattice translations; atomic positions do not enter the
phase. The inverse over a Γ-centred n1×n2×n3 mesh is exact for every R that is the unique
representative of its class modulo the Born–von Kármán supercell:
H_ij(R) = (1/N_k) Σ_k e^{−i 2π k·R} H(k)_{ij}.
"""

from __future__ import annotations

import numpy as np


def gamma_mesh(n: tuple[int, int, int] | np.ndarray) -> np.ndarray:
    """Γ-centred uniform mesh in fractional coordinates in [0, 1), shape (n1 n2 n3, 3)."""
    axes = [np.arange(int(m)) / int(m) for m in n]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def covering_mesh(shifts: np.ndarray) -> tuple[int, int, int]:
    """Smallest odd mesh whose Born–von Kármán supercell holds every R in ``shifts`` uniquely.

    ``shifts`` (E, 3) integer translations; returns n_a = 2 max|R_a| + 1 per direction.
    """
    rmax = np.abs(np.asarray(shifts)).max(axis=0) if len(shifts) else np.zeros(3, int)
    return tuple(int(2 * r + 1) for r in rmax)


def time_reversal_pairs(kfrac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a mesh closed under k → −k into representatives and partners.

    Returns ``(rep, partner)`` of length N_k: ``rep[q]`` is the index of the representative
    whose value gives k_q (directly if ``rep[q] == q``, else through −k), ``partner[q]`` the
    index of −k_q in the mesh.
    """
    key = {tuple(np.round(k % 1.0, 10)): q for q, k in enumerate(kfrac)}
    partner = np.array([key[tuple(np.round((-k) % 1.0, 10))] for k in kfrac])
    rep = np.minimum(np.arange(len(kfrac)), partner)
    return rep, partner


def phases(kfrac: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """e^{i 2π k·R}, shape (N_k, N_R)."""
    return np.exp(2j * np.pi * np.asarray(kfrac) @ np.asarray(shifts, dtype=float).T)


def k_to_r(hk: np.ndarray, kfrac: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """H(R) for each R in ``shifts`` from H(k) on a full mesh: (N_k, M, M) → (N_R, M, M)."""
    ph = phases(kfrac, shifts).conj() / len(kfrac)
    return np.einsum("kr,kij->rij", ph, hk, optimize=True)


def r_to_k(hr: np.ndarray, shifts: np.ndarray, kfrac: np.ndarray) -> np.ndarray:
    """H(k) from H(R): (N_R, M, M) → (N_k, M, M)."""
    return np.einsum("kr,rij->kij", phases(kfrac, shifts), hr, optimize=True)


def blocks_from_k(
    hk: np.ndarray,
    kfrac: np.ndarray,
    edge_index: np.ndarray,
    cell_shift: np.ndarray,
    row_slices: np.ndarray,
    col_slices: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Fourier-transform only the needed blocks H_ij(R), one R at a time (bounded memory).

    Parameters
    ----------
    hk : (N_k, M, M) complex
        Matrices on a full mesh covering all ``cell_shift``.
    edge_index : (E, 2), cell_shift : (E, 3)
        The pairs (i, j, R) to extract.
    row_slices, col_slices : (natm, 2) or (natm, 2, 2)
        Rows/columns of each atom in ``hk``: ``[start, stop]`` or, for spinor matrices,
        one ``[start, stop]`` per spin (the block is then spin-major).
    """
    col_slices = row_slices if col_slices is None else col_slices
    out: list[np.ndarray | None] = [None] * len(edge_index)
    uniq, inverse = np.unique(np.asarray(cell_shift), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for r, shift in enumerate(uniq):
        hr = k_to_r(hk, kfrac, shift[None])[0]
        for e in np.nonzero(inverse == r)[0]:
            i, j = edge_index[e]
            out[e] = hr[np.ix_(atom_rows(row_slices[i]), atom_rows(col_slices[j]))]
    return out  # type: ignore[return-value]


def atom_rows(sl: np.ndarray) -> np.ndarray:
    """Row indices of one atom from `[start, stop]` or per-spin `[[start, stop], [start, stop]]`."""
    sl = np.asarray(sl)
    if sl.ndim == 1:
        return np.arange(sl[0], sl[1])
    return np.concatenate([np.arange(a, b) for a, b in sl])
