"""SCF from a Hamiltonian guess: the density of a stored or predicted H as PySCF's dm0.

At every SCF k-point the record's blocks are summed to H(k) = Σ_R e^{i2πk·R} H(R) in PySCF's AO
layout, diagonalized with PySCF's own overlap, H(k) c = ε S(k) c, and occupied with the engine's
Fermi–Dirac smearing at the chemical potential that holds the cell's electrons (aufbau when the
smearing is 0): dm(k) = C f C†. A Hamiltonian close to self-consistency gives a density close to
the converged one, so PySCF's SCF starts near its end point; it converges to the same energy as
from the SAD guess (same functional, basis and meshes). See docs/predict.md.

By default the guess takes H0 exactly at the SCF k-points (one SAD Fock build with the SCF's
own operators) and adds only the correction ΔH = H − H0 from the stored pairs: the long, slowly
decaying tail of H0 beyond the stored pairs is then not lost, which otherwise costs the SCF
about three cycles even for the exact Hamiltonian (docs/default-model.md).

>>> from nextham.predict import Predictor
>>> from nextham.scf import run_scf
>>> p = Predictor.from_file()                   # shipped model
>>> pred = p.predict(atoms)
>>> run_scf(atoms, p.settings, "hamiltonian", pred.record).cycles
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms
from pyscf.dft import libxc

from nextham.conventions import HARTREE_EV, electrons_per_level
from nextham.dft.ao_cache import cached_ao_values
from nextham.dft.cell import atom_ao_slices, build_cell
from nextham.dft.engine import h0_hamiltonian, make_mf, pin_hcore, screen_scf_grid
from nextham.dft.kspace_fock import bloch_assemble
from nextham.dft.sad import sad_density
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K
from nextham.record.layout import block_list, orbital_counts
from nextham.spectra.occupations import fermi_level, occupations

GUESSES = ("sad", "minao", "hamiltonian")
"""Initial guesses of :func:`run_scf`: PySCF's superposition of atomic densities (``"sad"``, the
engine's H0 density), PySCF's default ``"minao"``, or the density of a given Hamiltonian."""


@dataclass
class ScfResult:
    """One SCF run: energy and Fermi level in eV; ``wall_s`` is PySCF's kernel alone and
    ``guess_s`` the time to build its initial density (s)."""

    guess: str
    energy_ev: float
    converged: bool
    cycles: int
    wall_s: float
    guess_s: float
    fermi_level_ev: float

    def to_dict(self) -> dict:
        """JSON-serializable form."""
        return asdict(self)


def hamiltonian_at_kpts(record: dict, h_flat: np.ndarray, mf) -> np.ndarray:
    """H(k) in Hartree at ``mf.kpts`` from the record's pairs and blocks ``h_flat`` (eV).

    Returns (nk, M, M) complex in PySCF's AO layout: M = nao (scalar, KRKS) or 2 nao (spinor,
    KGKS: all α AOs, then all β AOs; the records' spinor blocks are spin-major per atom).
    """
    cell, spinor = mf.cell, bool(record[K.SPINOR])
    if spinor != (mf.istype("KGHF") or mf.istype("GHF")):
        kind = "spinor" if spinor else "scalar"
        raise ValueError(f"a {kind} record needs a {'KGKS' if spinor else 'KRKS'} SCF object")
    n_rec, n_cell = orbital_counts(record), np.diff(atom_ao_slices(cell), axis=1).ravel()
    if len(n_rec) != cell.natm or np.any(n_rec != n_cell):
        raise ValueError(
            f"the record's atoms/orbitals per atom {n_rec.tolist()} differ from the cell's "
            f"{n_cell.tolist()}: another structure or basis"
        )
    h_flat = np.asarray(h_flat)
    if h_flat.shape != (int(record[K.BLOCK_PTR][-1]) * (4 if spinor else 1),):
        raise ValueError(f"h_flat has shape {h_flat.shape}, not that of the record's blocks")
    blocks = block_list(record, K.HT, h_flat)
    kfrac = cell.get_scaled_kpts(mf.kpts)
    hk = bloch_assemble(cell, blocks, kfrac, record[K.EDGE_INDEX], record[K.CELL_SHIFT], spinor)
    return hk / HARTREE_EV


def _smearing_ev(mf) -> float:
    """Fermi–Dirac width (eV) of a PySCF SCF object; 0 without smearing."""
    sigma = getattr(mf, "sigma", None) or 0.0
    if sigma and str(getattr(mf, "smearing_method", "fermi")).lower() != "fermi":
        raise ValueError("only Fermi–Dirac smearing is supported (the engine's choice)")
    return float(sigma) * HARTREE_EV


def sad_fock_at_kpts(mf, settings: EngineSettings) -> np.ndarray:
    """H0 (Hartree) exactly at ``mf.kpts`` with the SCF's own operators: ``get_hcore`` plus
    ``get_veff`` of PySCF's SAD density (without the SO term when the settings say so).

    The SCF's own discretisation matters: the multigrid H0 of ``predict`` differs from it by
    up to ~0.5 meV, enough to cost the SCF extra cycles. The core Hamiltonian computed here
    is pinned on ``mf`` (when it is the SCF's: not for a scalar-H0 spin–orbit run), so the SCF
    does not compute it again; the guess then costs one J + V_xc build.
    """
    dm0 = sad_density(mf)
    with h0_hamiltonian(mf, settings):
        h1e = np.asarray(mf.get_hcore())
        veff = np.asarray(mf.get_veff(dm=dm0))
    if settings.h0_spin_orbit or settings.spin != "soc":
        pin_hcore(mf, h1e)
    return h1e + veff


def guess_density(
    mf,
    record: dict,
    h_flat: np.ndarray,
    smearing_ev: float | None = None,
    h0_k: np.ndarray | None = None,
) -> np.ndarray:
    """Density matrices at ``mf.kpts`` from the Hamiltonian ``h_flat`` (eV) of ``record``.

    With ``h0_k`` (H0 in Hartree at ``mf.kpts``, :func:`sad_fock_at_kpts`), H(k) is
    ``h0_k`` plus the Bloch sum of ``h_flat − record[H0]`` (only the correction comes from the
    stored pairs); without it, the Bloch sum of ``h_flat``.

    Diagonalizes H(k) in PySCF's S(k) with ``mf.eig`` (PySCF's handling of near-linear
    dependence), occupies with :func:`nextham.spectra.occupations.occupations` (smearing of
    ``mf`` unless ``smearing_ev`` is given; ``mf.cell.nelectron`` electrons; 2 per level
    scalar, 1 spinor) and returns
    dm(k) = C f C†, shape (nk, nao, nao) for KRKS or (nk, 2 nao, 2 nao) for KGKS, complex.
    """
    if h0_k is None:
        hk = hamiltonian_at_kpts(record, h_flat, mf)
    else:
        hk = np.asarray(h0_k) + hamiltonian_at_kpts(record, h_flat - record[K.H0], mf)
    return density_of(mf, hk, bool(record[K.SPINOR]), smearing_ev)


def density_of(mf, hk: np.ndarray, spinor: bool, smearing_ev: float | None = None) -> np.ndarray:
    """Density matrices at ``mf.kpts`` of H(k) ``hk`` (Hartree, (nk, M, M)), as
    :func:`guess_density` makes them (PySCF's S(k), the engine's occupations)."""
    hk = 0.5 * (hk + hk.conj().transpose(0, 2, 1))
    sk = np.asarray(mf.get_ovlp())
    eps, coeff = mf.eig(hk, sk, x=mf.check_linear_dependency(sk, 0))
    keep = [np.asarray(e) < 1e20 for e in eps]  # PySCF marks removed directions with 1e30
    eps_ev = [np.asarray(e)[m] * HARTREE_EV for e, m in zip(eps, keep, strict=True)]
    coeff = [np.asarray(c)[:, m] for c, m in zip(coeff, keep, strict=True)]
    sigma = _smearing_ev(mf) if smearing_ev is None else float(smearing_ev)
    degeneracy = electrons_per_level(spinor)
    f, _mu = occupations(eps_ev, float(mf.cell.nelectron), sigma, degeneracy)
    return np.stack([(c * fk) @ c.conj().T for c, fk in zip(coeff, f, strict=True)])


def run_scf(
    atoms: Atoms,
    settings: EngineSettings,
    guess: str = "sad",
    record: dict | None = None,
    h_flat: np.ndarray | None = None,
    verbose: int = 0,
    exact_h0: bool = True,
) -> ScfResult:
    """PySCF SCF of ``atoms`` (Å) with the engine's ``settings``, from the chosen guess.

    ``guess="hamiltonian"`` starts from :func:`guess_density` of ``h_flat`` (eV; default
    ``record[HT]``, e.g. a prediction's H) on ``record``'s pairs, which must describe ``atoms``
    under the same basis and spin mode; ``exact_h0`` (default) takes H0 exactly at the SCF
    k-points and only ΔH from the pairs (:func:`guess_density`). ``"sad"`` is the engine's
    atomic-density start. PySCF's orbital values on the grid are computed once for the whole
    run, as in a label (:mod:`nextham.dft.ao_cache`).
    """
    if guess not in GUESSES:
        raise ValueError(f"guess must be one of {GUESSES}, got {guess!r}")
    if guess == "hamiltonian" and record is None:
        raise ValueError('guess="hamiltonian" needs a record (and optionally h_flat)')
    if record is not None and (record[K.NUMBERS].tolist() != atoms.numbers.tolist()):
        raise ValueError("the record's atoms are not those of the structure")
    with cached_ao_values(gradients=libxc.xc_type(settings.xc) == "GGA"):
        mf = make_mf(build_cell(atoms, settings, verbose=verbose), settings)
        screen_scf_grid(mf)  # the SCF grid shares the density fitting's cached orbital values
        t0 = time.perf_counter()
        if guess == "hamiltonian":
            h = record[K.HT] if h_flat is None else h_flat
            h0_k = sad_fock_at_kpts(mf, settings) if exact_h0 else None
            dm0 = guess_density(mf, record, h, settings.smearing_ev, h0_k)
        else:
            dm0 = sad_density(mf) if guess == "sad" else mf.get_init_guess(key="minao")
        t1 = time.perf_counter()
        mf.kernel(dm0=dm0)
        t2 = time.perf_counter()
    eps = [np.asarray(e) * HARTREE_EV for e in mf.mo_energy]
    return ScfResult(
        guess=guess,
        energy_ev=float(mf.e_tot * HARTREE_EV),
        converged=bool(mf.converged),
        cycles=int(getattr(mf, "cycles", -1)),
        wall_s=t2 - t1,
        guess_s=t1 - t0,
        fermi_level_ev=fermi_level(
            eps, float(mf.cell.nelectron), settings.smearing_ev, settings.degeneracy
        ),
    )
