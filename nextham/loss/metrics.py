"""Gauge-invariant evaluation metrics of one structure, in meV.

Gauge MAE
---------
The prediction is first shifted by the structure's optimal μ* (:mod:`nextham.loss.gauge`),
then the mean absolute error runs over the real components of every stored entry (real
and imaginary part of complex entries), overall and split

* by spin block (spinor records): ``uu_dd_real``, ``uu_dd_imag`` (↑↑ and ↓↓ blocks),
  ``ud_du_real``, ``ud_du_imag`` and ``ud_du`` (both parts of the ↑↓ and ↓↑ blocks);
* by element pair, unordered, e.g. ``"O-Si"`` (symbols sorted by atomic number);
* by distance shell |r_j + R − r_i| in Å, bins ``[b_k, b_{k+1})`` labelled ``"b_k-b_{k+1}"``;
  the default first bin ``[0, 0.001)`` holds the on-site blocks.

Each group reports ``sum_meV`` and ``count`` so that :mod:`nextham.loss.report` can merge
structures exactly, and ``mae_meV``.

Bands and ghost states
----------------------
Eigenvalues come from H(k) c = ε S(k) c with the canonical orthogonalization of
:mod:`nextham.spectra.eigen` (same S, so the same number of states for prediction and
reference). Band MAE compares bands index by index at each k over the reference bands
inside the band window; it is given with the μ* shift removed (``mae_meV``), without
(``mae_raw_meV``), and as a band structure shows the bands (``mae_aligned_meV``,
:func:`aligned_band_mae`): each spectrum measured from its own VBM (insulators) or Fermi level
(metals), so that a rigid offset of every level — which the μ* of the matrix entries need not
remove — is no error, and a wrong gap or Fermi level is.

The band window (:func:`energy_window`) is, by default (``"edges"``), VBM − w … CBM + w for an
insulator and E_F ± w for a metal, w = ``band_window`` (2 eV). VBM and CBM are the highest
occupied and lowest empty reference levels over the evaluation k-points, with the number of
occupied levels per k from ``META["n_electrons"]``; a structure is an insulator when
CBM − VBM exceeds :data:`GAP_TOL`. E_F of a wide-gap insulator lies mid-gap, where E_F ± w can
hold no level at all. ``"fermi"`` keeps E_F ± w for every structure.

A *ghost state* is a spurious level, one the reference spectrum has no counterpart for: at
each k, the number of μ*-corrected predicted eigenvalues inside the band window in
excess of the reference eigenvalues inside the window widened by ``ghost_margin`` on both
sides. Levels that are merely shifted keep the count (their error is the band MAE), so a
physical Hamiltonian such as H0 scores zero unless a band crosses the window's edge by more
than the margin. *Unmatched levels* (the stricter, older count) are predicted eigenvalues in
the window farther than ``level_tol`` from every reference eigenvalue at that k: band errors
above ``level_tol`` and ghosts alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from ase.data import chemical_symbols

from nextham.conventions import electrons_per_level
from nextham.loss.gauge import gauge_corrected_difference
from nextham.record import keys as K
from nextham.record.flat import (
    SPIN_DD,
    SPIN_DU,
    SPIN_UD,
    SPIN_UU,
    flat_index,
    record_overlap_flat,
)
from nextham.record.geometry import edge_distances
from nextham.record.layout import BlockLayout
from nextham.spectra.occupations import fermi_level

MEV = 1000.0
DEFAULT_DISTANCE_BINS: tuple[float, ...] = (0.0, 1e-3, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, np.inf)
GAP_TOL = 0.05
"""Smallest reference gap CBM − VBM (eV) that makes a structure an insulator."""
WINDOWS = ("edges", "fermi")
"""Band-window definitions of :func:`energy_window`."""


def group_stats(abs_err_ev: np.ndarray) -> dict:
    """``{"sum_meV", "count", "mae_meV"}`` of absolute errors given in eV (mae None if empty)."""
    total = float(np.sum(abs_err_ev) * MEV)
    n = int(np.size(abs_err_ev))
    return {"sum_meV": total, "count": n, "mae_meV": total / n if n else None}


def _double_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays in float64, or both in complex128 if either is complex."""
    a, b = np.asarray(a), np.asarray(b)
    dtype = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(b) else np.float64
    return a.astype(dtype), b.astype(dtype)


def gauge_difference(record: Mapping, h_pred: np.ndarray) -> tuple[np.ndarray, float]:
    """``h_pred − μ* S − HT`` in the record's flat layout (eV, double precision), and μ*."""
    pred, target = _double_pair(h_pred, record[K.HT])
    overlap = torch.as_tensor(record_overlap_flat(record).astype(np.float64))
    with torch.no_grad():
        diff, mu = gauge_corrected_difference(
            torch.as_tensor(pred), torch.as_tensor(target), overlap
        )
    return diff.numpy(), float(mu[0])


def _components(diff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|Re| and |Im| per entry (|Im| is all zero for real input)."""
    return np.abs(diff.real), np.abs(diff.imag) if np.iscomplexobj(diff) else np.zeros(0)


def _select(diff: np.ndarray, keep: np.ndarray) -> np.ndarray:
    re, im = _components(diff[keep])
    return np.concatenate([re, im])


def _spin_groups(diff: np.ndarray, spin: np.ndarray) -> dict:
    diag = (spin == SPIN_UU) | (spin == SPIN_DD)
    off = (spin == SPIN_UD) | (spin == SPIN_DU)
    return {
        "uu_dd_real": group_stats(np.abs(diff.real[diag])),
        "uu_dd_imag": group_stats(np.abs(diff.imag[diag])),
        "ud_du_real": group_stats(np.abs(diff.real[off])),
        "ud_du_imag": group_stats(np.abs(diff.imag[off])),
        "ud_du": group_stats(_select(diff, off)),
    }


def _pair_labels(numbers: np.ndarray, edge_index: np.ndarray) -> np.ndarray:
    zi, zj = numbers[edge_index[:, 0]], numbers[edge_index[:, 1]]
    lo, hi = np.minimum(zi, zj), np.maximum(zi, zj)
    return np.array([f"{chemical_symbols[a]}-{chemical_symbols[b]}" for a, b in zip(lo, hi)])


def _shell_labels(dist: np.ndarray, bins: Sequence[float]) -> np.ndarray:
    edges = np.asarray(bins, dtype=float)
    names = [f"{edges[k]:g}-{edges[k + 1]:g}" for k in range(len(edges) - 1)]
    where = np.digitize(dist, edges) - 1
    return np.array([names[w] if 0 <= w < len(names) else "outside" for w in where])


def _grouped(diff: np.ndarray, entry_labels: np.ndarray) -> dict:
    return {
        str(lab): group_stats(_select(diff, entry_labels == lab)) for lab in np.unique(entry_labels)
    }


def gauge_mae(
    record: Mapping, h_pred: np.ndarray, distance_bins: Sequence[float] = DEFAULT_DISTANCE_BINS
) -> dict:
    """Gauge-corrected MAE of one structure (module docstring), JSON-serializable.

    Parameters
    ----------
    record
        Structure record with the reference ``HT``.
    h_pred : (n_entries,)
        Predicted H in the layout of ``record[HT]``.
    distance_bins
        Increasing shell edges in Å.
    """
    diff, mu = gauge_difference(record, h_pred)
    spinor = bool(record[K.SPINOR])
    ei = np.asarray(record[K.EDGE_INDEX], dtype=np.int64).reshape(-1, 2)
    idx = flat_index(BlockLayout.of(record))
    numbers = np.asarray(record[K.NUMBERS], dtype=np.int64)
    out = {
        "mu_star_meV": mu * MEV,
        "overall": group_stats(_select(diff, np.ones(diff.shape, dtype=bool))),
        "element_pair": _grouped(diff, _pair_labels(numbers, ei)[idx.edge]),
        "distance_shell": _grouped(
            diff, _shell_labels(edge_distances(record), distance_bins)[idx.edge]
        ),
    }
    if spinor:
        out["spin"] = _spin_groups(diff, idx.spin)
    return out


@dataclass(frozen=True)
class EnergyWindow:
    """Energy window [lo, hi] (eV) of the band metrics and how it was defined.

    ``definition`` is the one asked for (``"edges"`` or ``"fermi"``); ``insulator`` says
    whether the reference gap exceeds the tolerance (with ``"edges"``, then the band edges set
    [lo, hi]); ``vbm``, ``cbm``, ``gap`` are None where there are no band edges (no electron
    count, a fractional number of occupied levels, no level occupied). A basis whose every
    level is occupied (a minimal basis of a closed shell: Ne, Be 1s2s, Pd without 5s) has a VBM
    but no CBM: with ``"edges"`` its window is VBM − w … VBM + w, where E_F ± w, placed by the
    smearing above all levels, could hold none of them.
    """

    lo: float
    hi: float
    definition: str
    insulator: bool
    vbm: float | None = None
    cbm: float | None = None
    gap: float | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        return self.lo, self.hi

    def to_json(self) -> dict:
        """The window as a JSON-serializable dict (energies in eV)."""
        return asdict(self)


def occupied_levels(record: Mapping) -> float | None:
    """Occupied levels per k of a record: ``META["n_electrons"]`` / electrons per level
    (two for scalar, one for spinor records); None without an electron count."""
    meta = record.get(K.META) or {}
    if meta.get("n_electrons") is None:
        return None
    return float(meta["n_electrons"]) / electrons_per_level(bool(record[K.SPINOR]))


def valence_top(eps_sorted: np.ndarray, n_occupied: int) -> float:
    """VBM (eV): the highest of the ``n_occupied`` lowest levels over k; ``eps_sorted`` (nk, m)
    with each row ascending."""
    return float(eps_sorted[:, n_occupied - 1].max())


def energy_window(
    eps_ref: np.ndarray,
    fermi_level: float,
    n_occupied: float | None,
    half_width: float = 2.0,
    definition: str = "edges",
    gap_tol: float = GAP_TOL,
) -> EnergyWindow:
    """The band window of one structure from its reference levels.

    Parameters
    ----------
    eps_ref : (nk, m)
        Reference eigenvalues (eV) on the evaluation k-points.
    fermi_level
        E_F (eV), the centre of the window of metals and of ``definition="fermi"``.
    n_occupied
        Occupied levels per k (:func:`occupied_levels`); None or fractional: no band edges.
    half_width
        w (eV): VBM − w … CBM + w for an insulator, E_F ± w otherwise.
    definition
        ``"edges"`` (insulators by their band edges) or ``"fermi"`` (E_F ± w always).
    gap_tol
        An insulator has CBM − VBM > ``gap_tol`` (eV).
    """
    if definition not in WINDOWS:
        raise ValueError(f"unknown band window {definition!r}; choose from {WINDOWS}")
    fermi = EnergyWindow(fermi_level - half_width, fermi_level + half_width, definition, False)
    eps = np.sort(np.asarray(eps_ref, dtype=float), axis=-1)
    if n_occupied is None or abs(n_occupied - round(n_occupied)) > 1e-9:
        return fermi
    n_occ = round(n_occupied)
    if n_occ == eps.shape[-1] and n_occ > 0:  # every level occupied: a VBM, no CBM
        vbm = valence_top(eps, n_occ)
        edges = {"vbm": vbm, "cbm": None, "gap": None, "insulator": True}
        if definition == "edges":
            return EnergyWindow(vbm - half_width, vbm + half_width, definition, **edges)
        return EnergyWindow(fermi.lo, fermi.hi, definition, **edges)
    if not 0 < n_occ < eps.shape[-1]:
        return fermi
    vbm, cbm = valence_top(eps, n_occ), float(eps[:, n_occ].min())
    insulator = cbm - vbm > gap_tol
    edges = {"vbm": vbm, "cbm": cbm, "gap": cbm - vbm, "insulator": insulator}
    if definition == "edges" and insulator:
        return EnergyWindow(vbm - half_width, cbm + half_width, definition, **edges)
    return EnergyWindow(fermi.lo, fermi.hi, definition, **edges)


def _bounds(fermi_level: float, window: float | tuple[float, float]) -> tuple[float, float]:
    """(lo, hi) of a window given as a half-width around E_F or as absolute bounds (eV)."""
    if np.ndim(window) == 0:
        return fermi_level - float(window), fermi_level + float(window)
    lo, hi = window
    return float(lo), float(hi)


def _inside(eps: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (eps >= lo) & (eps <= hi)


def band_mae(
    eps_ref: np.ndarray,
    eps_pred: np.ndarray,
    fermi_level: float,
    window: float | tuple[float, float] = 2.0,
) -> dict:
    """MAE over reference bands inside the window, compared index by index, meV.

    ``eps_ref``, ``eps_pred`` (nk, m); ``window`` a half-width around ``fermi_level`` or
    (lo, hi) in eV (:func:`energy_window`). Returns :func:`group_stats` of the selected errors.
    """
    if eps_ref.shape != eps_pred.shape:
        raise ValueError(f"band shapes differ: {eps_ref.shape} vs {eps_pred.shape}")
    sel = _inside(eps_ref, *_bounds(fermi_level, window))
    return group_stats(np.abs(eps_pred - eps_ref)[sel])


def reference_level(
    eps: np.ndarray,
    window: EnergyWindow,
    n_occupied: float | None,
    degeneracy: float,
    smearing_ev: float,
) -> float | None:
    """The level a spectrum is read from (eV): its own VBM where the reference ``window`` is an
    insulator's (the highest of its ``n_occupied`` lowest levels over k), its own Fermi level
    (Fermi–Dirac, ``smearing_ev``) otherwise; None without an electron count.

    ``eps`` (nk, m) eV; ``degeneracy`` electrons per level (two scalar, one spinor).
    """
    if n_occupied is None:
        return None
    eps = np.sort(np.asarray(eps, dtype=float), axis=-1)
    if window.insulator:
        return valence_top(eps, round(n_occupied))
    return fermi_level(list(eps), n_occupied * degeneracy, smearing_ev, degeneracy)


def aligned_band_mae(
    eps_ref: np.ndarray,
    eps_pred: np.ndarray,
    window: EnergyWindow,
    n_occupied: float | None,
    degeneracy: float,
    smearing_ev: float,
) -> dict:
    """Band MAE (meV) of the bands as a band structure shows them: each spectrum measured from
    its own reference level (:func:`reference_level`: VBM of an insulator, E_F of a metal),
    over the reference bands inside ``window``. A rigid shift of every level is no error
    here; a wrong gap or Fermi level is. :func:`group_stats` plus ``offset_meV``, the
    prediction's reference level minus the reference's (``mae_meV`` None without an electron
    count)."""
    levels = [reference_level(e, window, n_occupied, degeneracy, smearing_ev)
              for e in (eps_ref, eps_pred)]  # fmt: skip
    if levels[0] is None:
        return {**group_stats(np.empty(0)), "offset_meV": None}
    offset = levels[1] - levels[0]
    return {**band_mae(eps_ref, eps_pred - offset, 0.0, window.bounds), "offset_meV": offset * MEV}


def count_ghost_states(
    eps_ref: np.ndarray,
    eps_pred: np.ndarray,
    fermi_level: float,
    window: float | tuple[float, float] = 2.0,
    margin: float = 0.5,
) -> np.ndarray:
    """Ghost states per k: predicted ε in the window in excess of the reference ε in the
    window widened by ``margin`` on both sides. ``window`` as in :func:`band_mae`;
    ``eps_ref`` (nk, m_ref), ``eps_pred`` (nk, m_pred) → (nk,) int."""
    lo, hi = _bounds(fermi_level, window)
    n_pred = np.sum(_inside(np.asarray(eps_pred), lo, hi), axis=1)
    n_ref = np.sum(_inside(np.asarray(eps_ref), lo - margin, hi + margin), axis=1)
    return np.maximum(n_pred - n_ref, 0).astype(np.int64)


def count_unmatched_levels(
    eps_ref: np.ndarray,
    eps_pred: np.ndarray,
    fermi_level: float,
    window: float | tuple[float, float] = 2.0,
    tol: float = 0.1,
) -> np.ndarray:
    """Unmatched levels per k: predicted ε in the window farther than ``tol`` from every
    reference ε at that k. ``window`` as in :func:`band_mae`;
    ``eps_ref`` (nk, m_ref), ``eps_pred`` (nk, m_pred) → (nk,) int."""
    lo, hi = _bounds(fermi_level, window)
    counts = []
    for ref, pred in zip(eps_ref, eps_pred, strict=True):
        inside = pred[_inside(pred, lo, hi)]
        if inside.size == 0:
            counts.append(0)
            continue
        nearest = np.min(np.abs(inside[:, None] - np.asarray(ref)[None, :]), axis=1)
        counts.append(int(np.sum(nearest > tol)))
    return np.asarray(counts, dtype=np.int64)
