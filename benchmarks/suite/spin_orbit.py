"""Spin–orbit splittings at Γ: a prediction's and H0's against the SCF's.

Where the valence top at Γ is a j = 3/2 / j = 1/2 pair (zincblende and diamond cells), the
spin–orbit splitting Δ_SO is E(Γ8) − E(Γ7). The levels are chosen on each spectrum (SCF, H0,
prediction) on its own, so that a Hamiltonian whose levels are ordered otherwise (an inversion it
misses) is still measured on its Γ8 and Γ7:

* a cell with the full symmetry (no strain, no rattle) has its Γ levels in degenerate sets:
  Γ8 is the four-fold set nearest the valence top (one electron per spinor level), Γ7 the
  first two-fold set below it that is not s-like, i.e. whose Mulliken weight on the atoms' s
  shells is not the largest of its weights per l (:func:`shell_weights`): in a band-inverted
  cell (HgTe, α-Sn, AlBi) the s-like Γ6 lies between Γ8 and Γ7 and is passed over. Where the
  anion p mixes with a d¹⁰ cation's d (AgI: half p, half d at Γ7) the split-off set is still
  the first one below Γ8;
* a distorted cell has only Kramers pairs: the top four valence levels and the next two that
  are not s-like, whose means stand for Γ8 and Γ7 (in a metallic or strongly distorted cell
  they need not be the j = 3/2 / 1/2 set).
"""

from __future__ import annotations

import numpy as np

from nextham.record import keys as K
from nextham.spectra.bloch import record_bloch
from nextham.spectra.eigen import generalized_eigh

SPLIT_PROTOTYPES = ("zincblende", "diamond")
"""Prototypes whose valence top at Γ is a j = 3/2 / 1/2 pair."""


DEGENERACY_EV = 5e-3
"""Γ levels closer than this form one degenerate set."""
TOP_REACH_EV = 1.0
"""The four-fold set taken for Γ8 lies within this of the valence top."""


def gamma_states(record: dict, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The levels of ``h`` at Γ (eV, ascending), their S-orthonormal eigenvectors in the
    record's basis (columns; :func:`nextham.spectra.eigen.generalized_eigh`) and S(Γ)."""
    g = np.zeros((1, 3))
    h_k = record_bloch(record, K.HT, g, values=np.asarray(h)).numpy()[0]
    s_k = record_bloch(record, K.S, g, values=np.asarray(record[K.S], dtype=float)).numpy()[0]
    eps, vectors = generalized_eigh(h_k, s_k)
    return eps, vectors, s_k


def shell_weights(record: dict, vectors: np.ndarray, s_k: np.ndarray) -> np.ndarray:
    """Mulliken weights of each eigenvector (column) on the atoms' shells of each l,
    (l_max + 1, m)."""
    basis = {int(z): ls for z, ls in record[K.BASIS_LS].items()}
    ls = np.concatenate([np.repeat(basis[int(z)], 2 * np.asarray(basis[int(z)]) + 1)
                         for z in np.asarray(record[K.NUMBERS])])  # fmt: skip
    if vectors.shape[0] == 2 * ls.size:  # spinor: spin-major, both spins the same shells
        ls = np.tile(ls, 2)
    mulliken = np.real(vectors.conj() * (s_k @ vectors))
    return np.stack([mulliken[ls == l].sum(axis=0) for l in range(int(ls.max()) + 1)])


def split_levels(
    eps: np.ndarray, n: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the Γ8 and Γ7 levels in the ascending Γ levels ``eps`` of a cell with ``n``
    occupied spinor levels (module docstring): by degeneracy where the four-fold set exists
    (s-like sets passed over when the per-l ``weights`` (l_max + 1, levels) are given), else
    the top four valence levels and the next two (s-like ones passed over likewise)."""
    bounds = np.flatnonzero(np.diff(eps) > DEGENERACY_EV) + 1
    sets = np.split(np.arange(eps.size), bounds)
    not_s = [weights is None or int(np.argmax(weights[:, s].sum(axis=1))) != 0 for s in sets]
    top = eps[n - 1]
    quads = [
        i
        for i, s in enumerate(sets)
        if s.size == 4 and not_s[i] and abs(eps[s].mean() - top) <= TOP_REACH_EV
    ]
    if quads:
        q = min(quads, key=lambda i: abs(eps[sets[i]].mean() - top))
        pairs = [i for i in range(q) if sets[i].size == 2 and not_s[i]]
        if pairs:
            return sets[q], sets[pairs[-1]]
    valence = np.arange(n)
    if weights is not None:  # the s-like levels passed over here too
        valence = valence[np.argmax(weights[:, :n], axis=0) != 0]
    if valence.size < 6:
        valence = np.arange(n)
    return valence[-4:], valence[-6:-4]


def so_splitting(record: dict, h: np.ndarray) -> float:
    """E(Γ8) − E(Γ7) of ``h`` (eV), the levels chosen on ``h``'s own spectrum."""
    eps, vectors, s_k = gamma_states(record, h)
    levels = split_levels(eps, _occupied(record), shell_weights(record, vectors, s_k))
    return _spacing(eps, levels)


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
