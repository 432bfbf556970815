"""Spin–orbit splittings at Γ: a prediction's and H0's against the SCF's.

Where the valence top at Γ is a j = 3/2 / j = 1/2 pair (zincblende and diamond cells), the
spin–orbit splitting Δ_SO is the mean of the top four valence levels minus the mean of the
next two (one electron per spinor level).
"""

from __future__ import annotations

import numpy as np

from nextham.record import keys as K
from nextham.spectra.eigen import band_energies

SPLIT_PROTOTYPES = ("zincblende", "diamond")
"""Prototypes whose valence top at Γ is a j = 3/2 / 1/2 pair."""


def so_splitting(record: dict, h: np.ndarray) -> float:
    """Mean of the top four valence levels at Γ minus the mean of the next two (eV)."""
    n = round(float(record[K.META]["n_electrons"]))  # one electron per spinor level
    eps = band_energies(record, h, np.zeros((1, 3)))[0]
    return float(eps[n - 4 : n].mean() - eps[n - 6 : n - 4].mean())


def has_split_top(name: str, record: dict) -> bool:
    """Whether Δ_SO is defined for this structure (its prototype, from META or the name)."""
    prototype = str(record[K.META].get("prototype", ""))
    return prototype in SPLIT_PROTOTYPES or any(p in name for p in SPLIT_PROTOTYPES)


def splitting_error(record: dict, h: np.ndarray) -> tuple[float, float, float]:
    """(Δ_SO of the SCF in eV, error of H0's in meV, error of ``h``'s in meV)."""
    ref = so_splitting(record, record[K.HT])
    h0, pred = (1e3 * abs(so_splitting(record, x) - ref) for x in (record[K.H0], h))
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
