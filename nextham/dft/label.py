"""One label: S, H0, the SCF, HT and the checks of one structure (the engine's entry point).

:func:`compute_record` runs :func:`nextham.dft.engine.zeroth_step` (pairs, S, H0), the SCF
from the SAD density, the transform of the converged Fock matrix to the stored blocks (HT),
and then the two checks every label carries in its metadata: the round-trip error at the SCF
k-points and the spectral check at off-mesh k-points (:mod:`nextham.dft.spectral_check`).
"""

from __future__ import annotations

import time

import numpy as np
from ase import Atoms
from pyscf.dft import libxc
from pyscf.pbc.dft import multigrid

from nextham.conventions import HARTREE_EV
from nextham.dft.ao_cache import cached_ao_values
from nextham.dft.convergence import converge
from nextham.dft.engine import h0_hamiltonian, pin_hcore, screen_scf_grid, zeroth_step
from nextham.dft.kspace_fock import flat_blocks, mesh_blocks, roundtrip_error, transform_blocks
from nextham.dft.sad import sad_density
from nextham.dft.settings import EngineSettings
from nextham.dft.spectral_check import spectral_check
from nextham.record import keys as K
from nextham.record.layout import block_list
from nextham.spectra.occupations import fermi_level


def compute_record(
    atoms: Atoms, settings: EngineSettings, verbose: int = 0, method: str = "reference"
) -> dict:
    """Run the engine on one structure and return its record (see :mod:`nextham.record.keys`).

    ``method`` (:data:`nextham.dft.settings.H0_METHODS`) builds H0, the SCF and HT:
    ``reference`` (PySCF's FFT SCF and its Fock matrix at every k of the transform mesh),
    ``multigrid`` (the SCF with PySCF's multigrid J + V_xc; T and V_nl analytic and the local
    potential of the SAD and of the converged density integrated once and folded straight to
    real space, :mod:`nextham.dft.gridfock`) or ``auto`` (multigrid where it applies and its
    elements are verified). The round-trip errors compare the stored blocks with the SCF's Fock
    matrices; ``META["spectral_check"]`` holds the spectral check (its ``passed`` says whether
    the label is fit to train on). PySCF's orbital values on the grid are computed once per
    grid and k set within the label (:mod:`nextham.dft.ao_cache`).
    """
    cpu0 = time.process_time()
    with cached_ao_values(gradients=libxc.xc_type(settings.xc) == "GGA"):
        record = _label(atoms, settings, verbose, method)
    record[K.META]["cpu_s"] = time.process_time() - cpu0  # CPU time, every thread
    return record


def _label(atoms: Atoms, settings: EngineSettings, verbose: int, method: str) -> dict:
    record, mf = zeroth_step(atoms, settings, verbose=verbose, h0_method=method, defer_h0=True)
    spinor, dm0, tmesh = record[K.SPINOR], mf.nextham_dm0, mf.nextham_tmesh
    dm0 = sad_density(mf) if dm0 is None else dm0  # H0 built as pair blocks: SCF guess here
    edge_index, cell_shift = record[K.EDGE_INDEX], record[K.CELL_SHIFT]
    ht_method = record[K.META]["h0_method"]  # the same resolution as H0's
    if ht_method == "multigrid":
        mf._numint = multigrid.MultiGridNumInt(mf.cell)
    screen_scf_grid(mf)
    t1 = time.perf_counter()
    if not spinor:
        pin_hcore(mf)  # the SCF's core Hamiltonian, reused by the round-trip checks
    scf_info = converge(mf, dm0, settings.max_cycle)
    t_scf = time.perf_counter() - t1
    dm = mf.make_rdm1()
    if mf.nextham_h0_deferred:  # H0 and HT from one folded sweep over the grid
        (h0_blocks, ht_blocks), t_ht = mesh_blocks(
            mf, [dm0, dm], tmesh, edge_index, cell_shift, (settings.h0_spin_orbit, True)
        )
        record[K.H0] = flat_blocks(h0_blocks)
        record[K.META]["time_h0_s"] += t_ht / 2
        t_ht /= 2
    else:
        ht_blocks, t_ht = transform_blocks(mf, dm, tmesh, edge_index, cell_shift, spinor, ht_method)
    record[K.HT] = flat_blocks(ht_blocks)

    eigs = [np.asarray(e) * HARTREE_EV for e in mf.mo_energy]
    nelec = record[K.META]["n_electrons"]
    h0_blocks = block_list(record, K.H0)
    with h0_hamiltonian(mf, settings):
        err_h0 = roundtrip_error(mf, dm0, h0_blocks, edge_index, cell_shift, spinor)
    record[K.META].update(
        {
            "hamiltonian": "dft",
            "fermi_level": fermi_level(eigs, nelec, settings.smearing_ev, settings.degeneracy),
            "scf_converged": bool(mf.converged),
            **scf_info,
            "energy_ev": float(mf.e_tot * HARTREE_EV),
            "eigenvalues": np.asarray(eigs).tolist(),
            "kpts_frac": mf.cell.get_scaled_kpts(mf.kpts).tolist(),
            "time_scf_s": t_scf,
            "time_ht_transform_s": t_ht,
            "ht_method": ht_method,
            "roundtrip_error_h0_ev": err_h0,
            "roundtrip_error_ht_ev": roundtrip_error(
                mf, dm, ht_blocks, edge_index, cell_shift, spinor
            ),
        }
    )
    t2 = time.perf_counter()
    record[K.META]["spectral_check"] = spectral_check(record, mf)
    record[K.META]["time_spectral_check_s"] = time.perf_counter() - t2
    return record
