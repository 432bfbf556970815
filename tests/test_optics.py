"""Optics: velocities vs finite differences, two-band σ, f-sum rule, supercell invariance."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from nextham.errors import InputError
from nextham.optics.bloch import DenseBloch, frac_to_cart
from nextham.optics.kubo import (
    EPS_UNIT,
    conductivity,
    dielectric,
    line_shape,
    solve,
    susceptibility,
)
from nextham.record import keys as K
from nextham.testing import neighbor_pairs

A = 3.0  # Å, CsCl-type model crystal: species 1 at 0, species 2 at the body centre
ONSITE = {1: 1.0, 2: -1.0}
HOP, HOP_S = -0.4, 0.0


def model_record(atoms: Atoms, hop: float = HOP, hop_s: float = HOP_S) -> dict:
    """One s orbital per atom; on-site ±1 eV; hopping (and overlap) between nearest unlike
    neighbours at √3/2·a."""
    pairs = neighbor_pairs(atoms.cell.array, atoms.positions, 0.9 * A)
    h, s = [], []
    for i, j, *_ in pairs:
        same = i == j
        h.append(ONSITE[atoms.numbers[i]] if same else hop)
        s.append(1.0 if same else hop_s)
    return {
        K.CELL: atoms.cell.array, K.POSITIONS: atoms.positions, K.NUMBERS: atoms.numbers,
        K.EDGE_INDEX: pairs[:, :2], K.CELL_SHIFT: pairs[:, 2:],
        K.BLOCK_PTR: np.arange(len(pairs) + 1), K.S: np.array(s), K.H0: np.zeros(len(pairs)),
        K.HT: np.array(h), K.BASIS_LS: {1: (0,), 2: (0,)}, K.SPINOR: False, K.META: {},
    }  # fmt: skip


def cscl(reps=(1, 1, 1)) -> Atoms:
    atoms = Atoms(numbers=[1, 2], scaled_positions=[[0, 0, 0], [0.5] * 3], cell=np.eye(3) * A,
                  pbc=True)  # fmt: skip
    return atoms.repeat(reps)


def mesh(n) -> np.ndarray:
    n = np.asarray(n)
    grid = np.stack(np.meshgrid(*[np.arange(m) for m in n], indexing="ij"), -1).reshape(-1, 3)
    return (grid + 0.5) / n  # shifted: avoids degenerate high-symmetry points


def test_derivatives_match_finite_differences():
    rec = model_record(cscl(), hop_s=0.1)
    b = DenseBloch(rec)
    k = np.array([[0.3, -0.7, 0.4]])
    h, dh = b.hamiltonian(k, deriv=True)
    s, ds = b.overlap(k, deriv=True)
    step = 1e-5
    for a in range(3):
        dk = np.zeros(3)
        dk[a] = step
        fd_h = (b.hamiltonian(k + dk)[0] - b.hamiltonian(k - dk)[0]) / (2 * step)
        fd_s = (b.overlap(k + dk)[0] - b.overlap(k - dk)[0]) / (2 * step)
        assert np.abs(fd_h - dh[a]).max() < 1e-8
        assert np.abs(fd_s - ds[a]).max() < 1e-8
    # diagonal momenta are band velocities ∂ε/∂k, including the overlap term
    eps, _, p = solve(b, k)
    for a in range(3):
        dk = np.zeros(3)
        dk[a] = step
        fd = (solve(b, k + dk)[0] - solve(b, k - dk)[0]) / (2 * step)
        assert np.allclose(np.diagonal(p[a, 0]).real, fd[0], atol=1e-7)
        assert np.allclose(p[a, 0], p[a, 0].conj().T)
    del eps, h, s


def test_two_band_model_matches_analytic():
    """χ_xx of H = d(k)·σ from |p_+-|² = |∂d|² − (d̂·∂d)², no diagonalization."""
    rec = model_record(cscl())
    kc = frac_to_cart(rec, mesh((4, 4, 4)))
    omega = np.linspace(0.2, 6, 50)
    chi = susceptibility(DenseBloch(rec), kc, A**3, omega, 0.0, smearing_ev=0.0, width_ev=0.1)
    nbr = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * A / 2
    g = HOP * np.exp(1j * kc @ nbr.T).sum(1)
    dg = HOP * (1j * nbr[:, 0] * np.exp(1j * kc @ nbr.T)).sum(1)
    d = np.stack([g.real, -g.imag, np.full(len(g), ONSITE[1])], 1)
    dd = np.stack([dg.real, -dg.imag, np.zeros(len(g))], 1)
    norm = np.linalg.norm(d, axis=1)
    p2 = (dd**2).sum(1) - ((d * dd).sum(1) / norm) ** 2
    ls = line_shape(omega[:, None] + 2 * norm, 0.1, "lorentzian")
    ls = ls - line_shape(omega[:, None] - 2 * norm, 0.1, "lorentzian")
    expect = EPS_UNIT * (ls * p2 / (2 * norm**2)).sum(1) / (len(kc) * A**3)
    assert np.allclose(chi[:, 0, 0], expect, rtol=1e-9, atol=1e-9 * np.abs(expect).max())
    assert np.all(chi[:, 0, 0].imag > 0)
    sigma = conductivity(DenseBloch(rec), kc, A**3, omega, 0.0, smearing_ev=0.0, width_ev=0.1)
    assert np.allclose(dielectric(sigma, omega)[:, 0, 0], 1 + chi[:, 0, 0])


def test_f_sum_rule():
    """∫₀^∞ Re σ_xx dω = (π e²/2ħ²V) Σ_k Σ_n f_n (⟨n|∂²H|n⟩ − ∂²ε_n) for S = 1."""
    from scipy.constants import e, hbar

    rec = model_record(cscl())
    b = DenseBloch(rec)
    kc = frac_to_cart(rec, mesh((6, 6, 6)))
    omega = np.linspace(1e-3, 12, 6000)
    sigma = conductivity(b, kc, A**3, omega, 0.0, smearing_ev=0.0, width_ev=0.05,
                         broadening="gaussian")  # fmt: skip
    integral = np.trapezoid(sigma[:, 0, 0].real, omega * e / hbar)
    # independent right-hand side: second derivatives of H(R) phases and of the bands
    rhs, step = 0.0, 1e-4
    dvec = b.d[:, 0]
    for k in kc:
        h2 = np.zeros((2, 2), dtype=complex)
        ph = np.exp(1j * b.d @ k)
        for e_, (i, j) in enumerate(b.pairs):
            h2[i, j] += -(dvec[e_] ** 2) * ph[e_] * b.h[e_][0, 0]
        eps, c, _ = solve(b, k[None])
        dk = np.array([step, 0, 0])
        e_p, e_m = solve(b, (k + dk)[None])[0][0], solve(b, (k - dk)[None])[0][0]
        curv = (e_p - 2 * eps[0] + e_m) / step**2
        n0 = 0  # the occupied band (E_F = 0 in the gap), f = 2
        rhs += 2 * ((c[0][:, n0].conj() @ h2 @ c[0][:, n0]).real - curv[n0])
    rhs *= e**2 / hbar * 1e10 * np.pi * (e / hbar) / (2 * len(kc) * A**3)  # S/m · rad/s
    assert abs(integral - rhs) / rhs < 2e-3


def test_supercell_gives_same_spectrum():
    omega = np.linspace(0.5, 5, 30)
    rec1, rec2 = model_record(cscl(), hop_s=0.1), model_record(cscl((2, 1, 1)), hop_s=0.1)
    k1 = frac_to_cart(rec1, mesh((4, 4, 4)))
    k2 = frac_to_cart(rec2, mesh((2, 4, 4)))
    s1 = conductivity(DenseBloch(rec1), k1, A**3, omega, 0.0, width_ev=0.2)
    s2 = conductivity(DenseBloch(rec2), k2, 2 * A**3, omega, 0.0, width_ev=0.2)
    assert np.allclose(dielectric(s1, omega), dielectric(s2, omega), rtol=1e-8, atol=1e-10)


def test_bad_inputs():
    rec = model_record(cscl(), hop_s=0.1)
    kc = frac_to_cart(rec, mesh((2, 2, 2)))
    with pytest.raises(InputError, match="Fermi level"):
        conductivity(DenseBloch(rec), kc, A**3, np.ones(3), float("nan"))
    singular = model_record(cscl(), hop_s=1.0 / 8)  # S(k) = 1 ± |γ(k)|/8·… reaches 0 at Γ
    with pytest.raises(InputError, match="singular"):
        conductivity(DenseBloch(singular), np.zeros((1, 3)), A**3, np.ones(3), 0.0)
    with pytest.raises(InputError, match="broadening"):
        line_shape(np.zeros(2), 0.1, "box")


def test_engine_record_supercell_invariance(si_record):
    """Real engine data (Si2, gth-szv): a 1×2×1 supercell on the folded mesh gives the same ε."""
    from nextham.optics.spectrum import optical_spectrum
    from nextham.store.supercell import supercell_record

    omega = np.linspace(0.5, 8, 40)
    big = supercell_record(si_record, (1, 2, 1))
    assert len(big[K.NUMBERS]) == 4 and big[K.S].size == 2 * si_record[K.S].size
    a = optical_spectrum(si_record, (2, 4, 2), omega, width_ev=0.3)
    b = optical_spectrum(big, (2, 2, 2), omega, width_ev=0.3)
    assert np.allclose(a.eps_imag, b.eps_imag, atol=1e-8 * np.abs(a.eps_imag).max())
    assert np.allclose(a.eps_real, b.eps_real, atol=1e-8 * np.abs(a.eps_real).max())
    assert np.asarray(a.eps_imag).max() > 1.0  # a real spectrum, not zeros


def test_cli_optics_entry(tmp_path, si_record, capsys):
    from nextham.cli.main import main
    from nextham.store.hdf5 import write_record

    entry = tmp_path / "si.h5"
    write_record(entry, si_record, "si")
    out = tmp_path / "o" / "si.png"
    assert (
        main(["optics", str(entry), "--out", str(out), "--kmesh", "2,2,2", "--points", "50"]) == 0
    )
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert out.with_suffix(".csv").is_file() and out.with_suffix(".json").is_file()
    no_ef = {
        **si_record,
        K.META: {k: v for k, v in si_record[K.META].items() if k != "fermi_level"},
    }
    write_record(entry, no_ef, "si")
    assert main(["optics", str(entry), "--out", str(out), "--kmesh", "2,2,2"]) == 2
    assert "Fermi level" in capsys.readouterr().err


def test_spinor_record_without_soc_equals_scalar(si_record):
    """kron(1₂, H) spinor blocks (no spin–orbit): same spectrum as the scalar record."""
    from nextham.optics.spectrum import optical_spectrum
    from nextham.record.layout import iter_blocks

    blocks = [np.kron(np.eye(2), b) for _, b in iter_blocks(si_record, K.HT)]
    flat = np.concatenate([b.ravel() for b in blocks]).astype(complex)
    spinor = {**si_record, K.SPINOR: True, K.HT: flat, K.H0: flat}
    omega = np.linspace(0.5, 8, 30)
    a = optical_spectrum(si_record, (2, 2, 2), omega, width_ev=0.3)
    b = optical_spectrum(spinor, (2, 2, 2), omega, width_ev=0.3)
    assert np.allclose(a.eps_imag, b.eps_imag, atol=1e-9 * np.abs(a.eps_imag).max())
    assert np.allclose(a.sigma_real, b.sigma_real, atol=1e-9 * np.abs(a.sigma_real).max())
