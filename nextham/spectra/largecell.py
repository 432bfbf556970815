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
GUESS_VECTORS = 4
"""Random vectors of the KPM DOS that only places E_F's first factorization
(:meth:`CellSpectra.fermi_guess`)."""


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


def electron_count(record: Mapping) -> float:
    """``META["n_electrons"]`` of a record, refused when missing."""
    meta = record.get(K.META) or {}
    if "n_electrons" not in meta:
        raise InputError("the record has no META['n_electrons']; store the cell's electron count")
    return float(meta["n_electrons"])


class CellSpectra:
    """The sparse spectra of one Hamiltonian at a set of k-points (equal weights): the
    pencils, S(k)'s factorization and the KPM DOS are made once and shared by the DOS, the
    band edges and the Fermi level.

    With one k-point (a large cell's Γ) the band edges come from one factorization at the
    KPM estimate of E_F (:meth:`KPMDos.fermi_guess`, :func:`band_edges_near`) instead of a
    bisection over the spectrum, which needs one factorization per step.
    """

    def __init__(self, record: Mapping, h_flat: np.ndarray | None, kpts: np.ndarray):
        self.record = record
        self.pencils = record_pencils(record, h_flat, kpts)
        self.slicer = Slicer(self.pencils)
        self.degeneracy = electrons_per_level(bool(record[K.SPINOR]))
        self._dos: dict[tuple, KPMDos] = {}
        self._edges: dict[tuple, BandEdges] = {}

    def dos(self, resolution_ev: float = 0.1, n_vectors: int = 16, seed: int = 0) -> KPMDos:
        """KPM DOS (states / eV / cell, spin included), see :func:`kpm_dos`."""
        key = (resolution_ev, n_vectors, seed)
        if key not in self._dos:
            self._dos[key] = kpm_dos(
                self.pencils, resolution_ev, n_vectors=n_vectors, degeneracy=self.degeneracy,
                seed=seed,
            )  # fmt: skip
        return self._dos[key]

    def fermi_guess(self) -> float | None:
        """The KPM estimate of E_F (an existing DOS, else one at 0.1 eV with
        :data:`GUESS_VECTORS` vectors) where there is one k-point, else None (the bisection
        needs none). A guess off the gap costs more levels in :meth:`band_edges`, not
        accuracy."""
        if len(self.pencils) != 1:
            return None
        dos = next(iter(self._dos.values())) if self._dos else self.dos(n_vectors=GUESS_VECTORS)
        return dos.fermi_guess(electron_count(self.record))

    def n_occupied(self) -> int:
        """Occupied levels over all k-points of the neutral cell."""
        n_occ = electron_count(self.record) * len(self.pencils) / self.degeneracy
        if abs(n_occ - round(n_occ)) > 1e-9:
            raise InputError(f"{n_occ} occupied levels is not a whole number: no band edges")
        return round(n_occ)

    def band_edges(self, near: float | None = None, n_occ: int | None = None) -> BandEdges:
        """VBM, CBM and gap (eV): levels ``n_occ`` and ``n_occ`` + 1 (default
        :meth:`n_occupied`); ``near``: an energy near the gap (one k-point), default
        :meth:`fermi_guess`."""
        near = self.fermi_guess() if near is None else near
        n_occ = self.n_occupied() if n_occ is None else n_occ
        if (near, n_occ) not in self._edges:
            if near is not None and len(self.pencils) == 1:
                self.pencils[0].drop_s_factor()  # S's factor and H − σS's not held together
                edges = band_edges_near(self.pencils[0], n_occ, near)
            else:
                edges = band_edges(self.slicer, n_occ, self.slicer.bracket())
            self._edges[(near, n_occ)] = edges
        return self._edges[(near, n_occ)]

    def fermi_level(self, smearing_ev: float) -> float:
        """E_F as :func:`sliced_fermi_level` (mid-gap for an insulator; the levels of an odd
        electron count are rounded as there)."""
        n_e = electron_count(self.record)
        n_occ = round(n_e * len(self.pencils) / self.degeneracy)
        edges = None
        if len(self.pencils) == 1 and 0 < n_occ < self.slicer.n_states:
            edges = self.band_edges(n_occ=n_occ)
        return sliced_fermi_level(self.slicer, n_e, smearing_ev, self.degeneracy, edges=edges)

    def summary(self) -> dict:
        """What was found, for a record's META: ``band_edges_ev`` (vbm, cbm, gap) and
        ``kpm_dos`` (:meth:`KPMDos.to_dict`) where computed at one k-point, else empty."""
        out = {}
        if len(self.pencils) == 1 and self._edges:
            edges = next(iter(self._edges.values()))
            out["band_edges_ev"] = {"vbm": edges.vbm, "cbm": edges.cbm, "gap": edges.gap}
        if len(self.pencils) == 1 and self._dos:
            (res, n_vectors, _), dos = next(iter(self._dos.items()))
            out["kpm_dos"] = {**dos.to_dict(), "resolution_ev": res, "n_vectors": n_vectors}
        return out


def sparse_mesh_fermi_level(
    record: Mapping, h_flat: np.ndarray | None, kmesh=(6, 6, 6), smearing_ev: float = 0.1
) -> float:
    """Fermi level (eV) on a Γ-centred mesh without diagonalizing, equal to
    :func:`nextham.spectra.eigen.mesh_fermi_level`'s (see :class:`CellSpectra`)."""
    return CellSpectra(record, h_flat, gamma_mesh(kmesh)).fermi_level(smearing_ev)


def sparse_band_edges(
    record: Mapping, h_flat: np.ndarray | None, kpts: np.ndarray, near: float | None = None
) -> BandEdges:
    """VBM, CBM and gap (eV) over ``kpts`` (nk, 3) of the neutral cell, by inertia slicing
    (:meth:`CellSpectra.band_edges`): with one k-point from one factorization near the gap
    (``near``, default the KPM estimate of E_F), with several by bisecting the count."""
    return CellSpectra(record, h_flat, kpts).band_edges(near)


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
    return CellSpectra(record, h_flat, gamma_mesh(kmesh)).dos(resolution_ev, n_vectors, seed)
