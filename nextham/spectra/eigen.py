"""Band energies of a record's Hamiltonian: H(k) c = ε S(k) c with canonical orthogonalization.

The record's own S is used, so a prediction and its reference share it and keep the same
states: at every k the m largest S eigenvalues are kept, m being the smallest number above
``s_threshold`` over the k-points (near-linear dependence removed, no inverse of a small
eigenvalue formed).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from nextham.conventions import electrons_per_level
from nextham.record import keys as K
from nextham.spectra.bloch import record_bloch
from nextham.spectra.kspace import gamma_mesh
from nextham.spectra.occupations import fermi_level


def generalized_eigvalsh(h_k: np.ndarray, s_k: np.ndarray, s_threshold: float = 1e-6) -> np.ndarray:
    """Eigenvalues of H c = ε S c per k with canonical orthogonalization, (nk, m) ascending.

    ``h_k``, ``s_k`` (nk, M, M). At every k the m largest S eigenvalues are kept, m being the
    smallest number above ``s_threshold`` over the k-points, so every k has the same number
    of states (prediction and reference share S, hence the same states are dropped).
    """
    decomps = [np.linalg.eigh(0.5 * (s + s.conj().T)) for s in s_k]
    m = min(int((sv > s_threshold).sum()) for sv, _ in decomps)
    out = []
    for h, decomp in zip(h_k, decomps, strict=True):
        x = _canonical(decomp, m)
        h_o = x.conj().T @ h @ x
        out.append(np.linalg.eigvalsh(0.5 * (h_o + h_o.conj().T)))
    return np.stack(out)


def generalized_eigh(
    h: np.ndarray, s: np.ndarray, s_threshold: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (m,) ascending and eigenvectors (M, m) of H c = ε S c at one k, canonical
    orthogonalization as :func:`generalized_eigvalsh` (S eigenvalues above ``s_threshold``);
    the vectors are S-orthonormal, c† S c = 1."""
    sv, su = np.linalg.eigh(0.5 * (s + s.conj().T))
    x = _canonical((sv, su), int((sv > s_threshold).sum()))
    h_o = x.conj().T @ h @ x
    eps, v = np.linalg.eigh(0.5 * (h_o + h_o.conj().T))
    return eps, x @ v


def _canonical(decomp: tuple[np.ndarray, np.ndarray], m: int) -> np.ndarray:
    """X = U_m / √s_m over the m largest eigenvalues of S's eigendecomposition (sv, su)."""
    sv, su = decomp
    keep = np.argsort(sv)[len(sv) - m :]
    return su[:, keep] / np.sqrt(sv[keep])


def band_energies(
    record: Mapping, h_flat: np.ndarray, kpts: np.ndarray, s_threshold: float = 1e-6
) -> np.ndarray:
    """Eigenvalues (nk, m) in eV of ``h_flat`` (layout of ``record[HT]``) at fractional ``kpts``."""
    with torch.no_grad():
        h = np.asarray(h_flat)
        h = h.astype(np.complex128 if np.iscomplexobj(h) else np.float64)
        h_k = record_bloch(record, K.HT, kpts, values=h).numpy()
        s_values = np.asarray(record[K.S], dtype=np.float64)
        s_k = record_bloch(record, K.S, kpts, values=s_values).numpy()
    return generalized_eigvalsh(h_k, s_k, s_threshold)


def mesh_fermi_level(
    record: Mapping, h_flat: np.ndarray, kmesh=(6, 6, 6), smearing_ev: float = 0.1
) -> tuple[float, np.ndarray]:
    """Fermi level (eV) of ``h_flat`` on a Γ-centred mesh, and the mesh eigenvalues (nk, m).

    The electron count is the record's ``META["n_electrons"]``.
    """
    eps = band_energies(record, h_flat, gamma_mesh(kmesh))
    nelec = float(record[K.META]["n_electrons"])
    g = electrons_per_level(bool(record[K.SPINOR]))
    return float(fermi_level(list(eps), nelec, smearing_ev, g)), eps
