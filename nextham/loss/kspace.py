"""Reciprocal-space loss in the eigenbasis of the reference Hamiltonian.

At a k-point, the reference generalized problem H_ref(k) C = S(k) C ε is solved without
gradient; the predicted H_pred(k) is projected on the reference states,
H̃ = C† H_pred(k) C, which equals diag ε when the prediction is exact. With P the states
with ε < E_F + window (default 10 eV) and Q the others, the three terms are

    pp = (1/n_P) Σ_{a∈P} Σ_{b∈P} |H̃_ab − ε_a δ_ab|²
    qq = (1/n_Q) Σ_{a∈Q} Σ_{b∈Q} |H̃_ab − ε_a δ_ab|²
    pq = (1/n_P) Σ_{a∈P} Σ_{b∈Q} |H̃_ab|²

in eV², averaged over the k-points (an empty P or Q gives 0), and a one-sided term on the
high-energy states' predicted energies (Rayleigh quotients H̃_aa, a ∈ Q)

    ghost = (1/n_Q) Σ_{a∈Q} max(0, E_F + window − Re H̃_aa)²

which is zero unless the prediction pulls a reference high-energy state down into the
window — the first-order mechanism of a ghost band. Where S is near-singular the Q states
along its small-eigenvalue directions have coefficients ∝ s^{-1/2}, so small real-space
errors move their H̃_aa by errors/s: ``qq`` then weighs every such error quadratically and
dominates the gradient, ``ghost`` acts only on the states that actually fall.

``pp + pq`` is the mean over P-states of the squared residual ‖(H_pred − ε_a S) c_a‖²
measured in the S⁻¹ metric, so it vanishes only if every low-energy reference state is an
exact eigenstate of the prediction.

Near-singular S (canonical orthogonalization)
---------------------------------------------
S(k) = U diag(s) U†; eigenvectors with s ≤ ``s_threshold`` (absolute, default 1e-6) are
dropped and X = U_kept diag(s_kept^{-1/2}) spans the rest, so X† S X = I. The reference is
diagonalized as X† H_ref X = V diag(ε) V† and C = X V (M × m, m ≤ M), with C† S C = I. No
inverse of a small eigenvalue is ever formed, and the dropped directions — numerically
redundant combinations of basis functions — carry no loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nextham.record.layout import BlockLayout
from nextham.spectra.bloch import bloch_sum, spinor_overlap_k


@dataclass(frozen=True)
class ReferenceStates:
    """Reference eigenpairs at one k-point.

    Attributes
    ----------
    energies : (m,) real, eV, ascending.
    vectors : (M, m) complex, S-orthonormal (C† S C = I).
    """

    energies: torch.Tensor
    vectors: torch.Tensor


def sample_kpoints(mesh: tuple[int, int, int], n_k: int, generator: torch.Generator) -> np.ndarray:
    """Random k-points from a randomly shifted uniform grid, fractional coordinates.

    The grid ``(i_a + t_a) / n_a`` has one random offset t ∈ [0, 1)³ per call; ``n_k``
    distinct grid points are drawn without replacement (all of them if the grid is smaller).

    Returns
    -------
    np.ndarray, (min(n_k, n1 n2 n3), 3) float64
    """
    n = torch.as_tensor(mesh, dtype=torch.float64)
    shift = torch.rand(3, generator=generator, dtype=torch.float64)
    total = int(torch.prod(n).item())
    pick = torch.randperm(total, generator=generator)[: min(n_k, total)]
    i0 = pick // int(mesh[1] * mesh[2])
    i1 = (pick // int(mesh[2])) % int(mesh[1])
    i2 = pick % int(mesh[2])
    grid = torch.stack([i0, i1, i2], dim=1).to(torch.float64)
    return ((grid + shift) / n).numpy()


def canonical_orthogonalizer(s_k: torch.Tensor, s_threshold: float = 1e-6) -> torch.Tensor:
    """X = U_kept diag(s_kept^{-1/2}) for one Hermitian S, shape (M, m); X† S X = I."""
    s_h = 0.5 * (s_k + s_k.conj().T)
    vals, vecs = torch.linalg.eigh(s_h)
    keep = vals > s_threshold
    if not bool(keep.any()):
        raise ValueError("every overlap eigenvalue is below s_threshold")
    return vecs[:, keep] / vals[keep].sqrt().to(vecs.dtype)


@torch.no_grad()
def reference_states(
    h_ref_k: torch.Tensor, s_k: torch.Tensor, s_threshold: float = 1e-6
) -> list[ReferenceStates]:
    """Solve H_ref(k) C = S(k) C ε at every k (no gradient).

    Parameters
    ----------
    h_ref_k, s_k : (nk, M, M) complex
        Reference Hamiltonian and overlap.
    s_threshold : float
        Overlap eigenvalues at or below this are dropped (canonical orthogonalization).

    Returns
    -------
    list of ReferenceStates, one per k-point.
    """
    out = []
    for h, s in zip(h_ref_k, s_k, strict=True):
        x = canonical_orthogonalizer(s, s_threshold)
        h_orth = x.conj().T @ h @ x
        eps, v = torch.linalg.eigh(0.5 * (h_orth + h_orth.conj().T))
        out.append(ReferenceStates(energies=eps, vectors=x @ v))
    return out


def _block_mean(block: torch.Tensor, n_rows: int) -> torch.Tensor:
    if block.numel() == 0 or n_rows == 0:
        return block.real.sum() * 0.0
    return block.abs().square().sum() / n_rows


def projected_terms(
    h_pred_k: torch.Tensor,
    states: list[ReferenceStates],
    fermi_level: float,
    window: float = 10.0,
) -> dict[str, torch.Tensor]:
    """The pp, qq, pq and ghost terms (eV²), averaged over k; differentiable in ``h_pred_k``.

    Parameters
    ----------
    h_pred_k : (nk, M, M) complex
        Predicted Hamiltonian at the k-points of ``states``.
    states : list of ReferenceStates
        From :func:`reference_states`.
    fermi_level : float
        E_F in eV; P holds the states with ε < E_F + ``window``.
    """
    if len(states) != h_pred_k.shape[0]:
        raise ValueError("one ReferenceStates per k-point is required")
    terms: dict[str, list[torch.Tensor]] = {"pp": [], "qq": [], "pq": [], "ghost": []}
    for h, st in zip(h_pred_k, states, strict=True):
        c = st.vectors.to(h.dtype)
        err = c.conj().T @ h @ c - torch.diag(st.energies.to(h.dtype))
        p = st.energies < fermi_level + window
        n_p, n_q = int(p.sum()), int((~p).sum())
        terms["pp"].append(_block_mean(err[p][:, p], n_p))
        terms["qq"].append(_block_mean(err[~p][:, ~p], n_q))
        terms["pq"].append(_block_mean(err[p][:, ~p], n_p))
        predicted = st.energies.to(err.real.dtype) + torch.diagonal(err).real  # Re H̃_aa
        fall = torch.relu(fermi_level + window - predicted[~p])
        terms["ghost"].append(_block_mean(fall, n_q))
    return {name: torch.stack(vals).mean() for name, vals in terms.items()}


def rms_residual(terms: dict[str, torch.Tensor], floor: float = 1e-12) -> torch.Tensor:
    """√(pp + pq) (eV) of :func:`projected_terms`' output: the RMS over the low-energy
    reference states of ‖(H_pred − ε_a S) c_a‖ (S⁻¹ metric). Its gradient has the same size
    whether a structure's bands are off by 10 meV or by 5 eV, so a few structures of large
    error (charge transfer in an oxide, a 3d compound) do not drown the others as they do in
    the squared terms; ``floor`` (eV²) keeps the gradient finite at an exact prediction."""
    return torch.sqrt(terms["pp"] + terms["pq"] + floor)


def _double(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(x)
    return t.to(torch.complex128) if t.is_complex() else t.to(torch.float64)


def kspace_loss(
    pred_flat: torch.Tensor,
    ref_flat: torch.Tensor,
    s_flat: torch.Tensor,
    layout: BlockLayout,
    kpts: np.ndarray,
    fermi_level: float,
    window: float = 10.0,
    s_threshold: float = 1e-6,
) -> dict[str, torch.Tensor]:
    """k-space terms of one structure from its flat blocks.

    Parameters
    ----------
    pred_flat, ref_flat : (layout.n_entries,)
        Predicted and reference H in the record's layout (spinor blocks if ``layout.spinor``).
    s_flat : (block_ptr[-1],) real
        Overlap in the scalar layout (expanded to S ⊗ I₂ for spinors).
    layout : BlockLayout
        The layout of the Hamiltonian (:meth:`BlockLayout.of`).
    kpts : (nk, 3)
        Fractional k-points.
    fermi_level, window, s_threshold
        As in :func:`projected_terms` and :func:`reference_states`.

    Returns
    -------
    dict with ``"pp"``, ``"qq"``, ``"pq"``, ``"ghost"`` scalar tensors (eV²).

    Notes
    -----
    The reference problem is always solved in float64/complex128, whatever the precision
    of the prediction; its states are cast to the prediction's dtype for the projection.
    """
    h_pred = bloch_sum(pred_flat, layout, kpts)
    with torch.no_grad():
        h_ref = bloch_sum(_double(ref_flat), layout, kpts)
        s_k = bloch_sum(_double(s_flat), layout.scalar(), kpts)
        if layout.spinor:
            s_k = spinor_overlap_k(s_k)
        states = reference_states(h_ref, s_k, s_threshold)
    return projected_terms(h_pred, states, fermi_level, window)
