"""Occupations and the Fermi level of band energies (eV), Fermi–Dirac or aufbau.

One chemical-potential search serves the engine (the Fermi level of an SCF), ``predict`` and
``bands`` (the Fermi level of a Hamiltonian on a mesh) and the SCF guess (the occupations of a
predicted Hamiltonian's states). Every k-point has the same weight; a level holds
``degeneracy`` electrons (:func:`nextham.conventions.electrons_per_level`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

INSULATOR_GAP_SMEARINGS = 20.0
"""A gap wider than this many smearing widths is an insulator's: its Fermi level is reported at
the middle of the gap (any μ in it holds the electrons)."""


def fermi_dirac(eps: np.ndarray, mu: float, smearing_ev: float, degeneracy: float) -> np.ndarray:
    """Occupation g f((ε − μ)/σ) of levels ``eps`` (any shape) at a given μ; a step at σ = 0."""
    if smearing_ev <= 0:
        return degeneracy * (eps <= mu)
    return degeneracy * expit((mu - eps) / smearing_ev)


def _check_count(n_levels: int, nk: int, n_electrons: float, degeneracy: float) -> None:
    target = n_electrons * nk
    if target > degeneracy * n_levels + 1e-9 or target <= 0:
        raise ValueError(f"cannot place {n_electrons} electrons in {n_levels // nk} bands")


def chemical_potential(
    flat: np.ndarray, nk: int, n_electrons: float, smearing_ev: float, degeneracy: float
) -> float:
    """μ (eV) with Σ_levels g f((ε − μ)/σ) = N_e · n_k for levels ``flat`` of ``nk`` k-points,
    f the Fermi function of width ``smearing_ev`` > 0."""
    target = n_electrons * nk

    def excess(mu: float) -> float:
        return degeneracy * expit((mu - flat) / smearing_ev).sum() - target

    lo, hi = flat.min() - 50 * smearing_ev, flat.max() + 50 * smearing_ev
    return float(brentq(excess, lo, hi, xtol=1e-12, maxiter=500))


def fermi_level(
    eigenvalues: Sequence[np.ndarray], n_electrons: float, sigma_ev: float, degeneracy: float
) -> float:
    """Chemical potential μ (eV) with Σ_k w_k Σ_n g f((ε_nk − μ)/σ) = N_e, equal k weights.

    With ``sigma_ev == 0``, or a gap wider than :data:`INSULATOR_GAP_SMEARINGS` smearing
    widths, μ is the middle of the gap between the highest occupied and the lowest
    unoccupied level.
    """
    eps = np.sort(np.concatenate([np.ravel(e) for e in eigenvalues]))
    nk = len(eigenvalues)
    n_occ = round(n_electrons * nk / degeneracy)
    if n_occ <= 0 or n_occ > eps.size:
        raise ValueError(f"cannot place {n_electrons} electrons in {eps.size // nk} bands")
    homo = eps[n_occ - 1]
    lumo = eps[n_occ] if n_occ < eps.size else homo
    if sigma_ev <= 0 or lumo - homo > INSULATOR_GAP_SMEARINGS * sigma_ev:
        return float(0.5 * (homo + lumo))
    return chemical_potential(eps, nk, n_electrons, sigma_ev, degeneracy)


def occupations(
    eps_ev: list[np.ndarray], n_electrons: float, smearing_ev: float, degeneracy: float
) -> tuple[list[np.ndarray], float]:
    """Occupations of band energies ``eps_ev`` (one (n_mo,) array per k, eV), equal k weights.

    Fermi–Dirac with width ``smearing_ev`` at the μ of :func:`chemical_potential`;
    ``smearing_ev == 0`` (or bands exactly full): aufbau, the lowest
    ``n_electrons · n_k / degeneracy`` levels over all k (as PySCF's k-point ``get_occ``).
    Returns (occupations shaped like ``eps_ev``, μ in eV).
    """
    flat, nk = np.concatenate([np.ravel(e) for e in eps_ev]), len(eps_ev)
    _check_count(flat.size, nk, n_electrons, degeneracy)
    if smearing_ev > 0 and n_electrons * nk < degeneracy * flat.size - 1e-9:
        mu = chemical_potential(flat, nk, n_electrons, smearing_ev, degeneracy)
        f = fermi_dirac(flat, mu, smearing_ev, degeneracy)
    else:
        order = np.argsort(flat, kind="stable")
        n_occ = round(n_electrons * nk / degeneracy)
        f = np.zeros_like(flat)
        f[order[:n_occ]] = degeneracy
        top = flat[order[min(n_occ, flat.size - 1)]]
        mu = 0.5 * (flat[order[n_occ - 1]] + top)
    split = np.cumsum([np.size(e) for e in eps_ev])[:-1]
    return [x.reshape(np.shape(e)) for x, e in zip(np.split(f, split), eps_ev)], float(mu)
