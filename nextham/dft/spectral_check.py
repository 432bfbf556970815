"""Spectral check of a label: do the stored H(R), S(R) give PySCF's bands between the k-points?

The round-trip check compares matrix elements at the SCF k-points. It misses what a truncated
or ill-conditioned basis does to the *spectrum*: meV errors along near-null directions of S(k)
become eV-sized eigenvalue errors, and spurious states appear far below the valence band. This
check diagonalizes the stored blocks at Γ and at k-points off the SCF mesh and compares with
PySCF's own Fock matrix of the converged density there:

``max_band_error_ev``   largest |ε_stored − ε_PySCF| over the levels up to E_F + ``window``
                        (all occupied levels and the empty ones in the window), level by level
``min_overlap_eig``     smallest eigenvalue of the stored S(k) at those k-points and on the
                        :data:`OVERLAP_MESH` (cheap: no PySCF); ≤ 0: not a metric
``states_below_ef``     stored levels below E_F per k (min over k), and ``count_mismatch``: the
                        largest excess of |stored − PySCF| levels below E_F at one k over the
                        PySCF levels within :data:`BAND_TOL_EV` of E_F (those may cross it): a
                        ghost state below the bands or a lost one, metals included
``passed``              all three within bounds (:data:`BAND_TOL_EV`; S(k) positive; no
                        count mismatch)
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from nextham.conventions import electrons_per_level
from nextham.dft.kspace_fock import pyscf_levels
from nextham.record import keys as K
from nextham.spectra.bloch import record_bloch
from nextham.spectra.kspace import gamma_mesh

CHECK_KPTS = np.array([[0.0, 0.0, 0.0], [0.13, 0.27, 0.41], [0.5, 0.21, -0.17]])
"""Fractional k-points of the band comparison: Γ (where ghost states of an ill-conditioned
basis showed) and two off every Γ-centred mesh the engine uses."""
OVERLAP_MESH = (4, 4, 4)
"""Γ-centred mesh on which the stored S(k) must also be positive definite (it holds the zone
boundary points X, L of cubic cells)."""
BAND_TOL_EV = 0.05
"""Largest band error (eV) of a label that passes."""
WINDOW_EV = 5.0


def spectral_check(record: dict, mf, kfrac: np.ndarray = CHECK_KPTS) -> dict:
    """Check the stored H (``record[HT]``) and S against PySCF at ``kfrac`` (module docstring).

    ``mf`` is the converged SCF object of the label (scalar KRKS or spinor KGKS).
    """
    kfrac = np.asarray(kfrac, dtype=float)
    spinor = bool(record[K.SPINOR])
    ef = float(record[K.META]["fermi_level"])
    n_occ = math.ceil(float(record[K.META]["n_electrons"]) / electrons_per_level(spinor) - 1e-9)
    h_k = record_bloch(record, K.HT, kfrac).numpy()
    s_k = record_bloch(record, K.S, kfrac).numpy()
    errors, min_eig, below, mismatch = [], np.inf, [], 0
    for h, s, ref in zip(h_k, s_k, pyscf_levels(mf, kfrac), strict=True):
        s_eigs = np.linalg.eigvalsh(0.5 * (s + s.conj().T))
        min_eig = min(min_eig, float(s_eigs.min()))
        if s_eigs.min() <= 0:  # not a metric: the stored generalized problem has no spectrum
            errors.append(np.inf)
            below.append(-1)
            mismatch = max(mismatch, len(ref))
            continue
        got = scipy.linalg.eigh(0.5 * (h + h.conj().T), 0.5 * (s + s.conj().T), eigvals_only=True)
        keep = np.arange(len(ref)) < max(n_occ, int(np.sum(ref <= ef + WINDOW_EV)), 1)
        errors.append(float(np.abs(got - ref)[keep].max()))
        below.append(int(np.sum(got < ef)))
        near = int(np.sum(np.abs(ref - ef) < BAND_TOL_EV))
        mismatch = max(mismatch, abs(below[-1] - int(np.sum(ref < ef))) - near)
    mesh_s = record_bloch(record, K.S, gamma_mesh(OVERLAP_MESH)).numpy()
    min_eig = min(
        min_eig, float(np.linalg.eigvalsh(0.5 * (mesh_s + np.conj(mesh_s.swapaxes(1, 2)))).min())
    )
    out = {
        "kpts_frac": kfrac.tolist(),
        "max_band_error_ev": float(max(errors)),
        "min_overlap_eig": min_eig,
        "states_below_ef": int(min(below)),
        "occupied_states": n_occ,
        "count_mismatch": int(max(mismatch, 0)),
    }
    out["passed"] = bool(
        out["max_band_error_ev"] <= BAND_TOL_EV and min_eig > 0 and out["count_mismatch"] == 0
    )
    return out


def failure_message(check: dict) -> str:
    """One line naming what a failed check measured and the fix."""
    return (
        f"spectral check failed: band error {check['max_band_error_ev']:.3g} eV at off-mesh k "
        f"(limit {BAND_TOL_EV} eV), smallest S(k) eigenvalue {check['min_overlap_eig']:.2e}, "
        f"{check.get('count_mismatch', 0)} levels below E_F more or fewer than PySCF's; "
        "tighten --threshold (more pairs) or use a better-conditioned basis (szv-molopt-sr, "
        "dzvp-molopt-sr)"
    )
