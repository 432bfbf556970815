"""nextham's interband optics against PYATB's on the same Hamiltonian, S(R) and r(R).

For Si₂ (diamond, 5.43 Å) and AlP (zincblende, 5.46 Å), default engine settings (gth-szv, PBE)
with the position matrix: the label is exported with ``nextham.formats.abacus.write`` (H(R) in
eV, S(R), r(R) in Bohr) and PYATB (``OPTICAL_CONDUCTIVITY``, ``method 1``: Lorentzian) reads
those files; nextham's ``optical_spectrum`` runs on the record itself. Both use the same
Γ-centred k-mesh (PYATB's ``grid`` is k = (i/N₁, j/N₂, l/N₃), as ``gamma_mesh``), the same ω
grid, Lorentzian η, and the same occupations: the lowest N_e/2 bands (PYATB ``occ_band``;
nextham a step at the mid-gap Fermi level, smearing 0). No factor is adjusted:

- Both compute ε_ab − δ_ab = (2e²/ε₀ N_k V) Σ_k Σ_{n occ, m empty} [v^a_nm v^b_mn /
  (Δ²(Δ − ħω − iη)) + (v^a_nm v^b_mn)* / (Δ²(Δ + ħω + iη))], Δ = ε_m − ε_n, ħv in eV·Å, with
  ħv = C†(∂H − ε_n ∂S)C + i(ε_n − ε_m) C† r(k) C; PYATB adds the 1 on the diagonal, as
  nextham does. PYATB's constants (h/e², ε₀, ħ, eV of CODATA 2014) differ from SciPy's in the
  8th digit.
- PYATB's σ is the velocity form −i(2e²/ħ N_k V) Σ v v / (Δ(ħω − Δ + iη)) (+ the
  anti-resonant term), nextham's σ = −iε₀ω(ε − 1) (the length form): at η → 0 they are equal,
  at finite η they differ by the factor ħω/Δ inside each Lorentzian. Re σ is therefore
  compared three times: nextham's σ with PYATB's σ file and with ε₀ω Im ε built from PYATB's
  own ε file, and the velocity form summed here from nextham's momenta (``kubo.solve``, the
  occupations above) with PYATB's σ file.
- PYATB skips transitions with Δ above 1.5 × its highest ω; their Lorentzian tails reach
  into the window (Si₂ with ω up to 10 eV: 4e-6 of Im ε with the exact r, 4e-4 with the
  two-centre one). Both codes therefore run on ω = 0.01, 0.02, … eV up to past 2/3 of the
  largest transition on the mesh (PYATB then keeps every transition) and are compared on
  0.01–10 eV.

The relative L1 is Σ|a − b| / Σ|b| of the trace average (xx + yy + zz)/3 over the ω grid,
b = PYATB. Rows: both codes with the exact r(R); both with the two-centre
r ≈ ½(τ_i + τ_j + R)S (nextham's fallback formula against PYATB fed that r); nextham's
two-centre fallback against PYATB with the exact r (the size of the approximation).

    bash benchmarks/setup_pyatb.sh                   # PYATB in ~/nextham-data/envs/pyatb
    OMP_NUM_THREADS=1 python benchmarks/optics_vs_pyatb.py [--kmesh 12] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import numpy as np
from ase.build import bulk
from scipy.constants import e as E_CHARGE
from scipy.constants import epsilon_0, hbar

from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.formats import abacus
from nextham.optics import optical_spectrum
from nextham.optics.bloch import DenseBloch, frac_to_cart
from nextham.optics.kubo import solve
from nextham.record import keys as K
from nextham.spectra.eigen import band_energies
from nextham.spectra.kspace import gamma_mesh

STRUCTURES = {
    "Si2": lambda: bulk("Si", "diamond", a=5.43),
    "AlP": lambda: bulk("AlP", "zincblende", a=5.46),
}
DOMEGA = 0.01  # eV; PYATB's ω grid is start + i·domega
INPUT = """INPUT_PARAMETERS
{{
    nspin               1
    package             ABACUS
    fermi_energy        {ef:.10f}
    fermi_energy_unit   eV
    HR_route            {hr}
    SR_route            {sr}
    rR_route            {rr}
    HR_unit             eV
    rR_unit             Bohr
    max_kpoint_num      4000
}}

LATTICE
{{
    lattice_constant        1.0
    lattice_constant_unit   Angstrom
    lattice_vector
{lattice}
}}

OPTICAL_CONDUCTIVITY
{{
    occ_band      {occ}
    omega         {w0:.6f} {w1:.6f}
    domega        {dw:.6f}
    eta           {eta}
    grid          {grid}
    method        1
}}
"""


def mid_gap(record: dict, kmesh: tuple) -> tuple[float, float, int, float]:
    """(mid-gap Fermi level eV, gap eV, occupied bands, largest transition eV) of
    ``record[HT]`` on the k-mesh."""
    eps = band_energies(record, record[K.HT], gamma_mesh(kmesh))
    occ = round(record[K.META]["n_electrons"] / 2)
    vbm, cbm = eps[:, occ - 1].max(), eps[:, occ].min()
    if cbm - vbm < 0.1:
        raise SystemExit(f"gap {cbm - vbm:.3f} eV on the mesh: not a semiconductor here")
    return float(0.5 * (vbm + cbm)), float(cbm - vbm), occ, float((eps[:, -1] - eps[:, 0]).max())


def run_pyatb(folder: Path, record: dict, env: Path, ef: float, occ: int, kmesh: tuple,
              omega: np.ndarray, eta: float) -> dict:  # fmt: skip
    """PYATB's optical conductivity in ``folder`` (ABACUS files already there): returns
    {"eps_imag", "sigma_real"} (nω, 9) read from its Out/Optical_Conductivity files."""
    lattice = "\n".join("    " + " ".join(f"{x:.12f}" for x in row) for row in record[K.CELL])
    dw = float(omega[1] - omega[0])
    text = INPUT.format(ef=ef, hr=abacus.HR, sr=abacus.SR, rr=abacus.RR, lattice=lattice,
                        occ=occ, w0=omega[0], w1=omega[-1], dw=dw, eta=eta,
                        grid=" ".join(map(str, kmesh)))  # fmt: skip
    (folder / "Input").write_text(text)
    env_vars = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [str(env / "bin" / "mpirun"), "-np", "1", str(env / "bin" / "pyatb")]
    done = subprocess.run(cmd, cwd=folder, env=env_vars, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"PYATB failed in {folder}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    out = folder / "Out" / "Optical_Conductivity"
    eps = np.loadtxt(out / "dielectric_function_imag_part.dat")
    sig = np.loadtxt(out / "optical_conductivity_real_part.dat")
    if len(eps) != len(omega) or not np.allclose(eps[:, 0], omega, atol=1e-5):
        raise SystemExit(f"PYATB's ω grid ({len(eps)} points) is not the requested one")
    return {"eps_imag": eps[:, 1:], "sigma_real": sig[:, 1:]}


def trace(a: np.ndarray) -> np.ndarray:
    """(xx + yy + zz)/3 of (nω, 9) PYATB columns or (nω, 3) nextham diagonals."""
    a = np.asarray(a)
    return a[:, [0, 4, 8]].mean(1) if a.shape[1] == 9 else a.mean(1)


def rel_l1(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).sum() / np.abs(b).sum())


def velocity_form_sigma(record: dict, kmesh: tuple, grid: np.ndarray, occ: int, eta: float):
    """Re σ (nω,) S/m, trace average, in PYATB's velocity form from nextham's momenta:
    (2e²/ħ N_k V) Σ Re[i vv/(Δ(ħω − Δ + iη)) + i (vv)*/(Δ(ħω + Δ + iη))], vv = p^a_nm p^a_mn."""
    kc = frac_to_cart(record, gamma_mesh(kmesh))
    bloch, sigma = DenseBloch(record), np.zeros(len(grid), dtype=complex)
    for start in range(0, len(kc), 64):
        eps, _, p = solve(bloch, kc[start : start + 64])
        delta = eps[:, None, occ:] - eps[:, :occ, None]  # (nk, occ, empty) Δ = ε_m − ε_n
        vv = np.einsum("aqnm,aqmn->qnm", p[:, :, :occ, occ:], p[:, :, occ:, :occ]) / 3
        d, vv = delta.ravel()[:, None], vv.ravel()[:, None]
        res = vv / (d * (grid - d + 1j * eta)) + vv.conj() / (d * (grid + d + 1j * eta))
        sigma += 2j * res.sum(0)
    volume = abs(np.linalg.det(np.asarray(record[K.CELL], dtype=float)))
    return (sigma * E_CHARGE**2 / hbar / (len(kc) * volume) * 1e10).real  # 1/Å → 1/m


def compare(ours, theirs: dict, omega: np.ndarray, sigma_v: np.ndarray) -> dict:
    """Relative L1 over ``omega`` (the first len(omega) points of both spectra) of Im ε, of
    Re σ (PYATB's σ file) and of Re σ = ε₀ω Im ε (PYATB's ε)."""
    w = len(omega)
    eps_n, eps_p = trace(ours.eps_imag)[:w], trace(theirs["eps_imag"])[:w]
    sig_n, sig_p = trace(ours.sigma_real)[:w], trace(theirs["sigma_real"])[:w]
    sig_from_eps = epsilon_0 * omega * E_CHARGE / hbar * eps_p  # S/m
    return {
        "eps": rel_l1(eps_n, eps_p),
        "sigma": rel_l1(sig_n, sig_p),
        "sigma_eps": rel_l1(sig_n, sig_from_eps),
        "sigma_v": rel_l1(sigma_v[:w], sig_p),
        "peak_n": eps_n.max(),
        "peak_p": eps_p.max(),
        "w_n": omega[eps_n.argmax()],
        "w_p": omega[eps_p.argmax()],
        "sig_peak_n": sig_n.max(),
        "sig_peak_p": sig_p.max(),
    }


def run_structure(name: str, args, omega: np.ndarray) -> list[tuple]:
    kmesh = (args.kmesh,) * 3
    t0 = time.perf_counter()
    record = compute_record(STRUCTURES[name](), EngineSettings(position_matrix=True))
    ef, gap, occ, top = mid_gap(record, kmesh)
    n_run = max(len(omega), int(np.ceil(top / 1.5 / DOMEGA)) + 2)
    grid = np.round(np.arange(1, n_run + 1) * DOMEGA, 6)  # PYATB keeps Δ < 1.5 grid[-1]
    print(f"{name}: label {time.perf_counter() - t0:.0f} s, gap on the mesh {gap:.3f} eV, "
          f"E_F (mid-gap) {ef:.4f} eV, {occ} occupied bands, largest transition {top:.2f} eV, "
          f"ω run up to {grid[-1]:.2f} eV")  # fmt: skip
    two_centre = {k: v for k, v in record.items() if k != K.R_MATRIX}
    pyatb, ours, vform = {}, {}, {}
    for r_name, rec in (("exact", record), ("two-centre", two_centre)):
        folder = args.work / name / r_name
        folder.mkdir(parents=True, exist_ok=True)
        assert abacus.write(rec, folder, units="ev") == r_name
        t0 = time.perf_counter()
        pyatb[r_name] = run_pyatb(folder, rec, args.pyatb, ef, occ, kmesh, grid, args.eta)
        t1 = time.perf_counter()
        ours[r_name] = optical_spectrum(rec, kmesh, grid, args.eta, "lorentzian", ef, 0.0)
        vform[r_name] = velocity_form_sigma(rec, kmesh, grid, occ, args.eta)
        t2 = time.perf_counter()
        print(f"  r {r_name}: PYATB {t1 - t0:.0f} s, nextham {t2 - t1:.0f} s")
    pairs = (("exact", "exact"), ("two-centre", "two-centre"), ("two-centre", "exact"))
    return [(name, a, b, compare(ours[a], pyatb[b], omega, vform[a])) for a, b in pairs]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pyatb", type=Path, default=Path.home() / "nextham-data/envs/pyatb",
                   help="PYATB's virtual environment (benchmarks/setup_pyatb.sh)")  # fmt: skip
    p.add_argument("--work", type=Path, default=Path.home() / "nextham-data/optics-vs-pyatb")
    p.add_argument("--kmesh", type=int, default=12, help="N of the Γ-centred N×N×N mesh")
    p.add_argument("--eta", type=float, default=0.03, help="Lorentzian η (eV)")
    p.add_argument("--structures", default="Si2,AlP")
    args = p.parse_args()
    omega = np.round(np.arange(1, 1001) * DOMEGA, 6)  # 0.01–10 eV, compared
    rows = []
    for name in args.structures.split(","):
        rows += run_structure(name, args, omega)
    print(f"\n{args.kmesh}³ k, Lorentzian η = {args.eta} eV, ħω = 0.01–10 eV (1000 points); "
          "relative L1 of the trace average against PYATB\n")  # fmt: skip
    print("| structure | r (nextham) | r (PYATB) | Im ε | Re σ | Re σ vs ε₀ω Im ε (PYATB) | "
          "Re σ velocity form | peak Im ε nextham / PYATB (at eV) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, r_ours, r_theirs, c in rows:
        print(f"| {name} | {r_ours} | {r_theirs} | {c['eps']:.2e} | {c['sigma']:.2e} | "
              f"{c['sigma_eps']:.2e} | {c['sigma_v']:.2e} | {c['peak_n']:.3f} ({c['w_n']:.2f}) / "
              f"{c['peak_p']:.3f} ({c['w_p']:.2f}) |")  # fmt: skip


if __name__ == "__main__":
    main()
