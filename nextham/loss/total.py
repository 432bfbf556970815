"""Weighted combination of the loss terms.

Term names and units
--------------------
=============  ======  =================================================================
``l1``         eV      :func:`nextham.loss.realspace.l1_loss` on ΔH (optionally gauge-
                       corrected, see :func:`realspace_terms`)
``l2``         eV²     :func:`nextham.loss.realspace.l2_loss`, same selection
``k_pp``       eV²     low-energy block of :func:`nextham.loss.kspace.projected_terms`
``k_qq``       eV²     high-energy block
``k_pq``       eV²     coupling between them
``k_ghost``    eV²     high-energy reference states pulled into the window (one-sided)
``k_rms``      eV      √(pp + pq) per structure: the RMS residual of the low-energy reference
                       states, a k-space term whose gradient does not grow with the error
``tracegrad``  t²      :func:`nextham.loss.tracegrad.tracegrad_loss` (t: scaled target)
=============  ======  =================================================================

``total = Σ_name weight[name] * term[name]`` over the terms that are present and have a
non-zero weight. A term that is absent (e.g. no k-points sampled for a batch) is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch

from nextham.config import from_mapping
from nextham.loss.gauge import gauge_corrected_difference
from nextham.loss.realspace import l1_loss, l2_loss


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (see the module docstring for names and units).

    The defaults make the real-space L1 the main term; the k-space low-energy and coupling
    terms (eV²; typical values 1e-3 to 1e-1 early in training) act as a spectral
    correction, the high-energy block only weakly constrains states far above E_F, and the
    TraceGrad term is auxiliary. Set a weight to 0 to switch its term off (ablations).
    """

    l1: float = 1.0
    l2: float = 0.0
    k_pp: float = 0.1
    k_qq: float = 0.01
    k_pq: float = 0.1
    k_ghost: float = 0.0
    k_rms: float = 0.0
    tracegrad: float = 0.1

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> LossWeights:
        """Build from a mapping (e.g. a YAML section); unknown names are an InputError."""
        return from_mapping(cls, data, "loss weight", lambda d: {k: float(v) for k, v in d.items()})

    def as_dict(self) -> dict[str, float]:
        """Plain dict of the weights."""
        return asdict(self)

    @property
    def kspace(self) -> bool:
        """Whether a term that needs the k-space reference states (``k_*``) is weighted."""
        return any(w for name, w in self.as_dict().items() if name.startswith("k_"))


def combine_losses(
    terms: Mapping[str, torch.Tensor], weights: LossWeights
) -> dict[str, torch.Tensor]:
    """Weighted sum of the named terms.

    Parameters
    ----------
    terms
        Scalar tensors keyed by term name (a subset of :class:`LossWeights`' fields).
    weights
        Weight of each term.

    Returns
    -------
    dict
        The input terms plus ``"total"``.
    """
    w = weights.as_dict()
    unknown = set(terms) - set(w)
    if unknown:
        raise ValueError(f"unknown loss terms {sorted(unknown)}")
    total = None
    for name, value in terms.items():
        if w[name] == 0.0:
            continue
        part = w[name] * value
        total = part if total is None else total + part
    if total is None:
        ref = next(iter(terms.values()), None)
        total = torch.zeros(()) if ref is None else ref * 0.0
    return {**terms, "total": total}


def realspace_terms(
    pred: torch.Tensor,
    target: torch.Tensor,
    overlap: torch.Tensor | None = None,
    batch: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    gauge: bool = False,
    detach_shift: bool = False,
) -> dict[str, torch.Tensor]:
    """``l1`` and ``l2`` of ``pred − target``, optionally after removing the gauge shift μ*.

    Parameters
    ----------
    pred, target : (...,) real or complex
        Predicted and reference ΔH (or H) in a flat or padded layout.
    overlap : (...,), optional
        S in the same layout (S ⊗ I₂ for spinor blocks); required when ``gauge``.
    batch : (...,) int, optional
        Structure index per entry, for a per-structure μ*.
    mask : (...,) bool, optional
        True on real entries of a padded layout.
    gauge, detach_shift
        Use the gauge-corrected difference (:mod:`nextham.loss.gauge`).
    """
    if not gauge:
        return {"l1": l1_loss(pred, target, mask), "l2": l2_loss(pred, target, mask)}
    if overlap is None:
        raise ValueError("gauge=True requires the overlap")
    diff, _ = gauge_corrected_difference(
        pred, target, overlap, batch, mask=mask, detach_shift=detach_shift
    )
    zero = torch.zeros_like(diff)
    return {"l1": l1_loss(diff, zero, mask), "l2": l2_loss(diff, zero, mask)}
