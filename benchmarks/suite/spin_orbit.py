"""Spin–orbit splittings at Γ: a prediction's and H0's against the SCF's.

Where the valence top at Γ is a j = 3/2 / j = 1/2 pair (zincblende and diamond cells), the
spin–orbit splitting Δ_SO is E(Γ8) − E(Γ7). The levels are chosen on the SCF's spectrum and the
same levels (by index) are compared in H0's and the prediction's:

* a cell with the full symmetry (no strain, no rattle) has its Γ levels in degenerate sets:
  Γ8 is the four-fold set nearest the valence top (one electron per spinor level), Γ7 the
  first two-fold set below it — in a band-inverted cell (HgTe, α-Sn) that is Γ6, so the
  spacing measured there is Γ8 − Γ6;
* a distorted cell has only Kramers pairs: the top four valence levels and the next two,
  whose means stand for Γ8 and Γ7 (in a metallic cell they need not be the j = 3/2 / 1/2 set).
"""

from __future__ import annotations

import numpy as np

from nextham.record import keys as K
from nextham.spectra.eigen import band_energies

SPLIT_PROTOTYPES = ("zincblende", "diamond")
"""Prototypes whose valence top at Γ is a j = 3/2 / 1/2 pair."""


DEGENERACY_EV = 1e-3
"""Γ levels closer than this form one degenerate set."""
TOP_REACH_EV = 1.0
"""The four-fold set taken for Γ8 lies within this of the valence top."""


def gamma_levels(record: dict, h: np.ndarray) -> np.ndarray:
    """The levels of ``h`` at Γ (eV), ascending."""
    return band_energies(record, h, np.zeros((1, 3)))[0]


def split_levels(eps: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the Γ8 and Γ7 levels in the ascending Γ levels ``eps`` of a cell with ``n``
    occupied spinor levels (module docstring): by degeneracy where the four-fold set exists,
    else the top four valence levels and the next two."""
    bounds = np.flatnonzero(np.diff(eps) > DEGENERACY_EV) + 1
    sets = np.split(np.arange(eps.size), bounds)
    top = eps[n - 1]
    quads = [
        i for i, s in enumerate(sets) if s.size == 4 and abs(eps[s].mean() - top) <= TOP_REACH_EV
    ]
    if quads:
        q = min(quads, key=lambda i: abs(eps[sets[i]].mean() - top))
        pairs = [i for i in range(q) if sets[i].size == 2]
        if pairs:
            return sets[q], sets[pairs[-1]]
    return np.arange(n - 4, n), np.arange(n - 6, n - 4)


def so_splitting(record: dict, h: np.ndarray) -> float:
    """E(Γ8) − E(Γ7) of ``h`` (eV), the levels chosen on ``h``'s own spectrum."""
    eps = gamma_levels(record, h)
    return _spacing(eps, split_levels(eps, _occupied(record)))


def _spacing(eps: np.ndarray, levels: tuple[np.ndarray, np.ndarray]) -> float:
    return float(eps[levels[0]].mean() - eps[levels[1]].mean())


def _occupied(record: dict) -> int:
    return round(float(record[K.META]["n_electrons"]))  # one electron per spinor level


def has_split_top(name: str, record: dict) -> bool:
    """Whether Δ_SO is defined for this structure (its prototype, from META or the name)."""
    prototype = str(record[K.META].get("prototype", ""))
    return prototype in SPLIT_PROTOTYPES or any(p in name for p in SPLIT_PROTOTYPES)


def splitting_error(record: dict, h: np.ndarray) -> tuple[float, float, float]:
    """(Δ_SO of the SCF in eV, error of H0's in meV, error of ``h``'s in meV)."""
    eps = gamma_levels(record, record[K.HT])
    levels = split_levels(eps, _occupied(record))
    ref = _spacing(eps, levels)
    h0, pred = (
        1e3 * abs(_spacing(gamma_levels(record, x), levels) - ref) for x in (record[K.H0], h)
    )
    return ref, h0, pred


def splitting_errors(names: list[str], records: list[dict], preds: list[np.ndarray]) -> dict:
    """Δ_SO of the SCF (eV) and the errors of H0's and the prediction's (meV) for each
    structure where it is defined; their means and how many are within 10 meV."""
    rows = []
    for name, rec, h in zip(names, records, preds, strict=True):
        if not has_split_top(name, rec):
            continue
        ref, h0, pred = splitting_error(rec, h)
        rows.append({"name": name, "scf_ev": ref, "h0_meV": h0, "model_meV": pred})
    out: dict = {"rows": rows}
    for who in ("h0", "model"):
        errs = [r[f"{who}_meV"] for r in rows]
        out[f"mean_{who}_meV"] = float(np.mean(errs)) if rows else None
        out[f"{who}_within_10meV"] = int(sum(e <= 10.0 for e in errs))
    return out
