"""Fermi level from band energies (eV) by Fermi–Dirac occupation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit


def fermi_level(
    eigenvalues: Sequence[np.ndarray], n_electrons: float, sigma_ev: float, degeneracy: float
) -> float:
    """Chemical potential μ (eV) with Σ_k w_k Σ_n g f((ε_nk − μ)/σ) = N_e, equal k weights.

    With ``sigma_ev == 0`` (or a gap wider than the smearing) μ is the middle of the gap
    between the highest occupied and the lowest unoccupied level.
    """
    eps = np.sort(np.concatenate([np.ravel(e) for e in eigenvalues]))
    nk = len(eigenvalues)
    n_occ = round(n_electrons * nk / degeneracy)
    if n_occ <= 0 or n_occ > eps.size:
        raise ValueError(f"cannot place {n_electrons} electrons in {eps.size // nk} bands")
    homo = eps[n_occ - 1]
    lumo = eps[n_occ] if n_occ < eps.size else homo
    if sigma_ev <= 0:
        return float(0.5 * (homo + lumo))

    def excess(mu: float) -> float:
        return degeneracy * expit((mu - eps) / sigma_ev).sum() / nk - n_electrons

    lo, hi = eps[0] - 50 * sigma_ev, eps[-1] + 50 * sigma_ev
    mu = brentq(excess, lo, hi, xtol=1e-10)
    if lumo - homo > 20 * sigma_ev:  # insulator: any μ in the gap; report its middle
        return float(0.5 * (homo + lumo))
    return float(mu)
