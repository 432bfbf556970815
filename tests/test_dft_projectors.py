"""GTH projector terms in real space: scalar V_nl against PySCF, the spin–orbit term's algebra,
and the spinor H0 of ``soc_method='gth'`` (Kramers pairs, time reversal, H0 = H0_scalar ⊗ 1 +
V_SO)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from ase import Atoms
from ase.build import bulk
from pyscf import gto
from pyscf.pbc.gto.pseudo import pp_int

from nextham.conventions import HARTREE_EV, time_reverse_spinor
from nextham.dft import projectors
from nextham.dft.cell import build_cell
from nextham.dft.engine import zeroth_step
from nextham.dft.gth_soc import angular_momentum, ls_matrix, soc_channels, soc_table
from nextham.dft.kspace_fock import bloch_assemble
from nextham.dft.settings import EngineSettings, element_choice
from nextham.record import keys as K
from nextham.record.layout import block_list

KFRAC = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.25, -0.125, 0.375], [0.1, 0.2, 0.3]])
PBTE = bulk("PbTe", "rocksalt", a=6.46)
TINY = {"basis": "szv-molopt-sr", "kmesh": (1, 1, 1), "ke_cutoff_ev": 300.0}


@pytest.mark.parametrize("l", [1, 2, 3])
def test_angular_momentum_algebra(l):
    lx, ly, lz = angular_momentum(l)
    np.testing.assert_allclose(lx @ ly - ly @ lx, 1j * lz, atol=1e-13)
    np.testing.assert_allclose(ly @ lz - lz @ ly, 1j * lx, atol=1e-13)
    np.testing.assert_allclose(lx @ lx + ly @ ly + lz @ lz, l * (l + 1) * np.eye(2 * l + 1),
                               atol=1e-13)  # fmt: skip
    for op in (lx, ly, lz):
        np.testing.assert_allclose(op, op.conj().T, atol=1e-15)
        assert np.abs(op.real).max() == 0  # real harmonics: L is imaginary
    ls = np.linalg.eigvalsh(ls_matrix(l))
    np.testing.assert_allclose(ls, [-(l + 1) / 2] * (2 * l) + [l / 2] * (2 * l + 2), atol=1e-13)


@pytest.mark.parametrize("l", [1, 2, 3])
def test_angular_momentum_acts_on_pyscf_functions(l):
    """L_a φ_n = Σ_m φ_m L_a[m, n] for PySCF's real spherical functions, L = −i r × ∇ applied
    to the basis functions' values and gradients at random points (an independent check of
    the order and signs of PySCF's harmonics)."""
    mol = gto.M(atom="H 0 0 0", basis={"H": [[l, [0.7, 1.0]]]}, spin=1, verbose=0)
    r = np.random.default_rng(l).normal(size=(100, 3))
    val = mol.eval_gto("GTOval_sph_deriv1", r)
    phi, grad = val[0], val[1:]
    cross = np.stack([r[:, 1, None] * grad[2] - r[:, 2, None] * grad[1],
                      r[:, 2, None] * grad[0] - r[:, 0, None] * grad[2],
                      r[:, 0, None] * grad[1] - r[:, 1, None] * grad[0]])  # fmt: skip
    lmat = angular_momentum(l)
    for a in range(3):
        np.testing.assert_allclose(phi @ lmat[a], -1j * cross[a], atol=1e-12)


@pytest.mark.parametrize(
    ("atoms", "basis"), [(bulk("Si", "diamond", a=5.43), "szv"), (PBTE, "szv-molopt-sr")]
)
def test_scalar_blocks_sum_to_pyscf_nonlocal_pp(atoms, basis):
    cell = build_cell(atoms, EngineSettings(basis=basis, ke_cutoff_ev=300.0))
    blocks = projectors.projector_blocks(cell, "scalar")
    kabs = cell.get_abs_kpts(KFRAC)
    ours = projectors.bloch_sum(cell, blocks, kabs, spinor=False)
    ref = np.asarray(pp_int.get_pp_nl(cell, kabs)).reshape(ours.shape)
    assert np.abs(ref).max() > 0.05
    assert np.abs(ours - ref).max() < 1e-9  # Hartree


@pytest.fixture(scope="module")
def pbte_soc():
    cell = build_cell(PBTE, EngineSettings(spin="soc", soc_method="gth", **TINY))
    return cell, projectors.projector_blocks(cell, "soc")


def test_spin_orbit_blocks_hermitian_and_time_reversal_even(pbte_soc):
    _, blocks = pbte_soc
    assert max(np.abs(b).max() for b in blocks.values()) * HARTREE_EV > 0.1
    for (i, j, r), blk in blocks.items():
        partner = blocks[(j, i, tuple(-x for x in r))]
        np.testing.assert_allclose(partner, blk.conj().T, atol=1e-14)
        np.testing.assert_allclose(time_reverse_spinor(blk), blk, atol=1e-14)
    onsite = blocks[(0, 0, (0, 0, 0))]
    n = onsite.shape[0] // 2
    assert np.abs(onsite[:n, :n].real).max() < 1e-14  # L_z S_z: imaginary ↑↑
    assert np.abs(onsite[:n, n:]).max() > 1e-3  # ↑↓ coupling


def test_spin_orbit_matrix_time_reversal_at_k(pbte_soc):
    cell, blocks = pbte_soc
    kabs = cell.get_abs_kpts(np.array([[0.13, 0.27, -0.41], [-0.13, -0.27, 0.41]]))
    v = projectors.bloch_sum(cell, blocks, kabs, spinor=True)
    np.testing.assert_allclose(v[1], time_reverse_spinor(v[0]), atol=1e-14)
    np.testing.assert_allclose(v[0], v[0].conj().T, atol=1e-14)


def test_spin_orbit_vanishes_without_k():
    """H–Be have no spin–orbit coefficients (s-only or local pseudopotentials): no V_SO."""
    table = soc_table()["elements"]
    for symbol in ("H", "He", "Li", "Be"):
        assert table[symbol]["soc"] == {} and soc_channels(symbol) == {}
    atoms = Atoms("LiH", positions=[[0, 0, 0], [2.0, 2.0, 2.0]], cell=np.eye(3) * 4.0, pbc=True)
    settings = EngineSettings(spin="soc", soc_method="gth", **TINY)
    assert projectors.projector_blocks(build_cell(atoms, settings), "soc") == {}
    assert not element_choice(3, settings).spin_orbit and element_choice(82, settings).spin_orbit


def test_package_data_names_its_source():
    data = soc_table()
    assert "GTH_SOC_POTENTIALS" in data["source"] and len(data["source_commit"]) == 40
    assert any("3641" in ref for ref in data["references"]) and not data["mismatches"]
    assert data["elements"]["Pb"]["potential"] == "GTH-PBE-q4"
    np.testing.assert_allclose(soc_channels("Pb")[1][1][0, 0], 0.27466972)


@pytest.fixture(scope="module")
def pbte_h0():
    """S and H0 of PbTe with the GTH spin–orbit term, and the scalar run's H0."""
    soc, mf = zeroth_step(PBTE, EngineSettings(spin="soc", soc_method="gth", **TINY))
    scalar, _ = zeroth_step(PBTE, EngineSettings(**TINY))
    return soc, scalar, mf.cell


def test_spinor_h0_is_scalar_h0_plus_spin_orbit(pbte_h0):
    soc, scalar, cell = pbte_h0
    assert soc[K.SPINOR] and soc[K.META]["elements"]["Pb"]["spin_orbit"]
    assert soc[K.META]["elements"]["Pb"]["basis"] == "gth-szv-molopt-sr"
    np.testing.assert_array_equal(soc[K.EDGE_INDEX], scalar[K.EDGE_INDEX])
    n = np.diff(cell.aoslice_by_atom()[:, 2:4], axis=1).ravel()
    vso = projectors.blocks_for_pairs(projectors.projector_blocks(cell, "soc"),
                                      soc[K.EDGE_INDEX], soc[K.CELL_SHIFT],
                                      lambda i, j: (2 * n[i], 2 * n[j]))  # fmt: skip
    for full, sc, v in zip(block_list(soc, K.H0), block_list(scalar, K.H0), vso):
        np.testing.assert_allclose(full, np.kron(np.eye(2), sc) + v * HARTREE_EV, atol=1e-8)


def _levels(record, cell, kfrac):
    ei, cs = record[K.EDGE_INDEX], record[K.CELL_SHIFT]
    h = bloch_assemble(cell, block_list(record, K.H0), kfrac, ei, cs, True)
    s2 = [np.kron(np.eye(2), b) for b in block_list(record, K.S)]
    s = bloch_assemble(cell, s2, kfrac, ei, cs, True)
    return h, [scipy.linalg.eigh(a, b, eigvals_only=True) for a, b in zip(h, s)]


def test_spinor_h0_kramers_pairs_and_time_reversal(pbte_h0):
    soc, _, cell = pbte_h0
    trim = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.5, 0.5, 0.5]])  # Γ, L, X of fcc
    _, levels = _levels(soc, cell, trim)
    for e in levels:
        np.testing.assert_allclose(e[0::2], e[1::2], atol=1e-8)  # eV
    h, _ = _levels(soc, cell, np.array([[0.13, 0.27, -0.41], [-0.13, -0.27, 0.41]]))
    np.testing.assert_allclose(h[1], time_reverse_spinor(h[0]), atol=1e-10)


def test_spin_orbit_splits_the_p_level_at_gamma(pbte_h0):
    """The triply degenerate Te 5p level at Γ splits into j = 1/2 (one Kramers pair, lower)
    and j = 3/2 (two pairs) around its scalar energy (L·S is traceless)."""
    soc, scalar, cell = pbte_h0
    ei, cs = scalar[K.EDGE_INDEX], scalar[K.CELL_SHIFT]
    hk = bloch_assemble(cell, block_list(scalar, K.H0), np.zeros((1, 3)), ei, cs, False)[0]
    sk = bloch_assemble(cell, block_list(scalar, K.S), np.zeros((1, 3)), ei, cs, False)[0]
    e0 = scipy.linalg.eigh(hk, sk, eigvals_only=True)
    triple = e0[(e0 > 3.0) & (e0 < 5.0)]
    assert len(triple) == 3 and np.ptp(triple) < 1e-3  # cubic, up to the coarse FFT mesh
    e = _levels(soc, cell, np.zeros((1, 3)))[1][0][0::2]
    split = e[np.abs(e - triple[0]) < 1.5]
    assert len(split) == 3 and abs(split[1] - split[2]) < 0.01 and split[1] - split[0] > 0.5
    assert abs(split.mean() - triple[0]) < 0.05


def test_gth_spin_orbit_label_scf_and_checks():
    """A whole label with the GTH spin–orbit term: the KGKS SCF converges with V_SO in its core
    Hamiltonian, the stored HT reproduces PySCF's Fock matrices, passes the spectral check,
    and HT − H0 is the response of a non-magnetic density: spin-diagonal, equal ↑↑ and ↓↓
    blocks, real (V_SO is in both and cancels)."""
    from nextham.dft.label import compute_record

    rec = compute_record(PBTE, EngineSettings(spin="soc", soc_method="gth", **TINY))
    meta = rec[K.META]
    assert meta["scf_converged"] and meta["spectral_check"]["passed"]
    assert meta["roundtrip_error_ht_ev"] < 0.005 and meta["roundtrip_error_h0_ev"] < 0.005
    assert meta[K.ENGINE_SETTINGS]["soc_method"] == "gth"
    for ht, h0 in zip(block_list(rec, K.HT), block_list(rec, K.H0)):
        d, n, m = ht - h0, ht.shape[0] // 2, ht.shape[1] // 2
        assert np.abs(d[:n, m:]).max() < 1e-6 and np.abs(d[n:, :m]).max() < 1e-6
        np.testing.assert_allclose(d[:n, :m], d[n:, m:], atol=1e-6)
        assert np.abs(d.imag).max() < 1e-6


def test_scalar_h0_switches_the_gth_term_off(pbte_h0):
    """``h0_spin_orbit=False`` with the GTH term: H0 is the scalar H0 ⊗ 1 (ΔH then carries the
    whole spin–orbit term), as for the SO-ECPs."""
    _, scalar, _ = pbte_h0
    settings = EngineSettings(spin="soc", soc_method="gth", h0_spin_orbit=False, **TINY)
    off, _ = zeroth_step(PBTE, settings)
    for full, sc in zip(block_list(off, K.H0), block_list(scalar, K.H0)):
        np.testing.assert_allclose(full, np.kron(np.eye(2), sc), atol=1e-8)
