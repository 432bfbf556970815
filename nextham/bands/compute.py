"""Band structure and density of states of a record's Hamiltonian (pure functions + container).

Eigenvalues solve H(k) c = ε S(k) c with the record's own S (canonical orthogonalization,
:func:`nextham.spectra.eigen.generalized_eigvalsh`). The density of states is Gaussian-broadened
on a Γ-centred mesh and counts states per eV per cell *including* spin: scalar records count
each band twice, spinor records once, so ∫ DOS dε = number of electrons that fit in the bands.

Large cells (H(k) larger than :data:`nextham.spectra.largecell.SPARSE_THRESHOLD`, or
``method="sparse"``) take the sparse path: E_F by inertia slicing (the dense mesh value),
``n_bands`` bands around E_F by shift-invert (the dense columns ``first_band:``), and the DOS by
the kernel polynomial method with the same resolution (:mod:`nextham.spectra.largecell`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ase.data import chemical_symbols
from ase.formula import Formula

from nextham.bands.path import BandPath, band_path
from nextham.conventions import electrons_per_level
from nextham.dft.settings import EngineSettings
from nextham.memory import retained_memory
from nextham.record import keys as K
from nextham.spectra.eigen import band_energies, mesh_fermi_level
from nextham.spectra.kspace import gamma_mesh
from nextham.spectra.largecell import (
    CellSpectra,
    band_window,
    sparse_band_energies,
    spectral_method,
)
from nextham.store.atomic import atomic_output


@dataclass
class BandStructure:
    """Bands along a path (eV), DOS, Fermi level; optional reference bands (e.g. DFT)."""

    formula: str
    spinor: bool
    labels: list[str]
    x: list[float]
    special_x: list[float]
    bands: list[list[float]]  # (nk, m) eV
    fermi_level: float
    dos_energy: list[float]
    dos: list[float]  # states / eV / cell, spin included
    source: str = "predicted"
    reference: dict | None = field(default=None)  # {"label", "bands", "fermi_level"}
    method: str = "dense"  # "dense": all bands; "sparse": bands first_band … by shift-invert
    first_band: int = 0  # index of the first band in ``bands`` (0-based, ascending)
    reliability: dict = field(default_factory=dict)  # a prediction's flag report (predict)

    def to_json(self, path: str | Path) -> None:
        """Write all numbers as JSON (atomically)."""
        with atomic_output(Path(path)) as tmp:
            Path(tmp).write_text(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, path: str | Path) -> BandStructure:
        return cls(**json.loads(Path(path).read_text()))

    def to_csv(self, path: str | Path) -> None:
        """One row per k-point: x, then the bands (eV), then the reference bands if any."""
        bands = np.asarray(self.bands)
        cols = [np.asarray(self.x)[:, None], bands]
        numbers = range(self.first_band, self.first_band + bands.shape[1])
        head = ["x_inv_angstrom"] + [f"band{n}_eV" for n in numbers]
        if self.reference is not None:
            ref = np.asarray(self.reference["bands"])
            cols.append(ref)
            head += [f"ref_band{n}_eV" for n in range(ref.shape[1])]
        with atomic_output(Path(path)) as tmp:
            np.savetxt(tmp, np.hstack(cols), delimiter=",", header=",".join(head), comments="")


def density_of_states(
    eps: np.ndarray, energies: np.ndarray, width_ev: float, degeneracy: float
) -> np.ndarray:
    """Gaussian-broadened DOS (states / eV / cell) of mesh eigenvalues ``eps`` (nk, m)."""
    e = np.asarray(eps).ravel()
    g = np.exp(-0.5 * ((energies[:, None] - e[None, :]) / width_ev) ** 2)
    return degeneracy * g.sum(axis=1) / (len(eps) * width_ev * np.sqrt(2 * np.pi))


def band_structure(
    record: dict,
    h_flat: np.ndarray | None = None,
    npoints: int = 120,
    kmesh=(6, 6, 6),
    dos_width_ev: float = 0.1,
    source: str = "predicted",
    path: BandPath | None = None,
    method: str = "auto",
    n_bands: int = 24,
) -> BandStructure:
    """Bands along the standard path, Fermi level and DOS of ``h_flat`` (default: ``HT``).

    ``method``: ``auto`` (sparse above the size threshold), ``dense`` or ``sparse``;
    ``n_bands``: how many bands around E_F the sparse path computes.
    """
    h = record[K.HT] if h_flat is None else h_flat
    path = path or band_path(record[K.CELL], npoints)
    smearing = EngineSettings.from_meta(record[K.META]).smearing_ev
    g = electrons_per_level(bool(record[K.SPINOR]))
    used, first = spectral_method(record, method), 0
    if used == "dense":
        ef, eps_mesh = mesh_fermi_level(record, h, kmesh, smearing)
        bands = band_energies(record, h, path.kpts)
        energies = np.linspace(bands.min() - 1.0, bands.max() + 1.0, 600)
        dos = density_of_states(eps_mesh, energies, dos_width_ev, g)
    else:
        with retained_memory():  # large arrays allocated over and over (nextham.memory)
            spectra = CellSpectra(record, h, gamma_mesh(kmesh))
            kpm = spectra.dos(resolution_ev=dos_width_ev)  # also E_F's first guess at one k
            ef = spectra.fermi_level(smearing)
            first, count = band_window(record, n_bands)
            bands = sparse_band_energies(record, h, path.kpts, first, count, ef)
        lo, hi = kpm.center - kpm.half_width, kpm.center + kpm.half_width
        energies = np.linspace(lo, hi, max(600, int(np.ceil((hi - lo) / (0.25 * dos_width_ev)))))
        dos = kpm.dos(energies)
    symbols = "".join(chemical_symbols[int(z)] for z in record[K.NUMBERS])
    return BandStructure(
        formula=str(Formula(symbols).reduce()[0]),
        spinor=bool(record[K.SPINOR]),
        labels=path.labels,
        x=path.x.tolist(),
        special_x=path.special_x.tolist(),
        bands=bands.tolist(),
        fermi_level=ef,
        dos_energy=energies.tolist(),
        dos=dos.tolist(),
        source=source,
        method=used,
        first_band=first,
    )
