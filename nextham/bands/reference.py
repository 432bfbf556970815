"""Reference DFT bands from PySCF: SCF with the engine settings, then ``get_bands`` on a path."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from nextham.conventions import HARTREE_EV
from nextham.dft.settings import EngineSettings
from nextham.spectra.occupations import fermi_level


def dft_bands(atoms: Atoms, settings: EngineSettings, kpts_frac: np.ndarray) -> dict:
    """Self-consistent DFT bands at fractional ``kpts_frac`` (nk, 3).

    Returns ``{"bands": (nk, m) eV, "fermi_level": eV, "label": "DFT (PySCF)"}``; the levels
    are :func:`nextham.dft.kspace_fock.pyscf_levels` (``get_bands``' Fock matrix, scalar or spinor).
    """
    # deferred: PySCF loads only when reference bands are asked for (plots of records need none)
    from nextham.dft.cell import build_cell
    from nextham.dft.engine import make_mf
    from nextham.dft.kspace_fock import pyscf_levels

    cell = build_cell(atoms, settings)
    mf = make_mf(cell, settings)
    mf.kernel()
    eigs = [np.asarray(e) * HARTREE_EV for e in mf.mo_energy]
    ef = fermi_level(eigs, float(cell.nelectron), settings.smearing_ev, settings.degeneracy)
    bands = pyscf_levels(mf, np.asarray(kpts_frac))
    return {"bands": bands.tolist(), "fermi_level": float(ef), "label": "DFT (PySCF)"}
