"""The position matrix <φ_i0|r|φ_jR> and the exact optical velocities built on it."""

from __future__ import annotations

import numpy as np
import pytest

from nextham.optics.bloch import DenseBloch, frac_to_cart
from nextham.optics.kubo import solve
from nextham.optics.spectrum import VELOCITY_EXACT, VELOCITY_TWO_CENTRE, optical_spectrum
from nextham.record import keys as K
from nextham.record.geometry import two_centre_position
from nextham.record.layout import block_list, iter_blocks, position_blocks

OMEGA = np.linspace(0.5, 8, 40)


@pytest.fixture(scope="module")
def si_exact(si_record):
    """The session's Si₂ engine record with its position matrix."""
    from nextham.dft.position import record_position_matrix

    return {**si_record, K.R_MATRIX: record_position_matrix(si_record)}


def _index(record) -> dict:
    pairs = zip(record[K.EDGE_INDEX], record[K.CELL_SHIFT])
    return {(int(i), int(j), *map(int, r)): e for e, ((i, j), r) in enumerate(pairs)}


def test_engine_position_blocks(si_exact):
    r, s = position_blocks(si_exact), block_list(si_exact, K.S)
    index = _index(si_exact)
    for atom in (0, 1):  # ⟨φ|r|φ⟩ = τ for every orbital centred on the atom (parity)
        onsite = r[index[(atom, atom, 0, 0, 0)]]
        tau = si_exact[K.POSITIONS][atom]
        assert np.allclose(np.diagonal(onsite, axis1=1, axis2=2), tau[:, None], atol=1e-8)
    # the intra-atomic dipole ⟨s|x|p_x⟩ that the two-centre form lacks (gth-szv: s, p)
    approx = position_blocks(si_exact, two_centre_position(si_exact))
    e0 = index[(0, 0, 0, 0, 0)]
    assert np.abs(r[e0] - approx[e0]).max() > 0.1
    # Hermitian partner: r_ji(−R) = (r_ij(R) − R·cell S_ij(R))ᵀ
    cell = si_exact[K.CELL]
    for (i, j, *shift), e in index.items():
        p = index[(j, i, *(-x for x in shift))]
        expected = (r[e] - (np.array(shift) @ cell)[:, None, None] * s[e]).transpose(0, 2, 1)
        assert np.allclose(r[p], expected, atol=1e-10)


def test_exact_velocity_with_two_centre_r_is_the_fallback(si_record):
    k = frac_to_cart(si_record, np.array([[0.1, 0.2, 0.3], [0.0, 0.5, 0.5]]))
    approx = {**si_record, K.R_MATRIX: two_centre_position(si_record)}
    assert DenseBloch(approx).exact_position and not DenseBloch(si_record).exact_position
    p_exact, p_fallback = solve(DenseBloch(approx), k)[2], solve(DenseBloch(si_record), k)[2]
    assert np.allclose(p_exact, p_fallback, atol=1e-9)
    # an imported r(R) marked as the approximation (ABACUS rR written by nextham) is named so
    marked = {**approx, K.META: {**approx[K.META], "position_matrix": "two-centre"}}
    spec = optical_spectrum(marked, (2, 2, 2), OMEGA[:4], width_ev=0.3)
    assert spec.settings["velocity"] == VELOCITY_TWO_CENTRE


def test_exact_velocities_hermitian_and_different(si_exact, si_record):
    k = frac_to_cart(si_exact, np.array([[0.13, -0.21, 0.34]]))
    p = solve(DenseBloch(si_exact), k)[2]
    assert np.allclose(p, p.conj().transpose(0, 1, 3, 2), atol=1e-8)
    a = optical_spectrum(si_exact, (3, 3, 3), OMEGA, width_ev=0.3)
    b = optical_spectrum(si_record, (3, 3, 3), OMEGA, width_ev=0.3)
    assert a.settings["velocity"] == VELOCITY_EXACT
    assert b.settings["velocity"] == VELOCITY_TWO_CENTRE
    rel = np.abs(np.subtract(a.eps_imag, b.eps_imag)).sum() / np.abs(b.eps_imag).sum()
    assert rel > 0.02  # the dipole terms matter
    forced = optical_spectrum(si_exact, (3, 3, 3), OMEGA, width_ev=0.3, two_centre=True)
    assert forced.settings["velocity"] == VELOCITY_TWO_CENTRE
    assert np.allclose(forced.eps_imag, b.eps_imag)


def test_exact_spectrum_invariant_under_supercell_and_translation(si_exact):
    """A 1×2×1 supercell (r moves with its atoms) and a rigid shift of the crystal (r + t S)
    give the same ε: wrong phases, offsets or blocks would not."""
    from nextham.store.supercell import supercell_record

    big = supercell_record(si_exact, (1, 2, 1))
    t = np.array([0.7, -1.1, 0.4])
    moved = {**si_exact, K.POSITIONS: si_exact[K.POSITIONS] + t,
             K.R_MATRIX: si_exact[K.R_MATRIX] + t[:, None] * si_exact[K.S][None]}  # fmt: skip
    a = optical_spectrum(si_exact, (2, 4, 2), OMEGA, width_ev=0.3)
    for other, mesh in ((big, (2, 2, 2)), (moved, (2, 4, 2))):
        b = optical_spectrum(other, mesh, OMEGA, width_ev=0.3)
        assert b.settings["velocity"] == VELOCITY_EXACT
        assert np.allclose(a.eps_imag, b.eps_imag, atol=1e-8 * np.abs(a.eps_imag).max())
        assert np.allclose(a.sigma_real, b.sigma_real, atol=1e-8 * np.abs(a.sigma_real).max())


def test_exact_spinor_equals_scalar(si_exact):
    blocks = [np.kron(np.eye(2), b) for _, b in iter_blocks(si_exact, K.HT)]
    flat = np.concatenate([b.ravel() for b in blocks]).astype(complex)
    spinor = {**si_exact, K.SPINOR: True, K.HT: flat, K.H0: flat}
    a = optical_spectrum(si_exact, (2, 2, 2), OMEGA, width_ev=0.3)
    b = optical_spectrum(spinor, (2, 2, 2), OMEGA, width_ev=0.3)
    assert np.allclose(a.eps_imag, b.eps_imag, atol=1e-9 * np.abs(a.eps_imag).max())


def test_store_keeps_the_position_matrix(tmp_path, si_exact):
    from nextham.store.hdf5 import read_record, write_record

    write_record(tmp_path / "e.h5", si_exact, "e")
    back = read_record(tmp_path / "e.h5")
    assert np.array_equal(back[K.R_MATRIX], si_exact[K.R_MATRIX])


def test_cli_optics_says_which_velocities(tmp_path, si_record, capsys):
    from nextham.cli.main import main
    from nextham.store.hdf5 import write_record

    entry = tmp_path / "si.h5"
    write_record(entry, si_record, "si")  # no stored r: the engine computes it
    args = ["optics", str(entry), "--out", str(tmp_path / "o.png"), "--kmesh", "2,2,2"]
    assert main([*args, "--points", "20"]) == 0
    assert f"velocities {VELOCITY_EXACT}" in capsys.readouterr().out
    assert main([*args, "--points", "20", "--two-centre"]) == 0
    assert f"velocities {VELOCITY_TWO_CENTRE}" in capsys.readouterr().out
