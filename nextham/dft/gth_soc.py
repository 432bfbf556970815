"""Spin–orbit coefficients of the GTH-PBE pseudopotentials and the angular-momentum matrices.

The coefficients are package data, ``nextham/data/gth_soc_pbe.json``, written by
``benchmarks/gth_soc_data.py`` from CP2K's ``data/GTH_SOC_POTENTIALS`` (PBE section; the file
names the CP2K commit) for the potentials PySCF loads as ``gth-pbe``, which the MOLOPT-SR basis
families use. References: Hartwigsen, Goedecker, Hutter, PRB 58, 3641 (1998), Eq. (19);
Krack, TCA 114, 145 (2005).

Convention (HGH Eq. (19); CP2K ``V_SOC_xyz_from_pseudopotential`` and ``H_KS_spinor_*``,
which form ½ Σ_α V^α σ_α from ⟨φ|p⟩ k ⟨p|L_α|φ⟩)::

    V_SO = Σ_atoms Σ_{l≥1} Σ_ij Σ_mm' |p_i^{lm}⟩ k_ij^l ⟨lm| L·S |lm'⟩ ⟨p_j^{lm'}|,  S = σ/2,

with ħ = 1, L in units of ħ, p_i^l(r) ∝ r^{l+2(i−1)} exp(−r²/2r_l²) normalized (HGH Eq. (3)).
A level j = l ± ½ of a projector channel sees h ± its L·S eigenvalue times k: L·S = l/2 for
j = l + ½ and −(l+1)/2 for j = l − ½, so k = 2 (h^{l+½} − h^{l−½}) / (2l + 1).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np
from pyscf.symm.sph import sph_pure2real

SOC_FILE = "gth_soc_pbe.json"

PAULI_HALF = 0.5 * np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
"""S = σ/2, (3, 2, 2) complex: S_x, S_y, S_z in the basis (↑, ↓)."""


@cache
def soc_table() -> dict:
    """The package data: ``{"elements": {symbol: {"potential", "valence", "soc"}}, …}``."""
    path = resources.files("nextham") / "data" / SOC_FILE
    return json.loads(path.read_text())


def soc_channels(symbol: str) -> dict[int, tuple[float, np.ndarray]]:
    """Spin–orbit channels of ``symbol``'s GTH-PBE potential: l → (r_l in Bohr, k (n, n) in
    Hartree); empty when every k vanishes. KeyError for an element without GTH-PBE data."""
    entry = soc_table()["elements"][symbol]
    return {int(l): (float(c["r"]), np.asarray(c["k"], float)) for l, c in entry["soc"].items()}


def has_gth_soc(symbol: str) -> bool:
    """Whether the package data lists ``symbol`` (with or without nonzero k)."""
    return symbol in soc_table()["elements"]


@cache
def angular_momentum(l: int) -> np.ndarray:
    """(L_x, L_y, L_z), (3, 2l+1, 2l+1) complex, in PySCF's real spherical harmonics of degree l
    (l = 1: x, y, z; l ≥ 2: m = −l … l), ħ = 1: ``L[a][m, n] = ⟨Y_m|L_a|Y_n⟩``.

    From the complex harmonics (L_z = m, L_± ladder with Condon–Shortley phases) through
    PySCF's own complex → real matrix (``pyscf.symm.sph.sph_pure2real``); checked against the
    action of −i r × ∇ on PySCF's basis functions in tests/test_dft_projectors.py. Each L_a is
    imaginary and antisymmetric (Hermitian), since the harmonics are real."""
    m = np.arange(-l, l + 1)
    lz = np.diag(m).astype(complex)
    lp = np.diag(np.sqrt(l * (l + 1) - m[:-1] * (m[:-1] + 1)), -1).astype(complex)  # |m⟩→|m+1⟩
    lx, ly = (lp + lp.T) / 2, (lp - lp.T) / 2j
    u = sph_pure2real(l)  # O_k = Σ_m Y_m u[m, k]
    out = np.stack([u.conj().T @ op @ u for op in (lx, ly, lz)])
    out.real[np.abs(out.real) < 1e-14] = 0.0
    return out


def ls_matrix(l: int) -> np.ndarray:
    """⟨lm σ|L·S|lm' σ'⟩ as a spin-major (2(2l+1), 2(2l+1)) complex matrix (rows: all m with ↑,
    then all m with ↓): Σ_a S_a ⊗ L_a, eigenvalues l/2 (×2l+2) and −(l+1)/2 (×2l)."""
    lmat = angular_momentum(l)
    return sum(np.kron(PAULI_HALF[a], lmat[a]) for a in range(3))
