"""Band structure and density of states of a record's Hamiltonian (pure functions + container).

Eigenvalues solve H(k) c = ε S(k) c with the record's own S (canonical orthogonalization,
:func:`nextham.spectra.eigen.generalized_eigvalsh`). The density of states is Gaussian-broadened
on a Γ-centred mesh and counts states per eV per cell *including* spin: scalar records count
each band twice, spinor records once, so ∫ DOS dε = number of electrons that fit in the bands.
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
from nextham.record import keys as K
from nextham.spectra.eigen import band_energies, mesh_fermi_level
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
        head = ["x_inv_angstrom"] + [f"band{n}_eV" for n in range(bands.shape[1])]
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
) -> BandStructure:
    """Bands along the standard path, Fermi level and DOS of ``h_flat`` (default: ``HT``)."""
    h = record[K.HT] if h_flat is None else h_flat
    path = path or band_path(record[K.CELL], npoints)
    smearing = EngineSettings.from_meta(record[K.META]).smearing_ev
    ef, eps_mesh = mesh_fermi_level(record, h, kmesh, smearing)
    bands = band_energies(record, h, path.kpts)
    energies = np.linspace(bands.min() - 1.0, bands.max() + 1.0, 600)
    g = electrons_per_level(bool(record[K.SPINOR]))
    dos = density_of_states(eps_mesh, energies, dos_width_ev, g)
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
    )
