"""Atomic spin–orbit splittings from the GTH spin–orbit projectors, the SO-ECPs and experiment.

For each case (an atom or ion with one electron or one hole in the split shell, so that the
experimental fine-structure interval is the shell's spin–orbit splitting) the script runs a
spin-restricted PBE SCF of the spherical atom (the shell's electrons spread evenly over its
2l+1 orbitals), builds the spinor Fock matrix F ⊗ 1 + V_SO of that density — exactly how the
engine's H0 treats spin–orbit coupling — and reports the splitting ε(j = l + ½) − ε(j = l − ½)
of the shell's levels (degeneracy-weighted means of the 2l+2 and 2l levels):

* GTH: the GTH-PBE pseudopotential, V_SO from :mod:`nextham.dft.projectors` (HGH k_ij^l),
  with the engine's bases szv-molopt-sr and dzvp-molopt-sr, and with an even-tempered basis
  large enough to be converged (:data:`EVEN_TEMPERED`, the potential's own value);
* SO-ECP: the engine's ``soc_method='ecp'`` choice (def2-SVP with the Stuttgart ECP whose
  spin–orbit term PySCF adds with ``with_soc``), and the same ECP in the even-tempered basis;
* experiment: the fine-structure interval of the NIST Atomic Spectra Database levels
  (Pb II 6p ²P, Bi III 6p ²P, I I 5p⁵ ²P, Au I 5d⁹6s² ²D).

A second estimate, ΔSCF, is the energy difference of two self-consistent spinor (GKS) runs
with the open shell's electrons in its j = l − ½ or j = l + ½ spinors as in the two J levels
(:func:`delta_scf`), in the engine's bases; it includes the relaxation of the density that the
eigenvalue splitting of the H0-like Fock matrix leaves out.

    python benchmarks/gth_soc_splitting.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.linalg
from pyscf import dft, gto, scf
from pyscf.dft import rks

from nextham.conventions import HARTREE_EV
from nextham.dft.projectors import atom_channels, coupling, projector_overlaps, spinor_block
from nextham.dft.settings import SO_ECP

CM_EV = 1.0 / 8065.543937
"""1 cm⁻¹ in eV (CODATA 2018)."""

_SPD = {0: 2, 1: 6, 2: 10}
SEMICORE = {"ecp": {"Pb": _SPD, "Bi": _SPD, "I": _SPD, "Te": _SPD, "Sb": _SPD, "Au": {0: 2, 1: 6}}}
"""Electrons per l that the SO-ECP valence holds beyond the GTH valence (5s 5p 5d, 4s 4p 4d)."""

CASES = {
    # name: (symbol, charge, l of the split shell, GTH valence electrons per l, NIST cm^-1)
    "Pb+ 6p¹": ("Pb", 1, 1, {0: 2, 1: 1}, 14081.1),  # Pb II 6p 2P3/2 - 2P1/2
    "Bi²⁺ 6p¹": ("Bi", 2, 1, {0: 2, 1: 1}, 20787.6),  # Bi III 6p 2P3/2 - 2P1/2
    "I 5p⁵": ("I", 0, 1, {0: 2, 1: 5}, 7603.15),  # I I 5p5 2P1/2 - 2P3/2 (inverted)
    "Au 5d⁹6s²": ("Au", 0, 2, {0: 2, 2: 9}, 12274.0),  # Au I 5d9 6s2 2D3/2 - 2D5/2 (inverted)
    "Te 5p⁴": ("Te", 0, 1, {0: 2, 1: 4}, None),  # spherical atom: GTH against SO-ECP only
    "Sb 5p³": ("Sb", 0, 1, {0: 2, 1: 3}, None),
}


EVEN_TEMPERED = (14, 0.03, 2.3)
"""Functions per l (s, p, d, f), smallest exponent, ratio: the converged basis. With (20, 0.02,
1.8) instead the splittings move by ≤ 0.01 eV (Pb⁺, Au)."""

BASES = {
    "gth-szv": "gth-szv-molopt-sr",
    "gth": "gth-dzvp-molopt-sr",
    "gth-et": None,
    "ecp": "def2-svp",
    "ecp-et": None,
}
"""Method → basis (None: :data:`EVEN_TEMPERED`); ``gth*`` with the GTH-PBE pseudopotential,
``ecp*`` with the element's SO-ECP."""


def molecule(symbol: str, charge: int, method: str) -> gto.Mole:
    """The atom with the setup of ``method`` (:data:`BASES`)."""
    basis = BASES[method]
    if basis is None:
        n, lo, ratio = EVEN_TEMPERED
        basis = {symbol: [[l, [lo * ratio**k, 1.0]] for l in range(4) for k in range(n)]}
    extra = {"pseudo": "gth-pbe"} if method.startswith("gth") else {"ecp": {symbol: SO_ECP[symbol]}}
    return gto.M(atom=f"{symbol} 0 0 0", basis=basis, charge=charge, verbose=0, spin=None,
                 **extra)  # fmt: skip


def ao_l(mol: gto.Mole) -> np.ndarray:
    """Angular momentum of each (spherical) AO, (nao,)."""
    return np.concatenate([[mol.bas_angular(b)] * ((2 * mol.bas_angular(b) + 1) * mol.bas_nctr(b))
                           for b in range(mol.nbas)])  # fmt: skip


def mo_l(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """Dominant angular momentum (Mulliken) of each orbital, (nmo,)."""
    labels, s = ao_l(mol), mol.intor("int1e_ovlp")
    sc = s @ coeff
    char = np.stack([np.einsum("pi,pi->i", coeff[labels == l], sc[labels == l]) for l in range(4)])
    return np.argmax(char, axis=0)


def shells(mol, energy, coeff) -> dict[int, list[np.ndarray]]:
    """Orbitals grouped by l and, within an l, into shells of 2l+1 by energy."""
    l_of = mo_l(mol, coeff)
    out = {}
    for l in range(4):
        idx = np.flatnonzero(l_of == l)
        idx = idx[np.argsort(energy[idx], kind="stable")]
        out[l] = [idx[s : s + 2 * l + 1] for s in range(0, len(idx) - 2 * l, 2 * l + 1)]
    return out


def spherical_occ(mol, per_l: dict[int, float]):
    """get_occ for a spherical atom: per l, the lowest shells full (2 per orbital), the
    remaining electrons of that l spread evenly over the next shell's 2l+1 orbitals."""

    def get_occ(mo_energy=None, mo_coeff=None):
        occ = np.zeros(len(mo_energy))
        for l, groups in shells(mol, mo_energy, mo_coeff).items():
            left = per_l.get(l, 0)
            for idx in groups:
                put = min(left, 2.0 * len(idx))
                occ[idx] = put / len(idx)
                left -= put
        return occ

    return get_occ


def scalar_fock(mol, per_l: dict[int, float]):
    """Spherical PBE SCF of ``mol`` with electrons per l ``per_l``: (Fock, overlap, orbital
    energies, coefficients) of the converged density, Hartree."""
    mf = rks.RKS(mol, xc="pbe")
    mf.get_occ = spherical_occ(mol, per_l)
    mf.conv_tol, mf.max_cycle, mf.level_shift = 1e-9, 200, 0.2
    mf.kernel()
    if not mf.converged:
        warnings.warn(f"SCF of {mol.atom} not converged", stacklevel=2)
    fock = mf.get_fock(dm=mf.make_rdm1())
    e, c = scipy.linalg.eigh(fock, mf.get_ovlp())
    return fock, mf.get_ovlp(), e, c


def spin_orbit(mol, method: str) -> np.ndarray:
    """V_SO, (2 nao, 2 nao) spin-major, Hartree: the GTH projectors' or PySCF's SO-ECP term."""
    if method.startswith("gth"):
        symbol = mol.atom_symbol(0)
        channels = [c for c in atom_channels(mol, symbol, soc=True) if c.l > 0]
        a = projector_overlaps(channels, mol.atom_coord(0), mol)
        return spinor_block(np.stack([a.T @ k @ a for k in coupling(channels, "soc")]))
    ghf = scf.GHF(mol)
    ghf.with_soc = True
    with_so = ghf.get_hcore()
    ghf.with_soc = False
    return with_so - ghf.get_hcore()


def setup(name: str, method: str):
    """(molecule, l, electrons per l, scalar Fock, overlap, energies, coefficients, the open
    shell's orbitals) of case ``name`` with ``method``."""
    symbol, charge, l, per_l, _ = CASES[name]
    per_l = dict(per_l)
    for ll, n in SEMICORE.get(method.split("-")[0], {}).get(symbol, {}).items():
        per_l[ll] = per_l.get(ll, 0) + n
    mol = molecule(symbol, charge, method)
    fock, s, e, c = scalar_fock(mol, per_l)
    shell = shells(mol, e, c)[l][int(per_l[l] // (4 * l + 2))]  # the partly filled shell
    return mol, l, per_l, fock, s, e, c, shell


def open_spinors(vec, c, s, shell, l) -> np.ndarray:
    """Indices of the 4l+2 spinors (columns of ``vec``) most like the open shell's orbitals."""
    proj = np.kron(np.eye(2), c[:, shell].T @ s)  # ⟨shell orbital, spin|
    weight = np.sum(np.abs(proj @ vec) ** 2, axis=0)
    return np.argsort(weight)[-(4 * l + 2) :]


def splitting(name: str, method: str) -> tuple[float, float]:
    """(ε(j = l + ½) − ε(j = l − ½) in eV, seconds) of case ``name`` with ``method``: the
    spinor Fock matrix F ⊗ 1 + V_SO of the spherical scalar density, as the engine's H0."""
    t0 = time.perf_counter()
    mol, l, _, fock, s, _, c, shell = setup(name, method)
    f2 = scipy.linalg.block_diag(fock, fock) + spin_orbit(mol, method)
    ev, vec = scipy.linalg.eigh(f2, scipy.linalg.block_diag(s, s))
    pick = np.sort(ev[open_spinors(vec, c, s, shell, l)])
    return (pick[2 * l :].mean() - pick[: 2 * l].mean()) * HARTREE_EV, time.perf_counter() - t0


def delta_scf(name: str, method: str) -> tuple[float, float]:
    """(E(J = upper) − E(J = lower) in eV, seconds): two self-consistent spinor PBE runs (GKS,
    V_SO in the core Hamiltonian) with the open shell's electrons in its j = l − ½ and
    j = l + ½ spinors as in the two fine-structure levels, each j set evenly occupied (the
    spinors told apart by the sign of ⟨V_SO⟩, i.e. of ⟨L·S⟩)."""
    t0 = time.perf_counter()
    mol, l, per_l, _, s, _, c, shell = setup(name, method)
    n_open = per_l[l] % (4 * l + 2)
    low = min(n_open, 2 * l)  # j = l − ½ (2l spinors) below j = l + ½ for a positive ζ
    energies = [
        _gks_energy(mol, method, c, s, shell, l, n_open, (low, n_open - low)),
        _gks_energy(mol, method, c, s, shell, l, n_open, (low - 1, n_open - low + 1)),
    ]
    return (energies[1] - energies[0]) * HARTREE_EV, time.perf_counter() - t0


def _gks_energy(mol, method, c, s, shell, l, n_open, split) -> float:
    """Total energy (Hartree) of the GKS run with ``split`` = (electrons in j = l − ½, in
    j = l + ½) of the open shell. Plain DIIS: a level shift or damping lets the excited
    configurations (I with its hole in 5p½) slide into a lower state of other character."""
    mf = dft.GKS(mol)
    mf.xc, mf.conv_tol, mf.max_cycle = "pbe", 1e-9, 100
    v_so = spin_orbit(mol, method)
    if method.startswith("gth"):
        base = mf.get_hcore
        mf.get_hcore = lambda mol=None: base(mol) + v_so
    else:
        mf.with_soc = True

    def get_occ(mo_energy=None, mo_coeff=None):
        occ = np.zeros(len(mo_energy))
        opened = open_spinors(mo_coeff, c, s, shell, l)
        so = np.einsum("pi,pq,qi->i", mo_coeff[:, opened].conj(), v_so, mo_coeff[:, opened])
        opened = opened[np.argsort(so.real)]  # j = l − ½ first: ⟨V_SO⟩ ∝ ⟨L·S⟩ = −(l+1)/2
        occ[opened[: 2 * l]] = split[0] / (2 * l)
        occ[opened[2 * l :]] = split[1] / (2 * l + 2)
        rest = np.setdiff1d(np.argsort(mo_energy), opened, assume_unique=True)
        rest = rest[np.argsort(mo_energy[rest])]
        occ[rest[: mol.nelectron - n_open]] = 1.0
        return occ

    mf.get_occ = get_occ
    mf.kernel()
    if not mf.converged:
        warnings.warn(f"GKS of {mol.atom} {split} not converged", stacklevel=2)
    return float(mf.e_tot)


COLUMNS = (
    "case", "GTH szv-molopt-sr", "GTH dzvp-molopt-sr", "GTH limit", "SO-ECP def2-SVP",
    "SO-ECP limit", "ΔSCF GTH dzvp", "ΔSCF ECP SVP", "GTH/ECP − 1 engine bases",
    "GTH/ECP − 1 limit", "experiment", "GTH limit/exp − 1", "ECP limit/exp − 1", "s",
)  # fmt: skip


def row(name: str) -> list[str]:
    """One table row (eV, relative differences) of case ``name``."""
    t0 = time.perf_counter()
    exp = None if CASES[name][-1] is None else CASES[name][-1] * CM_EV
    v = {m: splitting(name, m)[0] for m in BASES}
    d = {m: delta_scf(name, m)[0] for m in ("gth", "ecp")}
    cells = [f"{v[m]:.3f}" for m in ("gth-szv", "gth", "gth-et", "ecp", "ecp-et")]
    cells += [f"{d['gth']:.3f}", f"{d['ecp']:.3f}"]
    cells += [f"{v['gth'] / v['ecp'] - 1:+.1%}", f"{v['gth-et'] / v['ecp-et'] - 1:+.1%}"]
    if exp is None:
        cells += ["—", "—", "—"]
    else:
        cells += [f"{exp:.3f}", f"{v['gth-et'] / exp - 1:+.1%}", f"{v['ecp-et'] / exp - 1:+.1%}"]
    return [name, *cells, f"{time.perf_counter() - t0:.0f}"]


def main() -> None:
    warnings.filterwarnings("ignore", message="Function int1e_r[24]_origi")  # PySCF's GTH
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default=",".join(CASES))
    args = p.parse_args()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for name in args.cases.split(","):
        print("| " + " | ".join(row(name)) + " |", flush=True)


if __name__ == "__main__":
    main()
