"""Spectra of large cells from a record: the dense/sparse switch and the sparse path.

Above :data:`SPARSE_THRESHOLD` levels per k-point (the size M of H(k), spin included) the
``auto`` method leaves dense diagonalization (:mod:`nextham.spectra.eigen`, O(M³) time,
O(M²) memory per k) for the sparse path: CSR H(k), S(k) (:mod:`nextham.spectra.sparse`),
the Fermi level and band edges by inertia counting and shift-invert
(:mod:`nextham.spectra.slicing`), a window of bands around E_F by shift-invert, and the
DOS by the kernel polynomial method (:mod:`nextham.spectra.kpm`). Both paths solve the same
pencil; the sparse one assumes S(k) positive definite (the dense one drops directions of S
below its threshold, which only matters for near-linearly-dependent bases).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nextham.conventions import electrons_per_level
from nextham.errors import InputError
from nextham.record import keys as K
from nextham.record.layout import orbital_counts
from nextham.spectra.kpm import KPMDos, kpm_dos
from nextham.spectra.kspace import gamma_mesh
from nextham.spectra.slicing import (
    BandEdges,
    Pencil,
    Slicer,
    band_edges,
    band_edges_near,
    sliced_fermi_level,
)
from nextham.spectra.sparse import SparseBloch

SPARSE_THRESHOLD = 2000
"""``auto`` uses the sparse path when H(k) has more rows than this (spin included)."""
METHODS = ("auto", "dense", "sparse")


def matrix_size(record: Mapping) -> int:
    """Size M of H(k): N_orb, or 2 N_orb for spinor records."""
    return int(orbital_counts(record).sum()) * (2 if record[K.SPINOR] else 1)


def spectral_method(record: Mapping, method: str = "auto") -> str:
    """``"dense"`` or ``"sparse"``: ``method`` itself, or for ``auto`` the size rule."""
    if method not in METHODS:
        raise InputError(f"unknown spectral method {method!r}; use one of {', '.join(METHODS)}")
    if method != "auto":
        return method
    return "sparse" if matrix_size(record) > SPARSE_THRESHOLD else "dense"


def record_pencils(record: Mapping, h_flat: np.ndarray | None, kpts: np.ndarray) -> list[Pencil]:
    """Sparse pencils (H(k), S(k)) of ``h_flat`` (default ``record[HT]``) at ``kpts`` (nk, 3)."""
    bloch = SparseBloch(record, h_flat)
    return [Pencil(*bloch.at(k)) for k in np.asarray(kpts, dtype=float).reshape(-1, 3)]


def _slicer(pencils: list[Pencil]) -> tuple[Slicer, tuple[float, float]]:
    """A slicer over ``pencils`` and bounds holding every level (checked by inertia)."""
    slicer = Slicer(pencils)
    return slicer, slicer.bracket()


def electron_count(record: Mapping) -> float:
    """``META["n_electrons"]`` of a record, refused when missing."""
    meta = record.get(K.META) or {}
    if "n_electrons" not in meta:
        raise InputError("the record has no META['n_electrons']; store the cell's electron count")
    return float(meta["n_electrons"])


def sparse_mesh_fermi_level(
    record: Mapping, h_flat: np.ndarray | None, kmesh=(6, 6, 6), smearing_ev: float = 0.1
) -> float:
    """Fermi level (eV) on a Γ-centred mesh without diagonalizing, equal to
    :func:`nextham.spectra.eigen.mesh_fermi_level`'s (see :func:`sliced_fermi_level`)."""
    slicer, bounds = _slicer(record_pencils(record, h_flat, gamma_mesh(kmesh)))
    g = electrons_per_level(bool(record[K.SPINOR]))
    return sliced_fermi_level(slicer, electron_count(record), smearing_ev, g, bounds)


def sparse_band_edges(
    record: Mapping, h_flat: np.ndarray | None, kpts: np.ndarray, near: float | None = None
) -> BandEdges:
    """VBM, CBM and gap (eV) over ``kpts`` (nk, 3) of the neutral cell, by inertia slicing.

    ``near``: an energy near the gap (e.g. :meth:`KPMDos.fermi_guess` of the electron
    count); with one k-point the edges then come from one factorization at it
    (:func:`~nextham.spectra.slicing.band_edges_near`) instead of a bisection from the
    bounds of the spectrum — the same levels, for a cell where each factorization is dear."""
    pencils = record_pencils(record, h_flat, kpts)
    g = electrons_per_level(bool(record[K.SPINOR]))
    n_occ = electron_count(record) * len(pencils) / g
    if abs(n_occ - round(n_occ)) > 1e-9:
        raise InputError(f"{n_occ} occupied levels is not a whole number: no band edges")
    if near is not None and len(pencils) == 1:
        return band_edges_near(pencils[0], round(n_occ), near)
    slicer, bounds = _slicer(pencils)
    return band_edges(slicer, round(n_occ), bounds)


def band_window(record: Mapping, n_bands: int) -> tuple[int, int]:
    """(first, count): about ``n_bands`` levels centred on the highest occupied one."""
    m = matrix_size(record)
    if n_bands < 1:
        raise InputError(f"ask for at least one band around E_F (got {n_bands})")
    n_occ = int(np.ceil(electron_count(record) / electrons_per_level(bool(record[K.SPINOR]))))
    count = min(n_bands, m)
    first = int(np.clip(n_occ - count // 2, 0, m - count))
    return first, count


def sparse_band_energies(
    record: Mapping,
    h_flat: np.ndarray | None,
    kpts: np.ndarray,
    first: int,
    count: int,
    sigma: float,
) -> np.ndarray:
    """Bands ``first`` … ``first + count − 1`` (0-based, ascending) at ``kpts``, shape
    (nk, count) eV, by shift-invert around ``sigma`` (e.g. the Fermi level); equal to the
    columns ``first:first + count`` of :func:`nextham.spectra.eigen.band_energies`."""
    bloch = SparseBloch(record, h_flat)
    kpts = np.asarray(kpts, dtype=float).reshape(-1, 3)
    return np.stack([Pencil(*bloch.at(k)).by_index(first, count, sigma) for k in kpts])


def sparse_mesh_dos(
    record: Mapping,
    h_flat: np.ndarray | None,
    kmesh=(6, 6, 6),
    resolution_ev: float = 0.1,
    n_vectors: int = 16,
    seed: int = 0,
) -> KPMDos:
    """KPM DOS (states / eV / cell, spin included) of a Γ-centred mesh, equal k weights."""
    pencils = record_pencils(record, h_flat, gamma_mesh(kmesh))
    g = electrons_per_level(bool(record[K.SPINOR]))
    return kpm_dos(pencils, resolution_ev, n_vectors=n_vectors, degeneracy=g, seed=seed)
