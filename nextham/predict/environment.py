"""How familiar each atom's environment is to a model: the overlap coordination and its range.

A committee of models trained on the same data shares their extrapolation: on fcc silicon a
committee trained on diamond cells agrees on a correction nine times worse than H0
(docs/gate-benchmark.md), so its spread cannot say that the geometry is new. What changes
with the bonding geometry is the atom's environment, measured here without a reference:

``coordination``
    c_a = Σ_{(a,b,R) ≠ (a,a,0)} max |S_ab(R)|, the overlap-weighted count of neighbours
    (dimensionless; a near neighbour counts ~0.5–1, a far one ~0). It grows by ×1.5–2 from
    four-fold (diamond, zincblende, wurtzite) to six-, eight- and twelve-fold bonding
    (rocksalt, CsCl/bcc, fcc) and follows strain smoothly.

The training statistics keep each element's range [lo, hi]
(:func:`nextham.predict.domain.domain_statistics`, ``coordination``). An atom's *familiarity* is

    f_a = exp(−(x / w)²),  x = max(0, c_a / hi − 1 − δ, 1 − δ − c_a / lo),

1 within the range widened by δ (default :data:`MARGIN`, 10 %: the spread a training set's
strains and rattles leave unsampled), 0.37 at w = :data:`WIDTH` (5 %) beyond and 0.02 at 2w; 0
for an element not in training. A committee file stores the δ calibrated on its validation
split (:func:`nextham.predict.calibrate.choose_margin`): a broad training set whose validation
cells hold element–prototype combinations never trained asks for a wider one. The gate
multiplies the correction of a pair block by min(f_i, f_j) (:mod:`nextham.predict.gate`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from ase.data import chemical_symbols

from nextham.record import keys as K

MARGIN = 0.10
WIDTH = 0.05


def overlap_weights(record: Mapping) -> np.ndarray:
    """max |S_ij(R)| of every pair block, shape (E,)."""
    starts = np.asarray(record[K.BLOCK_PTR][:-1])
    return np.maximum.reduceat(np.abs(np.asarray(record[K.S])), starts)


def coordination(record: Mapping) -> np.ndarray:
    """Overlap coordination c_a of every atom, shape (natm,) (module docstring)."""
    edges = np.asarray(record[K.EDGE_INDEX])
    onsite = (edges[:, 0] == edges[:, 1]) & ~np.asarray(record[K.CELL_SHIFT]).any(1)
    out = np.zeros(len(record[K.NUMBERS]))
    np.add.at(out, edges[~onsite, 0], overlap_weights(record)[~onsite])
    return out


def familiarity(
    record: Mapping, ranges: Mapping[str, list[float]], margin: float = MARGIN
) -> np.ndarray:
    """f_a ∈ [0, 1] of every atom against the training ``ranges`` widened by ``margin`` (δ),
    shape (natm,)."""
    c = coordination(record)
    out = np.zeros(len(c))
    for a, (z, x) in enumerate(zip(record[K.NUMBERS], c, strict=True)):
        el = chemical_symbols[int(z)]
        if el not in ranges:
            continue
        lo, hi = ranges[el]
        excess = max(0.0, x / hi - 1 - margin, 1 - margin - x / max(lo, 1e-12))
        out[a] = np.exp(-((excess / WIDTH) ** 2))
    return out


def block_familiarity(
    record: Mapping, ranges: Mapping[str, list[float]], margin: float = MARGIN
) -> np.ndarray:
    """min(f_i, f_j) of every pair block, shape (E,)."""
    f = familiarity(record, ranges, margin)
    edges = np.asarray(record[K.EDGE_INDEX])
    return np.minimum(f[edges[:, 0]], f[edges[:, 1]])


def unfamiliar_atoms(
    record: Mapping, ranges: Mapping[str, list[float]], below: float = 0.5, margin: float = MARGIN
):
    """One-line descriptions of the atoms with f_a < ``below`` (at most four)."""
    c, f = coordination(record), familiarity(record, ranges, margin)
    out = []
    for a in np.flatnonzero(f < below)[:4]:
        el = chemical_symbols[int(record[K.NUMBERS][a])]
        lo, hi = ranges.get(el, (float("nan"), float("nan")))
        out.append(f"{el}{a} (coordination {c[a]:.2f}, training {lo:.2f}–{hi:.2f})")
    return out
