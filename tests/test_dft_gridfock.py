"""The multigrid H0 build against the engine's FFT reference, and its applicability rules."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from nextham.conventions import HARTREE_EV
from nextham.dft import gridfock
from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf, resolve_h0_method, zeroth_step
from nextham.dft.kspace_fock import fock_on_mesh
from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.predict.inputs import record_atoms
from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.spectra import kspace

SETTINGS = EngineSettings(kmesh=(2, 1, 1), overlap_threshold=1e-3)


@pytest.fixture(scope="module")
def alp():
    """Rattled zincblende AlP (two elements, odd Z) with its cell, SCF object and SAD density."""
    atoms = bulk("AlP", "zincblende", a=5.46)
    atoms.positions += np.random.default_rng(3).normal(0, 0.05, atoms.positions.shape)
    cell = build_cell(atoms, SETTINGS)
    mf = make_mf(cell, SETTINGS)
    return atoms, cell, mf, mf.get_init_guess(key="atom")


def test_multigrid_fock_matches_reference(alp):
    """Same Fock matrices off the SCF mesh as PySCF's FFT get_hcore + get_veff (Hermitian)."""
    _, _cell, mf, dm0 = alp
    kfrac = kspace.gamma_mesh((3, 2, 1))
    ref = fock_on_mesh(mf, dm0, kfrac, time_reversal=False)
    fast = fock_on_mesh(mf, dm0, kfrac, time_reversal=False, method="multigrid")
    assert np.abs(fast - ref).max() * 27.211386 < 3e-4  # eV, out of Fock entries of ~10 eV
    assert np.abs(ref).max() * 27.211386 > 1.0
    assert np.abs(fast - fast.conj().transpose(0, 2, 1)).max() < 1e-12


def test_superposition_density_is_analytic_and_neutral(alp):
    """ρ(G=0) is the valence electron count exactly, Born–von Kármán images of the k-mesh
    included; low-G components match the multigrid density of the same density matrix."""
    from pyscf.pbc.dft import multigrid
    from pyscf.pbc.dft.multigrid.multigrid import _eval_rhoG

    _, cell, mf, dm0 = alp
    blocks = gridfock.atomic_blocks(cell, dm0)
    assert blocks is not None and len(blocks) == cell.natm
    ni = multigrid.MultiGridNumInt(cell).build()
    rho = gridfock.superposition_density_g(cell, blocks, ni.mesh, mf.kpts)
    assert len(gridfock.bvk_shifts(cell, mf.kpts)) > 1  # 2×1×1 mesh: images of each atom count
    assert rho[0].real == pytest.approx(cell.nelectron, abs=1e-8)  # PySCF normalises the guess
    grid = _eval_rhoG(ni, dm0, 1, mf.kpts, 0)[0, 0]
    low = np.linalg.norm(cell.get_Gv(ni.mesh), axis=1) < 3.0
    assert np.abs(rho[low] - grid[low]).max() < 1e-3 * cell.nelectron


@pytest.mark.parametrize("chunk_bytes", [gridfock.SF_CHUNK_BYTES, 1.0])  # one atom at a time
def test_structure_factor_sums_equal_pyscf(alp, monkeypatch, chunk_bytes):
    """Grouped structure factors equal sums of PySCF's per-atom ones, non-orthogonal cell."""
    monkeypatch.setattr(gridfock, "SF_CHUNK_BYTES", chunk_bytes)
    _, cell, _mf, _dm0 = alp
    mesh = (5, 6, 7)
    groups = gridfock.atom_groups(cell)
    assert [cell.atom_symbol(g[0]) for g in groups] == ["Al", "P"]
    per_atom = cell.get_SI(cell.get_Gv(mesh))
    ref = np.stack([per_atom[g].sum(axis=0) for g in groups])
    assert np.abs(gridfock.structure_factor_sums(cell, mesh, groups) - ref).max() < 1e-12
    both = gridfock.structure_factor_sums(cell, mesh, [list(range(cell.natm))])
    assert np.abs(both[0] - per_atom.sum(axis=0)).max() < 1e-12


def test_spherical_atom_on_distinct_g_norms(monkeypatch):
    """A SAD atom's own density from its values on the distinct |G| of a cubic mesh equals
    the transform at every G; a non-spherical block is refused (None) and takes the full
    path."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    cell = build_cell(atoms, SETTINGS)
    mf = make_mf(cell, SETTINGS)
    blocks = gridfock.atomic_blocks(cell, mf.get_init_guess(key="atom"))
    gv = cell.get_Gv((9, 9, 9))
    origin = np.zeros((1, 3))
    radial = gridfock._radial_density_g(cell, 0, blocks[0], gv)
    assert radial is not None
    monkeypatch.setattr(gridfock, "RADIAL_MAX_SHARE", 0.0)  # the full transform at every G
    full = gridfock._atom_density_g(cell, 0, blocks[0], origin, gv)
    assert np.abs(radial - full).max() < 1e-12 * np.abs(full).max()
    assert np.abs(full).max() > 1.0
    lopsided = blocks[0].copy()
    lopsided[1, 1] += 0.5  # p_x fuller than p_y, p_z: not spherical
    monkeypatch.setattr(gridfock, "RADIAL_MAX_SHARE", 0.25)
    assert gridfock._radial_density_g(cell, 0, lopsided, gv) is None


def test_non_superposition_density_falls_back(alp):
    _, cell, _mf, dm0 = alp
    dm = np.array(dm0)
    dm[:, 0, -1] = dm[:, -1, 0] = 0.01  # couples the two atoms
    assert gridfock.atomic_blocks(cell, dm) is None
    dm = np.array(dm0)
    dm[0] *= 1.1  # differs between k-points
    assert gridfock.atomic_blocks(cell, dm) is None


def test_zeroth_step_records_method_and_same_h0(alp):
    atoms = alp[0]
    ref, _ = zeroth_step(atoms, SETTINGS)
    fast, _ = zeroth_step(atoms, SETTINGS, h0_method="multigrid")
    assert ref[K.META]["h0_method"] == "reference"
    assert fast[K.META]["h0_method"] == "multigrid"
    np.testing.assert_array_equal(fast[K.S], ref[K.S])
    assert np.abs(fast[K.H0] - ref[K.H0]).max() < 3e-4
    assert kspace.covering_mesh(fast[K.CELL_SHIFT]) == tuple(fast[K.META]["transform_mesh"])


def test_h0_method_rules(alp):
    si = build_cell(bulk("Si", "diamond", a=5.43), SETTINGS)
    assert resolve_h0_method(si, SETTINGS, "auto") == "multigrid"
    cell = alp[1]
    assert resolve_h0_method(cell, SETTINGS, "auto") == "reference"  # P: not verified
    assert resolve_h0_method(cell, SETTINGS, "multigrid") == "multigrid"
    assert resolve_h0_method(cell, SETTINGS, "reference") == "reference"
    soc = EngineSettings(spin="soc", kmesh=(1, 1, 1))
    assert resolve_h0_method(cell, soc, "auto") == "reference"
    with pytest.raises(ValueError, match="use 'reference'"):
        resolve_h0_method(cell, soc, "multigrid")
    with pytest.raises(ValueError, match="h0_method must be one of"):
        resolve_h0_method(cell, SETTINGS, "fast")
    assert not gridfock.applies(cell, "tpss")  # meta-GGA: not in the multigrid path
    bn = build_cell(bulk("BN", "zincblende", a=3.62), SETTINGS)
    assert gridfock.applies(bn, "pbe") and not gridfock.verified(bn, SETTINGS.basis)
    assert resolve_h0_method(bn, SETTINGS, "auto") == "reference"  # B, N: not verified
    assert resolve_h0_method(bn, SETTINGS, "multigrid") == "multigrid"  # the user's choice
    si = build_cell(bulk("Si", "diamond", a=5.43), SETTINGS)
    assert resolve_h0_method(si, SETTINGS, "auto") == "multigrid"  # verified in gth-szv
    molopt = EngineSettings(kmesh=(2, 1, 1), overlap_threshold=1e-3, basis="szv-molopt-sr")
    si_molopt = build_cell(bulk("Si", "diamond", a=5.43), molopt)
    assert resolve_h0_method(si_molopt, molopt, "auto") == "reference"  # not in that basis


@pytest.fixture(scope="module")
def si8():
    """Rattled cubic Si8: a mesh large enough for several multigrid tasks (real-space part)."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.positions += np.random.default_rng(4).normal(0, 0.05, atoms.positions.shape)
    settings = EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-3)
    cell = build_cell(atoms, settings)
    mf = make_mf(cell, settings)
    return atoms, cell, mf, mf.get_init_guess(key="atom"), settings


def test_realspace_matrices_match_pyscf_multigrid(si8):
    """Per-image matrices with Bloch phases reproduce PySCF's own multigrid k-matrices."""
    from pyscf.pbc.dft import multigrid
    from pyscf.pbc.dft.multigrid.multigrid import _get_j_pass2

    from nextham.dft.realspace_grid import local_matrices

    _, cell, mf, dm0, _ = si8
    ni = multigrid.MultiGridNumInt(cell).build()
    assert sum(sparse is not None for _, sparse in ni.tasks) >= 2
    v_g = gridfock.local_potential_g(ni, cell, mf.xc, dm0, mf.kpts)
    kband = cell.get_abs_kpts(kspace.gamma_mesh((2, 2, 1)) + 0.1)
    by_shift, total = local_matrices(ni, cell, v_g, kband, precision=None)
    assert len(by_shift) > 1
    for shift, mat in by_shift.items():
        phase = np.exp(1j * kband @ (np.asarray(shift) @ cell.lattice_vectors()))
        total = total + phase[:, None, None] * mat
    ref = np.asarray(_get_j_pass2(ni, v_g, 1, kband)[0])
    assert np.abs(total - ref).max() < 1e-10
    assert np.abs(ref).max() > 0.1


def test_image_screening_keeps_every_contribution(si8, monkeypatch):
    """Skipping images that ``reachable_images`` rules out changes no matrix element."""
    from pyscf.pbc.dft import multigrid

    from nextham.dft import realspace_grid

    _, cell, mf, dm0, _ = si8
    ni = multigrid.MultiGridNumInt(cell).build()
    v_g = gridfock.local_potential_g(ni, cell, mf.xc, dm0, mf.kpts)
    kept = []
    screen = realspace_grid.reachable_images

    def spy(*args):
        mask = screen(*args)
        kept.append(mask.mean())
        return mask

    monkeypatch.setattr(realspace_grid, "reachable_images", spy)
    fast, _ = realspace_grid.local_matrices(ni, cell, v_g, np.zeros((1, 3)))
    assert min(kept) < 1  # some images are skipped
    every = lambda t_cell, shls, ls, log_prec: np.ones(len(ls), dtype=bool)  # noqa: E731
    monkeypatch.setattr(realspace_grid, "reachable_images", every)
    full, _ = realspace_grid.local_matrices(ni, cell, v_g, np.zeros((1, 3)))
    assert fast.keys() == full.keys()
    assert all(np.array_equal(fast[k], full[k]) for k in full)


def test_default_grid_precision_is_within_budget(si8):
    """The looser default screening moves no local-potential matrix element by 1 µeV."""
    from pyscf.pbc.dft import multigrid

    from nextham.dft.realspace_grid import local_matrices

    _, cell, mf, dm0, _ = si8
    ni = multigrid.MultiGridNumInt(cell).build()
    v_g = gridfock.local_potential_g(ni, cell, mf.xc, dm0, mf.kpts)
    exact, _ = local_matrices(ni, cell, v_g, np.zeros((1, 3)), precision=None)
    fast, _ = local_matrices(ni, cell, v_g, np.zeros((1, 3)))
    zero = np.zeros_like(exact[(0, 0, 0)])
    worst = max(np.abs(fast.get(s, zero) - m).max() for s, m in exact.items())
    assert worst * HARTREE_EV < 1e-6


def test_realspace_blocks_equal_reference_h0(si8):
    """H0 blocks with the real-space local part (folded onto the transform mesh) equal the
    engine's k-space reference."""
    atoms, _, _, _, settings = si8
    ref, _ = zeroth_step(atoms, settings)
    fast, _ = zeroth_step(atoms, settings, h0_method="multigrid")
    assert np.abs(fast[K.H0] - ref[K.H0]).max() < 3e-4


@pytest.mark.parametrize("formula, a", [("AlP", 5.46), ("GaAs", 5.65)])
def test_nonlocal_pp_equals_pyscf(formula, a):
    """The grouped contraction of the GTH projectors gives PySCF's get_pp_nl (s, p, d
    projectors with one to three channels)."""
    from pyscf.pbc.gto.pseudo import pp_int

    cell = build_cell(bulk(formula, "zincblende", a=a), SETTINGS)
    kpts = cell.get_abs_kpts(kspace.gamma_mesh((3, 2, 1)) + 0.05)
    ref = np.asarray(pp_int.get_pp_nl(cell, kpts))
    assert np.abs(gridfock.nonlocal_pp(cell, kpts) - ref).max() < 1e-12
    assert np.abs(ref).max() > 0.1


def test_multigrid_label_matches_reference(si_record, si_settings):
    """A whole label by the multigrid path (multigrid SCF, H0 and HT folded straight to real
    space) equals the reference label within 0.1 meV per entry."""
    atoms = record_atoms(si_record)
    fast = compute_record(atoms, si_settings, method="multigrid")
    assert (fast[K.META]["h0_method"], fast[K.META]["ht_method"]) == ("multigrid", "multigrid")
    assert si_record[K.META]["ht_method"] == "reference"
    for key in (K.H0, K.HT):
        assert np.abs(fast[key] - si_record[key]).max() < 1e-4
    assert fast[K.META]["roundtrip_error_ht_ev"] < si_record[K.META]["roundtrip_error_ht_ev"] + 1e-4
    assert abs(fast[K.META]["energy_ev"] - si_record[K.META]["energy_ev"]) < 1e-3
    for key in (K.H0, K.HT):  # Hermitian: the block of (j, i, −R) is that of (i, j, R) transposed
        blocks = dict(iter_blocks(fast, key))
        for (i, j, *r), block in blocks.items():
            partner = blocks[(j, i, *(-np.asarray(r)).tolist())]
            assert np.abs(partner - block.T).max() < 1e-10
