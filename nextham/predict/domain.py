"""Training-domain statistics and the per-structure reliability flag of a prediction.

A model file stores, next to its weights, compact statistics of the structures it was trained
on (:func:`domain_statistics`). A prediction is then checked against them
(:func:`reliability`), which costs a few array passes — no diagonalization, no reference:

``unseen_pairs``
    element pairs (e.g. ``"Ga-N"``) with stored blocks that never occurred in training.
``out_of_range``
    overlap-weighted fraction of pairs whose distance lies farther than one bin
    (``bin_width`` Å) from every training distance of the same element pair; weights are
    max |S_ij(R)| so that far pairs with tiny blocks barely count. Catches compressed,
    stretched or new bonding geometries.
``onsite_outliers``
    atoms whose on-site H0 spread (largest minus smallest eigenvalue of the on-site block
    H0_ii, S_ii) is outside the training range of that element by more than 10 % of the range
    plus 0.05 eV. The spread is gauge invariant and sensitive to the chemical environment.
``delta_ratio``
    largest ‖ΔH‖ of a block divided by the largest training ‖ΔH‖ of the same element pair:
    a correction far above anything seen in training is an extrapolation.

``unfamiliar atoms``
    atoms whose overlap coordination lies outside the training range of their element
    (:mod:`nextham.predict.environment`; statistics ``coordination``).

The flag is ``"ok"`` when there are no unseen pairs, ``out_of_range`` < 0.05, no on-site
outliers, no unfamiliar atoms and ``delta_ratio`` < 1.5, otherwise ``"warn"`` with the reasons.
For a committee with these statistics the flag is the gate's (:mod:`nextham.predict.gate`)
and these reasons are notes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.linalg
from ase.data import chemical_symbols

from nextham.predict.environment import MARGIN, coordination, overlap_weights, unfamiliar_atoms
from nextham.record import keys as K
from nextham.record.geometry import edge_distances
from nextham.record.layout import orbital_counts

BIN_WIDTH = 0.1
"""Distance bin (Å) of the training-domain statistics."""

LIMITS = {"out_of_range": 0.05, "delta_ratio": 1.5}


def pair_label(zi: int, zj: int) -> str:
    """Unordered element-pair label, symbols sorted by atomic number (``"C-Si"``)."""
    a, b = sorted((int(zi), int(zj)))
    return f"{chemical_symbols[a]}-{chemical_symbols[b]}"


def _segments(record: Mapping, key: str) -> np.ndarray:
    """Start of each pair's block in the flat array ``record[key]``, shape (E,)."""
    spin = 2 if (record[K.SPINOR] and key != K.S) else 1
    return spin * spin * np.asarray(record[K.BLOCK_PTR][:-1])


def _edge_table(record: Mapping) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per pair: label, distance bin, overlap weight max |S|."""
    z = np.asarray(record[K.NUMBERS])[np.asarray(record[K.EDGE_INDEX])]
    kinds, inverse = np.unique(np.sort(z, axis=1), axis=0, return_inverse=True)
    names = [pair_label(a, b) for a, b in kinds]
    labels = [names[k] for k in inverse.ravel()]
    bins = np.floor(edge_distances(record) / BIN_WIDTH).astype(np.int64)
    weights = overlap_weights(record)
    return labels, bins, weights


def unseen_pair_mask(record: Mapping, stats: Mapping) -> np.ndarray:
    """(E,) bool: pairs whose element pair never occurred in training (``stats["pairs"]``)."""
    labels, _, _ = _edge_table(record)
    return np.array([lab not in stats["pairs"] for lab in labels], dtype=bool)


def _outside(labels: list[str], bins: np.ndarray, stats: Mapping) -> np.ndarray:
    """(E,) bool: unseen element pair, or distance more than one bin from every training
    distance of its element pair."""
    labels_arr = np.asarray(labels)
    out = np.ones(len(labels), dtype=bool)
    for lab in np.unique(labels_arr):
        if lab in stats["pairs"]:
            mine = labels_arr == lab
            seen = np.asarray(stats["pairs"][lab]["bins"])
            out[mine] = np.abs(bins[mine, None] - seen[None]).min(axis=1) > 1
    return out


def onsite_spreads(record: Mapping) -> dict[int, float]:
    """Spread (eV) of the generalized eigenvalues of each atom's on-site (H0, S) block."""
    edges = np.asarray(record[K.EDGE_INDEX])
    onsite = np.flatnonzero((edges[:, 0] == edges[:, 1]) & ~np.asarray(record[K.CELL_SHIFT]).any(1))
    n = orbital_counts(record)
    spin = 2 if record[K.SPINOR] else 1
    h0_start, s_start = _segments(record, K.H0), _segments(record, K.S)
    out: dict[int, float] = {}
    for e in onsite:
        i = int(edges[e, 0])
        m = spin * n[i]
        h = np.asarray(record[K.H0][h0_start[e] : h0_start[e] + m * m]).reshape(m, m)
        sb = np.asarray(record[K.S][s_start[e] : s_start[e] + n[i] ** 2]).reshape(n[i], n[i])
        if record[K.SPINOR]:
            sb = np.kron(np.eye(2), sb)
        w = scipy.linalg.eigvalsh(0.5 * (h + h.conj().T), sb)
        out[i] = float(w[-1] - w[0])
    return out


def _block_norms(record: Mapping, h_flat: np.ndarray) -> np.ndarray:
    """Frobenius norm of each pair's block of ΔH = ``h_flat`` − H0, shape (E,)."""
    delta = np.abs(np.asarray(h_flat) - np.asarray(record[K.H0])) ** 2
    return np.sqrt(np.add.reduceat(delta, _segments(record, K.H0)))


def domain_statistics(records: Sequence[Mapping]) -> dict:
    """JSON-serializable statistics of training records (each must hold H0 and HT)."""
    bins: dict[str, set] = defaultdict(set)
    delta_max: dict[str, float] = defaultdict(float)
    spreads: dict[str, list[float]] = defaultdict(list)
    coordinations: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        for z, c in zip(rec[K.NUMBERS], coordination(rec), strict=True):
            coordinations[chemical_symbols[int(z)]].append(float(c))
        labels, b, _ = _edge_table(rec)
        norms = _block_norms(rec, rec[K.HT])
        for lab, k, n in zip(labels, b, norms, strict=True):
            bins[lab].add(int(k))
            delta_max[lab] = max(delta_max[lab], float(n))
        for atom, spread in onsite_spreads(rec).items():
            spreads[chemical_symbols[int(rec[K.NUMBERS][atom])]].append(spread)
    return {
        "bin_width": BIN_WIDTH,
        "pairs": {
            lab: {"bins": sorted(bins[lab]), "delta_max_ev": delta_max[lab]} for lab in sorted(bins)
        },
        "onsite_spread_ev": {el: [min(v), max(v)] for el, v in sorted(spreads.items())},
        "coordination": {el: [min(v), max(v)] for el, v in sorted(coordinations.items())},
    }


def _onsite_outliers(record: Mapping, stats: dict) -> list[str]:
    out = []
    for atom, spread in onsite_spreads(record).items():
        el = chemical_symbols[int(record[K.NUMBERS][atom])]
        if el not in stats["onsite_spread_ev"]:
            out.append(f"{el}{atom} ({spread:.2f} eV, element not in training)")
            continue
        lo, hi = stats["onsite_spread_ev"][el]
        margin = 0.1 * max(hi - lo, 0.0) + 0.05
        if not lo - margin <= spread <= hi + margin:
            out.append(f"{el}{atom} ({spread:.2f} eV, training {lo:.2f}–{hi:.2f})")
    return out


def reliability(record: Mapping, h_flat: np.ndarray, stats: dict, margin: float = MARGIN) -> dict:
    """Reliability report of a prediction ``h_flat`` for ``record`` against training ``stats``
    (``margin``: the familiarity margin δ of :mod:`nextham.predict.environment`).

    Returns the measures described in the module docstring, ``"flag"`` (``"ok"``/``"warn"``)
    and ``"reasons"`` (list of one-line explanations).
    """
    labels, b, w = _edge_table(record)
    norms = _block_norms(record, h_flat)
    pairs = stats["pairs"]
    unseen = sorted({lab for lab in labels if lab not in pairs})
    outside = _outside(labels, b, stats)
    ratio = 0.0
    labels = np.asarray(labels)
    for lab in np.unique(labels):
        if lab in pairs:
            mine = labels == lab
            ratio = max(ratio, norms[mine].max() / max(pairs[lab]["delta_max_ev"], 1e-12))
    frac = float(w[outside].sum() / w.sum())
    onsite = _onsite_outliers(record, stats)
    elements = sorted(
        {chemical_symbols[int(z)] for z in record[K.NUMBERS]} - set(stats["onsite_spread_ev"])
    )
    reasons = []
    if elements:
        reasons.append(f"elements never in training: {', '.join(elements)}")
    if unseen:
        reasons.append(f"element pairs never seen in training: {', '.join(unseen)}")
    if frac >= LIMITS["out_of_range"]:
        reasons.append(f"{100 * frac:.0f}% of the overlap weight is at distances not in training")
    if onsite:
        reasons.append(f"on-site H0 outside the training range: {', '.join(onsite[:4])}")
    unfamiliar = (
        unfamiliar_atoms(record, stats["coordination"], margin=margin)
        if "coordination" in stats
        else []
    )
    if unfamiliar:
        reasons.append(f"atoms in environments unlike training: {', '.join(unfamiliar)}")
    if ratio >= LIMITS["delta_ratio"]:
        reasons.append(f"predicted correction {ratio:.1f}× the largest seen in training")
    return {
        "flag": "warn" if reasons else "ok",
        "reasons": reasons,
        "unseen_elements": elements,
        "unseen_pairs": unseen,
        "out_of_range": frac,
        "onsite_outliers": onsite,
        "delta_ratio": float(ratio),
    }
