"""The sparse real-space H0 (grid_pairs, sparse_local, sparse_h0): the same numbers as the
k-space builds, pair by pair, with no whole-cell matrix. Comparisons are made at a general k
(a wrong block, image or phase changes H(k)) and on a record's stored blocks."""

import numpy as np
import pytest
import scipy.linalg
from ase import Atoms
from ase.build import bulk
from pyscf.pbc.dft import multigrid

from nextham.conventions import HARTREE_EV
from nextham.dft import (
    engine,
    grid_box,
    gridfock,
    kspace_fock,
    mesh_fock,
    realspace_grid,
    sad,
    sparse_h0,
)
from nextham.dft.cell import atom_ao_slices, build_cell
from nextham.dft.grid_pairs import GridBoxes, PairTable, potential_blocks
from nextham.dft.pairs import neighbour_pairs, spatial_chunks
from nextham.dft.settings import EngineSettings
from nextham.dft.sparse_local import decontracted, local_pair_blocks
from nextham.record import keys as K
from nextham.record.layout import block_pointers

SETTINGS = EngineSettings(kmesh=(2, 1, 1), overlap_threshold=1e-3, ke_cutoff_ev=300.0)
KFRAC = np.array([[0.13, -0.27, 0.31]])


def _rattled(atoms, seed=1):
    atoms.positions += np.random.default_rng(seed).normal(0, 0.03, atoms.positions.shape)
    return atoms


@pytest.fixture(scope="module")
def sic():
    """SiC (two elements), its SCF object, and every pair within reach of the grid sums."""
    cell = build_cell(_rattled(bulk("SiC", "zincblende", a=4.36)), SETTINGS)
    mf = engine.make_mf(cell, SETTINGS)
    ei, cs = neighbour_pairs(cell, 36.0)
    sl = atom_ao_slices(cell)
    table = PairTable(ei, cs, sl, block_pointers(ei, sl[:, 1] - sl[:, 0]))
    return cell, mf, ei, cs, table


def _at_k(sic, flat, kfrac):
    """H(k) (PySCF's AO order) of flat blocks laid out as the fixture's table."""
    cell, _, ei, cs, table = sic
    sl = atom_ao_slices(cell)
    shape = [(sl[i, 1] - sl[i, 0], sl[j, 1] - sl[j, 0]) for i, j in ei]
    blocks = [flat[table.ptr[e] : table.ptr[e + 1]].reshape(s) for e, s in enumerate(shape)]
    return kspace_fock.bloch_assemble(cell, blocks, kfrac, ei, cs, False)[0]


def test_fft_grid_pair_blocks_equal_pyscfs_integrals(sic):
    cell, mf, _, _, table = sic
    wv = mesh_fock.local_potential(mf, sad.sad_density(mf))  # GGA: four rows
    flat = potential_blocks(GridBoxes(cell, mf.with_df.mesh), wv, table)
    ref = mesh_fock.local_matrices(mf, [wv], np.array([1, 1, 1]))[0, 0]
    assert np.abs(_at_k(sic, flat, np.zeros((1, 3))) - ref).max() < 1e-10
    assert np.abs(ref).max() > 0.1


def test_sparse_multigrid_blocks_equal_the_image_matrices(sic):
    cell, mf, _, _, table = sic
    ni = multigrid.MultiGridNumInt(cell).build()
    v_g = gridfock.local_potential_g(ni, cell, mf.xc, sad.sad_density(mf), mf.kpts)
    flat = local_pair_blocks(ni, cell, v_g, table)
    kabs = cell.get_abs_kpts(KFRAC)
    by_shift, dense_k = realspace_grid.local_matrices(ni, cell, v_g, kabs)
    a = cell.lattice_vectors()
    phases = {r: np.exp(1j * kabs[0] @ (np.asarray(r) @ a)) for r in by_shift}
    ref = dense_k[0] + sum(phases[r] * m for r, m in by_shift.items())
    assert np.abs(_at_k(sic, flat, KFRAC) - ref).max() < 1e-10
    assert np.abs(_at_k(sic, flat, -KFRAC) - ref).max() > 1e-3  # a wrong phase is seen


@pytest.mark.parametrize("slant", [0.0, 4.0])  # orthorhombic and oblique cell
def test_box_integration_equals_the_periodic_image_matrices(monkeypatch, slant):
    """A cluster in a large cell: the diffuse tasks fold products onto themselves (periodic
    mesh), the tight ones fit a box of the mesh (grid_box); both give the image matrices."""
    pos = np.array([[0, 0, 0], [1.9, 0, 0], [0, 1.9, 0], [0, 0, 1.9], [1.9, 1.9, 0]]) + 3.0
    pos += np.random.default_rng(0).normal(0, 0.05, pos.shape)
    lattice = np.array([[13.0, 0, 0], [slant, 12.5, 0], [0, 1.0, 13.0]])
    cell = build_cell(Atoms("SiCSiCSi", positions=pos, cell=lattice, pbc=True), SETTINGS)
    mf = engine.make_mf(cell, SETTINGS)
    ei, cs = neighbour_pairs(cell, 36.0)
    sl = atom_ao_slices(cell)
    table = PairTable(ei, cs, sl, block_pointers(ei, sl[:, 1] - sl[:, 0]))
    calls, fill = [], grid_box._fill
    monkeypatch.setattr(grid_box, "_fill", lambda *a: calls.append(a[7]) or fill(*a))
    ni = multigrid.MultiGridNumInt(cell).build()
    v_g = gridfock.local_potential_g(ni, cell, mf.xc, sad.sad_density(mf), mf.kpts)
    flat = local_pair_blocks(ni, cell, v_g, table)
    assert calls.count(0) and calls.count(3)  # boxes and periodic calls both taken
    kabs = cell.get_abs_kpts(KFRAC)
    by_shift, dense_k = realspace_grid.local_matrices(ni, cell, v_g, kabs)
    a = cell.lattice_vectors()
    ref = dense_k[0] + sum(np.exp(1j * kabs[0] @ (np.asarray(r) @ a)) * m
                           for r, m in by_shift.items())  # fmt: skip
    shape = [(sl[i, 1] - sl[i, 0], sl[j, 1] - sl[j, 0]) for i, j in ei]
    blocks = [flat[table.ptr[e] : table.ptr[e + 1]].reshape(t) for e, t in enumerate(shape)]
    got = kspace_fock.bloch_assemble(cell, blocks, KFRAC, ei, cs, False)[0]
    assert np.abs(got - ref).max() < 1e-10 and np.abs(ref).max() > 0.1


def test_kinetic_and_projector_blocks_equal_kspace(sic):
    cell, _, ei, cs, table = sic
    kabs = cell.get_abs_kpts(KFRAC)
    t = sparse_h0.kinetic_blocks(cell, ei, cs, table.ptr)
    ref_t = np.asarray(cell.pbc_intor("int1e_kin", 1, 1, kabs)).reshape(-1, cell.nao, cell.nao)
    assert np.abs(_at_k(sic, t, KFRAC) - ref_t[0]).max() < 1e-10
    v = sparse_h0.nonlocal_blocks(cell, table)
    ref_v = gridfock.nonlocal_pp(cell, kabs)[0]
    assert np.abs(_at_k(sic, v, KFRAC) - ref_v).max() < 1e-9
    assert np.abs(ref_v).max() > 0.01


@pytest.mark.parametrize("formula", ["Si", "SiC"])
def test_sad_blocks_equal_pyscfs_guess(formula):
    atoms = bulk(formula, "diamond" if formula == "Si" else "zincblende", a=5.43)
    cell = build_cell(_rattled(atoms), SETTINGS)
    mf = engine.make_mf(cell, SETTINGS)
    ref = gridfock.atomic_blocks(cell, sad.sad_density(mf))
    new = sad.sad_blocks(cell, mf.kpts, gridfock.bvk_shifts(cell, mf.kpts))
    assert max(np.abs(a - b).max() for a, b in zip(ref, new)) < 1e-12


def test_zeroth_step_builds_large_cells_from_pairs(monkeypatch):
    """8-atom Si as if it were large: the pair-block H0 equals the k-space multigrid build's
    stored blocks to 1e-8 eV, and the record says which build made it."""
    atoms = _rattled(bulk("Si", "diamond", a=5.43, cubic=True), seed=0)
    settings = EngineSettings(ke_cutoff_ev=300.0)
    kspace_rec, _ = engine.zeroth_step(atoms, settings, h0_method="multigrid")
    monkeypatch.setattr(engine, "SPARSE_H0_MIN_ATOMS", 8)
    pairs_rec, mf = engine.zeroth_step(atoms, settings, h0_method="multigrid", workers=1)
    assert (kspace_rec[K.META]["h0_build"], pairs_rec[K.META]["h0_build"]) == ("k-space", "pairs")
    assert mf.nextham_dm0 is None  # no whole-cell density matrix
    np.testing.assert_array_equal(pairs_rec[K.EDGE_INDEX], kspace_rec[K.EDGE_INDEX])
    assert np.abs(pairs_rec[K.H0] - kspace_rec[K.H0]).max() < 1e-8
    assert np.abs(kspace_rec[K.H0]).max() > 1.0
    ei, cs = pairs_rec[K.EDGE_INDEX], pairs_rec[K.CELL_SHIFT]
    direct = sparse_h0.sparse_h0(mf.cell, mf.xc, mf.kpts, ei, cs) * HARTREE_EV
    np.testing.assert_array_equal(direct, pairs_rec[K.H0])


def test_spatial_chunks_cover_every_atom_once_and_stay_compact():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((3, 3, 3))
    rng = np.random.default_rng(0)
    atoms = atoms[rng.permutation(len(atoms))]  # any atom order
    cell = build_cell(atoms, SETTINGS)
    chunks = spatial_chunks(cell, 16)
    np.testing.assert_array_equal(np.sort(np.concatenate(chunks)), np.arange(len(atoms)))
    assert max(len(c) for c in chunks) == 16
    coords = cell.atom_coords()
    spread = [np.ptp(coords[c], axis=0).max() for c in chunks]  # Bohr
    side = np.linalg.norm(cell.lattice_vectors(), axis=1).max()
    assert np.median(spread) < 0.7 * side  # consecutive indices would span the whole cell


@pytest.mark.parametrize("basis", ["szv", "dzvp-molopt-sr"])
def test_decontraction_per_element_equals_pyscfs(basis):
    """dzvp-molopt-sr shares primitives between shells (PySCF merges them): same cell, same
    contraction matrix as ``decontract_basis(aggregate=True)``, block by block."""
    atoms = _rattled(bulk("SiC", "zincblende", a=4.36).repeat((2, 1, 1)))
    cell = build_cell(atoms, EngineSettings(basis=basis, ke_cutoff_ev=300.0))
    ref_cell, ref = cell.decontract_basis(to_cart=True, aggregate=True)
    pcell, blocks = decontracted(cell)
    np.testing.assert_array_equal(pcell._bas[:, :4], ref_cell._bas[:, :4])
    np.testing.assert_allclose(
        np.concatenate(pcell.bas_exps()), np.concatenate(ref_cell.bas_exps())
    )
    np.testing.assert_allclose(scipy.linalg.block_diag(*blocks), ref, rtol=0, atol=1e-14)
