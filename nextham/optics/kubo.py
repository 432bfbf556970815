"""Interband dielectric function ε_ab(ω) and optical conductivity σ_ab(ω) (Kubo–Greenwood).

In the non-orthogonal atomic basis, with H(k) C = S(k) C ε, C† S C = 1, the momentum matrix
elements (units eV·Å, i.e. ħ times the velocity) are, with the position matrix r(k) of the
record (``K.R_MATRIX``, :meth:`~nextham.optics.bloch.DenseBloch.position`),

    p^a_nm = C_n† (∂_a H − ε_n ∂_a S) C_m + i (ε_n − ε_m) C_n† r_a(k) C_m        (exact),

the velocity ħ v = ħ (i/ħ)[H, r] between Bloch states, which includes the intra-atomic and
bond dipoles. Without a stored position matrix the fallback is the two-centre approximation
r_ij(R) ≈ ½ (τ_i + τ_j + R) S_ij(R), for which the formula becomes

    p^a_nm = C_n† (∂_a H − ½ (ε_n + ε_m) ∂_a S) C_m                             (two-centre).

Both are Hermitian; for n = m they are ∂ε_n/∂k_a (Hellmann–Feynman with the overlap term).
Derivatives are taken in the atomic gauge (:mod:`nextham.optics.bloch`). With
r_nm = p_nm / (i Δ_mn), Δ_mn = ε_m − ε_n, the interband susceptibility is

    ε_ab(ω) = δ_ab + e²/(ε₀ N_k V) Σ_k Σ_{n≠m} (f_n − f_m) p^a_nm p^b_mn / Δ_mn² · (−L(ħω − Δ_mn)),
    σ_ab(ω) = −i ε₀ ω (ε_ab(ω) − δ_ab),

with L(x) = 1/(x + iη) (``lorentzian``, η = width) or its Gaussian-broadened counterpart
−i √(π/2)/w · Faddeeva(x/(w√2)) (``gaussian``, standard deviation w, so Im L is −π times a
normalized Gaussian). This "length" form is the velocity form p p/(Δ ω) for η → 0, but keeps
Im ε(ω → 0) = 0 with finite broadening. Occupations f are Fermi–Dirac (×2 for scalar records)
at the given Fermi level and smearing. Only interband (n ≠ m) terms are included: the Drude
term of metals is not. σ is in S/m; k-points are processed in chunks, so memory is bounded by
``chunk`` × (basis size)².
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.constants import e as E_CHARGE
from scipy.constants import epsilon_0, hbar
from scipy.special import wofz

from nextham.conventions import electrons_per_level
from nextham.errors import InputError
from nextham.optics.bloch import DenseBloch
from nextham.spectra.occupations import fermi_dirac

EPS_UNIT = E_CHARGE * 1e10 / epsilon_0
"""e²/ε₀ × (eV·Å)² / (eV³ · Å³): the dimensionless prefactor with p in eV·Å, Δ in eV, V in Å³."""

BROADENINGS = ("lorentzian", "gaussian")


def line_shape(x: np.ndarray, width: float, kind: str) -> np.ndarray:
    """Broadened 1/(x + i0) (complex), x in eV."""
    if kind == "lorentzian":
        return 1.0 / (x + 1j * width)
    if kind == "gaussian":
        return -1j * np.sqrt(np.pi / 2) / width * wofz(x / (width * np.sqrt(2)))
    raise InputError(f"unknown broadening {kind!r}; use one of {BROADENINGS}")


def solve(bloch: DenseBloch, kcart: np.ndarray, s_min: float = 1e-7):
    """Eigenvalues (nk, M), eigenvectors (nk, M, M) and momenta p (3, nk, M, M) at ``kcart``."""
    h, dh = bloch.hamiltonian(kcart, deriv=True)
    s, ds = bloch.overlap(kcart, deriv=True)
    sv = np.linalg.eigvalsh(s)
    if sv.min() < s_min:
        raise InputError(
            f"the overlap matrix S(k) is (nearly) singular (smallest eigenvalue {sv.min():.1e}); "
            "the basis is linearly dependent — use a smaller basis or a larger pair threshold"
        )
    chol = np.linalg.cholesky(s)
    linv = np.linalg.inv(chol)
    h_o = linv @ h @ linv.conj().transpose(0, 2, 1)
    eps, u = np.linalg.eigh(0.5 * (h_o + h_o.conj().transpose(0, 2, 1)))
    c = linv.conj().transpose(0, 2, 1) @ u  # C = L^{-†} U, C† S C = 1
    ch = c.conj().transpose(0, 2, 1)
    if bloch.exact_position:
        r = bloch.position(kcart)
        gap = eps[:, :, None] - eps[:, None, :]  # ε_n − ε_m
        p = np.stack([ch @ dh[a] @ c - eps[:, :, None] * (ch @ ds[a] @ c)
                      + 1j * gap * (ch @ r[a] @ c) for a in range(3)])  # fmt: skip
    else:
        mean = 0.5 * (eps[:, :, None] + eps[:, None, :])
        p = np.stack([ch @ dh[a] @ c - mean * (ch @ ds[a] @ c) for a in range(3)])
    return eps, c, p


def susceptibility(
    bloch: DenseBloch,
    kcart: np.ndarray,
    volume: float,
    omega_ev: np.ndarray,
    fermi_level: float,
    smearing_ev: float = 0.05,
    width_ev: float = 0.1,
    broadening: str = "lorentzian",
    chunk: int = 16,
    progress: Callable | None = None,
) -> np.ndarray:
    """χ_ab(ω) = ε_ab(ω) − δ_ab (nω, 3, 3) complex on the k-points ``kcart`` (equal weights)."""
    if not np.isfinite(fermi_level):
        raise InputError("no Fermi level: give one (eV) or use a record that stores it")
    line_shape(np.zeros(1), width_ev, broadening)  # validates the kind early
    chi = np.zeros((len(omega_ev), 3, 3), dtype=complex)
    chunks = range(0, len(kcart), chunk)
    for start in progress(chunks) if progress else chunks:
        eps, _, p = solve(bloch, kcart[start : start + chunk])
        f = fermi_dirac(eps, fermi_level, smearing_ev, electrons_per_level(bloch.spinor))
        for q in range(len(eps)):
            df = f[q][:, None] - f[q][None, :]  # f_n − f_m
            delta = eps[q][None, :] - eps[q][:, None]  # ε_m − ε_n
            n, m = np.nonzero((np.abs(df) > 1e-10) & (np.abs(delta) > 1e-8))
            w = df[n, m] / delta[n, m] ** 2
            pa, pb = p[:, q, n, m], p[:, q, m, n]  # p^a_nm, p^b_mn
            ls = line_shape(omega_ev[:, None] - delta[n, m][None, :], width_ev, broadening)
            chi -= np.einsum("wt,t,at,bt->wab", ls, w, pa, pb, optimize=True)
    return EPS_UNIT * chi / (len(kcart) * volume)


def conductivity_from_chi(chi: np.ndarray, omega_ev: np.ndarray) -> np.ndarray:
    """σ_ab(ω) = −i ε₀ ω χ_ab(ω) in S/m (ω from ħω in eV)."""
    omega = np.asarray(omega_ev) * E_CHARGE / hbar
    return -1j * epsilon_0 * omega[:, None, None] * chi


def conductivity(*args, **kwargs) -> np.ndarray:
    """σ_ab(ω) (nω, 3, 3) in S/m; arguments as :func:`susceptibility`."""
    chi = susceptibility(*args, **kwargs)
    omega = kwargs["omega_ev"] if "omega_ev" in kwargs else args[3]
    return conductivity_from_chi(chi, omega)


def dielectric(sigma: np.ndarray, omega_ev: np.ndarray) -> np.ndarray:
    """ε_ab(ω) = δ_ab + i σ_ab / (ε₀ ω), ω from ħω in eV (ω > 0)."""
    omega = np.asarray(omega_ev) * E_CHARGE / hbar
    return np.eye(3)[None] + 1j * sigma / (epsilon_0 * omega[:, None, None])
