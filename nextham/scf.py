"""SCF from a predicted Hamiltonian: the density of H = H0 + ΔH as PySCF's initial guess.

The guess density at the SCF k-points is built from the predicted H(k) = Σ_R e^{ik·R} H(R) and
PySCF's own S(k): H c = ε S c, Fermi–Dirac occupations with the settings' smearing and a Fermi
level that gives the cell's electron count, dm(k) = C f C†. A good Hamiltonian gives a density
close to self-consistency, so the SCF needs fewer iterations than from the SAD guess and ends
at the same energy (same functional, basis and mesh).

>>> from nextham.predict import Predictor
>>> from nextham.scf import run_scf, predicted_guess
>>> p = Predictor.from_file()
>>> dm0, t_guess = predicted_guess(p, atoms)
>>> run_scf(atoms, p.settings, dm0=dm0).cycles
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.linalg
from ase import Atoms
from scipy.special import expit

from nextham.conventions import HARTREE_EV
from nextham.dft.fermi import fermi_level
from nextham.dft.settings import EngineSettings
from nextham.formats.blocks import iter_blocks
from nextham.store import schema as K


@dataclass
class ScfResult:
    """Outcome of one SCF run (energies in eV, times in s)."""

    guess: str
    energy_ev: float
    converged: bool
    cycles: int
    wall_s: float
    guess_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def hamiltonian_at_kpts(record: dict, h_flat: np.ndarray, mf) -> np.ndarray:
    """H(k) in Hartree at ``mf.kpts``, PySCF AO layout, (nk, M, M) with M = nao or 2 nao."""
    from nextham.dft.engine import bloch_assemble

    blocks = [b for _, b in iter_blocks({**record, K.HT: np.asarray(h_flat)}, K.HT)]
    kfrac = mf.cell.get_scaled_kpts(mf.kpts)
    hk = bloch_assemble(
        mf.cell, blocks, kfrac, record[K.EDGE_INDEX], record[K.CELL_SHIFT], record[K.SPINOR]
    )
    return hk / HARTREE_EV


def fermi_occupations(eps_ev: list[np.ndarray], nelec: float, smearing_ev: float, occ: float):
    """Occupations per k (same shapes as ``eps_ev``) and the Fermi level (eV)."""
    mu = fermi_level(eps_ev, nelec, smearing_ev, occ)
    if smearing_ev > 0:
        return [occ * expit((mu - e) / smearing_ev) for e in eps_ev], mu
    return [occ * (e <= mu) for e in eps_ev], mu


def guess_density(mf, record: dict, h_flat: np.ndarray, smearing_ev: float) -> np.ndarray:
    """Density matrices (nk, M, M) at ``mf.kpts`` from the Hamiltonian ``h_flat`` (eV)."""
    hk = hamiltonian_at_kpts(record, h_flat, mf)
    sk = np.asarray(mf.get_ovlp())
    eigs, vecs = [], []
    for h, s in zip(hk, sk, strict=True):
        w, c = scipy.linalg.eigh(0.5 * (h + h.conj().T), s)
        eigs.append(w * HARTREE_EV)
        vecs.append(c)
    occ = 1.0 if record[K.SPINOR] else 2.0
    f, _mu = fermi_occupations(eigs, float(mf.cell.nelectron), smearing_ev, occ)
    return np.stack([(c * fk) @ c.conj().T for c, fk in zip(vecs, f, strict=True)])


def predicted_guess(predictor, atoms: Atoms, name: str = "structure") -> tuple[object, float]:
    """(guess density at the SCF k-points, seconds to predict and build it)."""
    from nextham.dft.cell import build_cell
    from nextham.dft.engine import make_mf

    t0 = time.perf_counter()
    pred = predictor.predict(atoms, name)
    settings = predictor.settings
    mf = make_mf(build_cell(atoms, settings), settings)
    dm = guess_density(mf, pred.record, pred.record[K.HT], settings.smearing_ev)
    return dm, time.perf_counter() - t0


def run_scf(atoms: Atoms, settings: EngineSettings, dm0=None, guess_s: float = 0.0) -> ScfResult:
    """PySCF SCF of ``atoms`` with the engine settings, from ``dm0`` (``None``: SAD guess)."""
    from nextham.dft.cell import build_cell
    from nextham.dft.engine import make_mf

    t0 = time.perf_counter()
    mf = make_mf(build_cell(atoms, settings), settings)
    mf.kernel(dm0=dm0)
    return ScfResult(
        guess="sad" if dm0 is None else "nextham",
        energy_ev=float(mf.e_tot * HARTREE_EV),
        converged=bool(mf.converged),
        cycles=int(getattr(mf, "cycles", -1)),
        wall_s=time.perf_counter() - t0,
        guess_s=guess_s,
    )
