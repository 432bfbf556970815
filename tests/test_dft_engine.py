"""The engine against PySCF itself: real-space S, the Fourier transform, the round trip."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from nextham.conventions import HARTREE_EV
from nextham.dft.cell import atom_ao_slices, build_cell
from nextham.dft.label import compute_record
from nextham.dft.pairs import select_pairs
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.spectra import kspace


def test_real_space_overlap_matches_fourier_transform_of_pyscf_sk():
    """S_ij(R) computed directly equals the transform of PySCF's S(k) over a covering mesh."""
    atoms = bulk("Si", "diamond", a=5.43)
    cell = build_cell(atoms, EngineSettings())
    ei, cs, s_blocks = select_pairs(cell, overlap_threshold=1e-4)
    kfrac = kspace.gamma_mesh(np.array(kspace.covering_mesh(cs)) + 2)  # margin against aliasing
    sk = np.asarray(cell.pbc_intor("int1e_ovlp", kpts=cell.get_abs_kpts(kfrac)))
    ft = kspace.blocks_from_k(sk, kfrac, ei, cs, atom_ao_slices(cell))
    err = max(np.abs(a - b).max() for a, b in zip(ft, s_blocks))
    assert err < 1e-5  # bounded by the overlap of pairs outside the enlarged supercell


def _all_image_pairs(cell, threshold):
    """Independent selection: overlap of the home cell with every image in a wide box."""
    from pyscf import gto as molgto
    from pyscf.pbc.tools import pbc as pbctools

    nimg = np.array([3, 3, 3])
    shifts = np.stack(np.meshgrid(*[np.arange(-3, 4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    s = molgto.intor_cross("int1e_ovlp", cell, pbctools.cell_plus_imgs(cell, nimg))
    s = s.reshape(cell.nao_nr(), len(shifts), cell.nao_nr())
    sl = atom_ao_slices(cell)
    found = {}
    for r, shift in enumerate(shifts):
        for i, (a0, a1) in enumerate(sl):
            for j, (b0, b1) in enumerate(sl):
                block = s[a0:a1, r, b0:b1]
                if np.abs(block).max() > threshold or (i == j and not shift.any()):
                    found[(i, j, *map(int, shift))] = block
    return found


def test_pair_selection_equals_exhaustive_search():
    """Screening by distance keeps exactly the pairs (and blocks) of a search over all images."""
    atoms = bulk("GaAs", "zincblende", a=5.65) * (2, 1, 1)  # two AO widths (Ga 9, As 4)
    atoms.positions += np.random.default_rng(2).normal(0, 0.05, atoms.positions.shape)
    cell = build_cell(atoms, EngineSettings())
    ei, cs, blocks = select_pairs(cell, overlap_threshold=1e-5)
    got = {(int(i), int(j), *map(int, r)): b for (i, j), r, b in zip(ei, cs, blocks)}
    ref = _all_image_pairs(cell, 1e-5)
    assert got.keys() == ref.keys() and len(got) > 100
    assert all(np.array_equal(got[k], ref[k]) for k in ref)


def test_pairs_symmetric_and_self(si_record):
    ei, cs = si_record[K.EDGE_INDEX], si_record[K.CELL_SHIFT]
    keys = {(int(i), int(j), *map(int, r)) for (i, j), r in zip(ei, cs)}
    assert all((j, i, -a, -b, -c) in keys for i, j, a, b, c in keys)
    assert all((i, i, 0, 0, 0) in keys for i in range(len(si_record[K.NUMBERS])))


@pytest.mark.parametrize("key", [K.S, K.H0, K.HT])
def test_blocks_hermitian_partner(si_record, key):
    blocks = dict(iter_blocks(si_record, key))
    for (i, j, a, b, c), blk in blocks.items():
        assert np.allclose(blocks[(j, i, -a, -b, -c)], blk.conj().T, atol=1e-8)


def test_record_physics_and_metadata(si_record):
    meta = si_record[K.META]
    assert meta["scf_converged"]
    assert meta["transform_mesh"] == list(kspace.covering_mesh(si_record[K.CELL_SHIFT]))
    # SCF changed the Hamiltonian, but H0 is already close (both are Kohn–Sham matrices)
    dh = np.abs(si_record[K.HT] - si_record[K.H0]).max()
    assert 1e-3 < dh < 5.0
    eigs = np.asarray(meta["eigenvalues"])
    n_occ = int(meta["n_electrons"]) // 2
    assert eigs[:, n_occ - 1].max() <= meta["fermi_level"] <= eigs[:, n_occ].min()
    for k in ("pyscf_version", "nextham_version", "time_h0_s", "time_scf_s", "elements"):
        assert k in meta
    assert meta["elements"]["Si"]["basis"] == "gth-szv"


def test_roundtrip_reproduces_pyscf_fock_at_scf_kpoints():
    """With a tight pair threshold, Σ_R e^{ikR} H(R) equals PySCF's Fock matrix at the SCF k."""
    atoms = bulk("Si", "diamond", a=5.43)
    rec = compute_record(atoms, EngineSettings(kmesh=(2, 1, 1), overlap_threshold=1e-5))
    assert rec[K.META]["roundtrip_error_ht_ev"] < 5e-3
    assert rec[K.META]["roundtrip_error_h0_ev"] < 5e-3


def test_h0_is_pyscf_fock_of_sad_density(si_record, si_settings):
    """The stored on-site block of H0 at Γ-only sampling matches get_fock(dm=SAD) directly."""
    from nextham.dft.engine import make_mf

    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions += np.random.default_rng(0).normal(0, 0.03, atoms.positions.shape)
    cell = build_cell(atoms, si_settings)
    mf = make_mf(cell, si_settings)
    f = np.asarray(mf.get_fock(dm=mf.get_init_guess(key="atom")))[0] * HARTREE_EV
    # Γ-point Fock = Σ_R H(R); compare the full sum (includes pairs beyond the threshold)
    blocks = dict(iter_blocks(si_record, K.H0))
    sl = atom_ao_slices(cell)
    gamma = np.zeros_like(f.real)
    for (i, j, *_), blk in blocks.items():
        gamma[sl[i, 0] : sl[i, 1], sl[j, 0] : sl[j, 1]] += blk
    assert np.abs(gamma - f.real).max() < 0.5  # threshold 1e-3 truncation
    assert np.abs(gamma - f.real).max() == pytest.approx(
        si_record[K.META]["roundtrip_error_h0_ev"], rel=1e-6
    )


@pytest.mark.parametrize("spin", ["scalar", "soc"])
def test_element_table_resolves_to_library_bases(spin):
    """Every supported element gets a basis and pseudopotential that PySCF's library has."""
    from pyscf import gto

    from nextham.dft.settings import element_choice

    settings = EngineSettings(spin=spin)
    for z in [*range(1, 57), *range(72, 84)]:
        choice = element_choice(z, settings)
        assert gto.basis.load(choice.basis, choice.symbol)
        if choice.ecp:
            assert gto.basis.load_ecp(choice.ecp, choice.symbol)
    with pytest.raises(ValueError, match="no GTH basis"):
        element_choice(64, EngineSettings())  # Gd


def test_kspacing_gives_each_cell_its_mesh():
    """k-spacing: the primitive and the cubic Si cell sample the zone alike, and the SCF object
    gets the mesh; settings stored before the option still compare equal to a fixed mesh."""
    from nextham.dft.engine import make_mf
    from nextham.dft.settings import kmesh_from_spacing

    prim, cubic = bulk("Si", "diamond", a=5.43), bulk("Si", "diamond", a=5.43, cubic=True)
    # |b| = 2π√3/a = 2.004 Å⁻¹ (primitive), 2π/a = 1.157 Å⁻¹ (cubic)
    assert kmesh_from_spacing(prim.cell.array, 0.55) == (4, 4, 4)
    assert kmesh_from_spacing(cubic.cell.array, 0.55) == (3, 3, 3)
    assert kmesh_from_spacing(cubic.cell.array, 2 * np.pi / 5.43 / 2) == (2, 2, 2)  # exact
    assert kmesh_from_spacing(cubic.repeat((1, 1, 4)).cell.array, 1.0) == (2, 2, 1)
    settings = EngineSettings(kspacing=0.55)
    mf = make_mf(build_cell(cubic, settings), settings)
    assert len(mf.kpts) == 27
    assert settings.kmesh_for(prim.cell.array) == (4, 4, 4)
    assert EngineSettings().kmesh_for(prim.cell.array) == (2, 2, 2)
    old = {k: v for k, v in EngineSettings().to_dict().items() if k != "kspacing"}
    assert EngineSettings.from_dict(old) == EngineSettings()
    assert EngineSettings.from_dict(old) != settings
    with pytest.raises(ValueError, match="kspacing"):
        EngineSettings(kspacing=0.0)


def test_pairs_of_atoms_outside_the_cell_and_chunked_integrals():
    """An atom given outside the cell (on a face, and a lattice vector away) gets the same
    pairs and blocks as the exhaustive search; integrals in chunks of one home atom equal one
    chunk; the kinetic blocks Bloch-sum to PySCF's T(k) (phases and offsets)."""
    from nextham.dft.pairs import neighbour_pairs, overlap_reach_bohr, pair_blocks

    atoms = bulk("Si", "diamond", a=5.43) * (2, 1, 1)
    atoms.positions[0] += atoms.cell[0] * 1.0  # a lattice vector away: frac x = 2, y = z = 0
    atoms.positions[1] -= atoms.cell[2] * 0.3
    cell = build_cell(atoms, EngineSettings())
    ei, cs, blocks = select_pairs(cell, overlap_threshold=1e-5)
    got = {(int(i), int(j), *map(int, r)): b for (i, j), r, b in zip(ei, cs, blocks)}
    ref = _all_image_pairs(cell, 1e-5)
    assert got.keys() == ref.keys() and all(np.array_equal(got[k], ref[k]) for k in ref)
    t1 = pair_blocks(cell, ei, cs, "int1e_kin", chunk=1)
    t4 = pair_blocks(cell, ei, cs, "int1e_kin", chunk=4)
    assert all(np.array_equal(a, b) for a, b in zip(t1, t4))
    ei, cs = neighbour_pairs(cell, overlap_reach_bohr(cell, 1e-12))  # every pair that matters
    t1 = pair_blocks(cell, ei, cs, "int1e_kin")
    kfrac = np.array([[0.13, -0.27, 0.31]])
    tk = np.asarray(cell.pbc_intor("int1e_kin", kpts=cell.get_abs_kpts(kfrac)))[0]
    sl = atom_ao_slices(cell)
    lattice = cell.lattice_vectors()
    kc = cell.get_abs_kpts(kfrac)[0]
    mine = np.zeros_like(tk)
    for (i, j), r, b in zip(ei, cs, t1):
        mine[sl[i, 0] : sl[i, 1], sl[j, 0] : sl[j, 1]] += np.exp(1j * kc @ (r @ lattice)) * b
    assert np.abs(mine - tk).max() < 1e-9
