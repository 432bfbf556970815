"""The folded Bloch sums (bvk_ao) and the reference Fock matrix from them (mesh_fock) are
PySCF's own numbers, summed in another order."""

import numpy as np
import pytest
from ase.build import bulk
from pyscf.pbc.dft import numint

from nextham.dft import bvk_ao, engine, kspace_fock, mesh_fock
from nextham.dft.cell import build_cell
from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K
from nextham.spectra import kspace

SETTINGS = EngineSettings(kmesh=(2, 1, 1), overlap_threshold=1e-3, ke_cutoff_ev=300.0)


def _sic():
    atoms = bulk("SiC", "zincblende", a=4.36)
    atoms.positions += np.random.default_rng(1).normal(0, 0.03, atoms.positions.shape)
    return atoms


@pytest.fixture(scope="module")
def cell():
    return build_cell(_sic(), SETTINGS)


def test_on_mesh_and_indices():
    on = kspace.gamma_mesh((3, 4, 1))
    frac = np.concatenate([on, [[0.5, 0.5, 0.5], [0.1, 0.0, 0.0]]])
    assert bvk_ao.on_mesh(frac, (3, 4, 1)).tolist() == [True] * len(on) + [False, False]
    idx = bvk_ao.mesh_indices(on, (3, 4, 1))
    assert sorted(idx.tolist()) == list(range(12))


@pytest.mark.parametrize("deriv", [0, 1])
def test_folded_values_equal_pyscf(cell, deriv):
    coords = cell.get_uniform_grids(cell.mesh)[::7]
    kfrac = np.concatenate([kspace.gamma_mesh((3, 3, 2))[:12], [[0.5, 0.5, 0.5], [0, 0, 0.1]]])
    kpts = cell.get_abs_kpts(kfrac)
    ref = numint.eval_ao_kpts(cell, coords, kpts, deriv=deriv)
    new = bvk_ao.mesh_ao_values(cell, coords, kpts, (3, 3, 2), deriv=deriv)
    for a, b in zip(ref, new):
        assert np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
    # a wrong phase sign (k → −k) is seen
    flipped = bvk_ao.mesh_ao_values(cell, coords, -kpts, (3, 3, 2), deriv=deriv)
    assert max(np.abs(np.asarray(a) - np.asarray(b)).max() for a, b in zip(ref, flipped)) > 1e-3


@pytest.fixture(scope="module")
def scf():
    record, mf = engine.zeroth_step(_sic(), SETTINGS)
    mf.kernel(dm0=mf.nextham_dm0)
    return record, mf


def test_mesh_fock_equals_the_reference_build(scf):
    _, mf = scf
    assert mesh_fock.applies(mf)
    kfrac = kspace.gamma_mesh((3, 3, 3))
    dms = [mf.nextham_dm0, mf.make_rdm1()]
    new = mesh_fock.mesh_fock(mf, dms, (3, 3, 3), kfrac)
    for dm, f in zip(dms, new):
        ref = np.asarray(mf.get_hcore(mf.cell, cell_kpts := mf.cell.get_abs_kpts(kfrac)))
        ref = ref + np.asarray(mf.get_veff(mf.cell, dm, kpts=mf.kpts, kpts_band=cell_kpts))
        assert np.abs(f - ref).max() < 1e-10  # Hartree
    assert np.abs(new[0] - new[1]).max() > 1e-3  # the two densities give two matrices


def test_mesh_fock_refuses_kpoints_off_the_mesh(scf):
    _, mf = scf
    with pytest.raises(ValueError, match="not on the transform mesh"):
        mesh_fock.mesh_fock(mf, [mf.nextham_dm0], (3, 3, 3), np.array([[0.25, 0, 0]] * 8))


def test_label_is_the_same_with_and_without_the_fold(monkeypatch):
    atoms = _sic()
    calls = []
    sweep = mesh_fock.mesh_fock
    monkeypatch.setattr(mesh_fock, "mesh_fock", lambda *a: calls.append(len(a[1])) or sweep(*a))
    fast = compute_record(atoms, SETTINGS)
    assert calls == [2]  # H0 and HT in one folded sweep
    monkeypatch.setattr(kspace_fock, "_fold_mesh", lambda mf, kfrac, tmesh: None)
    slow = compute_record(atoms, SETTINGS)
    for key in (K.S, K.H0, K.HT):
        np.testing.assert_allclose(fast[key], slow[key], rtol=0, atol=1e-8)  # eV
    assert fast[K.META]["spectral_check"]["passed"] == slow[K.META]["spectral_check"]["passed"]


def test_band_fock_equals_the_reference_build_off_the_mesh(scf):
    _, mf = scf
    kabs = mf.cell.get_abs_kpts(np.array([[0.13, 0.27, 0.41], [0.5, 0.21, -0.17], [0, 0, 0]]))
    dm = mf.make_rdm1()
    new = mesh_fock.band_fock(mf, dm, kabs)
    ref = np.asarray(mf.get_hcore(mf.cell, kabs))
    ref = ref + np.asarray(mf.get_veff(mf.cell, dm, kpts=mf.kpts, kpts_band=kabs))
    assert np.abs(new - ref).max() < 1e-10  # Hartree
    assert np.abs(new[0] - new[1]).max() > 1e-3


def test_band_focks_of_several_densities_equal_one_at_a_time(scf):
    """One pass for several densities gives each density's own Fock matrices."""
    _, mf = scf
    kabs = mf.cell.get_abs_kpts(np.array([[0.13, 0.27, 0.41], [0, 0, 0]]))
    dm = np.asarray(mf.make_rdm1())
    other = 0.9 * dm + 0.1 * np.asarray(mf.get_init_guess(key="atom"))
    both = mesh_fock.band_focks(mf, [dm, other], kabs)
    for got, d in zip(both, (dm, other), strict=True):
        assert np.abs(got - mesh_fock.band_fock(mf, d, kabs)).max() < 1e-12  # Hartree
    assert np.abs(both[0] - both[1]).max() > 1e-4


def test_cell_without_nonlocal_projectors(monkeypatch):
    """LiH: no atom has GTH projectors (PySCF's projector sum is then (nk,) zeros); the fold
    still gives PySCF's Fock matrices and the label its blocks."""
    atoms = bulk("LiH", "rocksalt", a=4.0)
    settings = EngineSettings(basis="szv-molopt-sr", kmesh=(1, 1, 1), overlap_threshold=1e-3,
                              ke_cutoff_ev=300.0)  # fmt: skip
    _, mf = engine.zeroth_step(atoms, settings)
    assert mesh_fock.applies(mf)
    kfrac = kspace.gamma_mesh((3, 3, 3))
    (f,) = mesh_fock.mesh_fock(mf, [mf.nextham_dm0], (3, 3, 3), kfrac)
    kabs = mf.cell.get_abs_kpts(kfrac)
    ref = np.asarray(mf.get_hcore(mf.cell, kabs))
    ref = ref + np.asarray(mf.get_veff(mf.cell, mf.nextham_dm0, kpts=mf.kpts, kpts_band=kabs))
    assert np.abs(f - ref).max() < 1e-10
    fast = compute_record(atoms, settings)
    monkeypatch.setattr(kspace_fock, "_fold_mesh", lambda mf, kfrac, tmesh: None)
    slow = compute_record(atoms, settings)
    for key in (K.H0, K.HT):
        np.testing.assert_allclose(fast[key], slow[key], rtol=0, atol=1e-8)  # eV
