"""The engine's core pseudopotential: PySCF's FFT local part with the analytic nonlocal part."""

import numpy as np
import pytest
from ase.build import bulk
from pyscf.pbc.df import fft as pbc_fft

from nextham.dft import core_pp, engine, gridfock
from nextham.dft.cell import build_cell
from nextham.dft.settings import EngineSettings

KFRAC = np.array([[0.0, 0.0, 0.0], [0.25, 0.1, -0.3]])


def _fftdf(atoms, ke_cutoff_ev: float):
    cell = build_cell(atoms, EngineSettings(ke_cutoff_ev=ke_cutoff_ev))
    return cell, pbc_fft.FFTDF(cell)


def _si():
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions[1] += [0.05, -0.03, 0.02]
    return atoms


def test_local_part_is_pyscfs_where_there_are_no_projectors():
    atoms = bulk("LiH", "rocksalt", a=4.0)  # GTH H and Li: local pseudopotentials only
    cell, df = _fftdf(atoms, 400.0)
    kpts = cell.get_abs_kpts(KFRAC)
    assert not np.any(gridfock.nonlocal_pp(cell, kpts))
    ref = np.asarray(pbc_fft.get_pp(df, kpts))
    np.testing.assert_allclose(core_pp.local_pp(df, kpts), ref, rtol=0, atol=1e-12)


def test_fft_nonlocal_converges_to_the_analytic_one():
    """PySCF's reciprocal-space projector sum approaches the analytic term as the mesh grows;
    the engine's get_pp differs from PySCF's only by that truncation."""
    gaps = []
    for ke in (150.0, 1200.0):
        cell, df = _fftdf(_si(), ke)
        kpts = cell.get_abs_kpts(KFRAC)
        ours = core_pp.analytic_get_pp(df)(kpts)
        gaps.append(np.abs(ours - np.asarray(pbc_fft.get_pp(df, kpts))).max())
    assert gaps[0] > 1e-5  # Hartree: the coarse mesh truncates the projectors
    assert gaps[1] < 0.1 * gaps[0]


def test_shapes_and_the_scf_object():
    cell, df = _fftdf(_si(), 300.0)
    get_pp = core_pp.analytic_get_pp(df)
    nao = cell.nao_nr()
    gamma = get_pp(np.zeros(3))
    assert gamma.shape == (nao, nao) and not np.iscomplexobj(gamma)
    both = get_pp(cell.get_abs_kpts(KFRAC))
    assert both.shape == (2, nao, nao) and np.iscomplexobj(both)
    np.testing.assert_allclose(both[0], gamma, atol=1e-14)
    mf = engine.make_mf(cell, EngineSettings(ke_cutoff_ev=300.0))
    assert core_pp.has_analytic_nonlocal(mf)
    h = np.asarray(mf.get_hcore())
    t = np.asarray(cell.pbc_intor("int1e_kin", 1, 1, mf.kpts))
    expect = core_pp.local_pp(mf.with_df, mf.kpts) + gridfock.nonlocal_pp(cell, mf.kpts) + t
    np.testing.assert_allclose(h, expect, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "symbol, settings, swapped",
    [
        ("Si", EngineSettings(spin="soc", soc_method="gth", basis="szv-molopt-sr"), True),
        ("Pb", EngineSettings(spin="soc", soc_method="ecp"), False),
    ],
)
def test_spin_orbit_runs(symbol, settings, swapped):
    """GTH spin–orbit runs (KGKS) get the analytic V_nl too; a def2/SO-ECP cell has no GTH
    pseudopotential, and nothing is swapped."""
    atoms = bulk(symbol, "fcc", a=4.95)
    mf = engine.make_mf(build_cell(atoms, settings), settings)
    assert core_pp.has_analytic_nonlocal(mf) is swapped
