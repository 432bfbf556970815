"""Reference DFT bands from PySCF: SCF with the engine settings, then ``get_bands`` on a path."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from ase import Atoms

from nextham.conventions import HARTREE_EV
from nextham.dft.settings import EngineSettings
from nextham.spectra.occupations import fermi_level


def dft_bands(atoms: Atoms, settings: EngineSettings, kpts_frac: np.ndarray) -> dict:
    """Self-consistent DFT bands at fractional ``kpts_frac`` (nk, 3).

    Returns ``{"bands": (nk, m) eV, "fermi_level": eV, "label": "DFT (PySCF)"}``. Spin–orbit
    settings evaluate the KGKS Fock matrix at the path k-points with the engine's own band-mesh
    routine (:func:`nextham.dft.engine.fock_on_mesh`) and diagonalize with the spinor overlap.
    """
    # deferred: PySCF loads only when reference bands are asked for (plots of records need none)
    from nextham.dft.cell import build_cell
    from nextham.dft.engine import fock_on_mesh, make_mf

    cell = build_cell(atoms, settings)
    mf = make_mf(cell, settings)
    mf.kernel()
    spinor = settings.spinor
    eigs = [np.asarray(e) * HARTREE_EV for e in mf.mo_energy]
    ef = fermi_level(eigs, float(cell.nelectron), settings.smearing_ev, settings.degeneracy)
    kabs = cell.get_abs_kpts(np.asarray(kpts_frac))
    if not spinor:
        bands = np.asarray(mf.get_bands(kabs)[0]) * HARTREE_EV
    else:
        fk = fock_on_mesh(mf, mf.make_rdm1(), np.asarray(kpts_frac), time_reversal=False)
        sk = [scipy.linalg.block_diag(s, s) for s in cell.pbc_intor("int1e_ovlp", kpts=kabs)]
        bands = np.stack([scipy.linalg.eigvalsh(f, s) for f, s in zip(fk, sk)]) * HARTREE_EV
    return {"bands": bands.tolist(), "fermi_level": float(ef), "label": "DFT (PySCF)"}
