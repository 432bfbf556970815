"""Spin–orbit mode: complex spinor H0 and HT, SO-ECP element beside a scalar-treated one."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from nextham.conventions import time_reverse_spinor
from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K
from nextham.record.layout import iter_blocks


@pytest.fixture(scope="module")
def pbs_record():
    """Rocksalt PbS: Pb with its SO-ECP, S with GTH (scalar treatment), tiny settings."""
    settings = EngineSettings(spin="soc", kmesh=(1, 1, 1), cutoff=3.0, ke_cutoff_ev=300.0)
    return compute_record(bulk("PbS", "rocksalt", a=5.94), settings)


def test_spinor_record(pbs_record):
    rec = pbs_record
    assert rec[K.SPINOR] and rec[K.HT].dtype == np.complex128 and rec[K.S].dtype == np.float64
    assert rec[K.HT].size == 4 * rec[K.BLOCK_PTR][-1] == rec[K.H0].size
    els = rec[K.META]["elements"]
    assert els["Pb"]["ecp"] == "ecpds60mdfso" and els["Pb"]["spin_orbit"]
    assert els["S"]["pseudo"] == "gth-pbe" and not els["S"]["spin_orbit"]


def test_spinor_label_has_a_spectral_check_that_sees_its_cut_pairs(pbs_record):
    """Pairs cut at 3 Å (the tiny settings) drop overlaps of Pb's diffuse functions: the stored
    spinor S(k) is no metric (an eigenvalue ≈ −0.29 on the 4³ mesh) and the check fails."""
    check = pbs_record[K.META]["spectral_check"]
    assert check["occupied_states"] == round(pbs_record[K.META]["n_electrons"])  # one per level
    assert check["min_overlap_eig"] < 0
    assert not check["passed"]


@pytest.mark.parametrize("key", [K.H0, K.HT])
def test_spin_orbit_blocks_hermitian_and_time_reversal(pbs_record, key):
    blocks = dict(iter_blocks(pbs_record, key))
    for (i, j, a, b, c), blk in blocks.items():
        assert np.allclose(blocks[(j, i, -a, -b, -c)], blk.conj().T, atol=1e-8)
        # non-magnetic: exact for kinetic and ECP terms; the GTH local part of S on this coarse
        # test mesh (300 eV) breaks H(-k) = H(k)* by ~0.05 eV, which vanishes with the cutoff
        assert np.abs(time_reverse_spinor(blk) - blk).max() < 0.1
    pb = int(np.nonzero(pbs_record[K.NUMBERS] == 82)[0][0])
    onsite = blocks[(pb, pb, 0, 0, 0)]
    n = onsite.shape[0] // 2
    assert np.abs(onsite[:n, n:]).max() > 1.0  # ↑↓ coupling of the SO-ECP, eV
    assert np.abs(onsite[:n, :n].imag).max() > 1.0  # imaginary ↑↑ part (L_z S_z)


def test_scalar_h0_leaves_the_whole_spin_orbit_term_to_delta_h():
    """``h0_spin_orbit=False``: H0 is spin-diagonal and real (up to the coarse test mesh's
    ≤ 0.05 eV, see above), and differs from the default H0
    by exactly the ECP's spin–orbit term (a pure ↑↓ / imaginary, Hermitian matrix)."""
    from nextham.dft.engine import zeroth_step

    atoms = bulk("PbS", "rocksalt", a=5.94)
    base = {"spin": "soc", "kmesh": (1, 1, 1), "cutoff": 3.0, "ke_cutoff_ev": 300.0}
    full, _ = zeroth_step(atoms, EngineSettings(**base))
    scal, _ = zeroth_step(atoms, EngineSettings(**base, h0_spin_orbit=False))
    assert scal[K.META][K.ENGINE_SETTINGS]["h0_spin_orbit"] is False
    for k, blk in iter_blocks(scal, K.H0):
        n, m = blk.shape[0] // 2, blk.shape[1] // 2
        assert np.abs(blk[:n, m:]).max() < 1e-12 and np.abs(blk.imag).max() < 0.05, k
        np.testing.assert_allclose(blk[:n, :m], blk[n:, m:], atol=1e-12)
    so = dict(iter_blocks(full, K.H0))
    diff = {k: so[k] - b for k, b in iter_blocks(scal, K.H0)}
    pb = int(np.nonzero(full[K.NUMBERS] == 82)[0][0])
    d = diff[(pb, pb, 0, 0, 0)]
    assert (
        np.abs(d).max() > 1.0 and np.abs(d.real[: d.shape[0] // 2, : d.shape[0] // 2]).max() < 1e-8
    )
    np.testing.assert_allclose(d, d.conj().T, atol=1e-10)


def test_settings_written_before_a_field_existed_still_match():
    new = EngineSettings(spin="soc").to_dict()
    old = {k: v for k, v in new.items() if k != "h0_spin_orbit"}
    assert EngineSettings.from_dict(old) == EngineSettings.from_dict(new)
    assert EngineSettings.from_dict(old) != EngineSettings.from_dict({**new, "h0_spin_orbit": 0})
    with pytest.raises(ValueError, match="needs spin='soc'"):
        EngineSettings(h0_spin_orbit=False)


def test_spinor_time_reversal_matches_direct_fock_builds():
    """H(−k) = Θ H(k) Θ⁻¹ from the k-half of the mesh equals PySCF's own Fock build at −k
    (to 1e-5 eV once the mesh resolves the pseudopotential; a plain conjugate, the scalar
    rule, is tens of eV off because of the spin–orbit blocks)."""
    from nextham.conventions import HARTREE_EV
    from nextham.dft.cell import build_cell
    from nextham.dft.engine import make_mf
    from nextham.dft.kspace_fock import fock_on_mesh
    from nextham.spectra import kspace

    settings = EngineSettings(spin="soc", kmesh=(1, 1, 1), cutoff=3.0, ke_cutoff_ev=900.0)
    mf = make_mf(build_cell(bulk("PbS", "rocksalt", a=5.94), settings), settings)
    dm0 = mf.get_init_guess(key="atom")
    kfrac = kspace.gamma_mesh((3, 1, 1))  # Γ and the pair ±1/3
    direct = fock_on_mesh(mf, dm0, kfrac, time_reversal=False) * HARTREE_EV
    folded = fock_on_mesh(mf, dm0, kfrac, time_reversal=True) * HARTREE_EV
    assert np.abs(folded - direct).max() < 1e-5
    assert np.abs(direct[2] - direct[1].conj()).max() > 1.0
