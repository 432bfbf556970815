"""Calibrated uncertainty of ΔH, the gate H = H0 + g ⊙ ΔH and the uncertainty part of the flag.

A committee model (:class:`nextham.model.committee.Committee`) predicts K corrections ΔH_k.
Per pair block b (all entries of one (i, j, R), spin included):

``sigma``
    σ_b = c · sqrt(Σ_entries Var_k ΔH_k), eV: the members' spread (unbiased variance over
    the K members, summed over the block's entries) times the calibration scale c, chosen on
    the validation split so that Σ σ_b² equals Σ ‖ΔH_mean,b − ΔH_DFT,b‖² there
    (:mod:`nextham.predict.calibrate`). σ_b estimates the Frobenius error of the block.
``gate``
    g_b = ‖ΔH_b‖² / (‖ΔH_b‖² + (τ σ_b)²) ∈ [0, 1], the Wiener shrinkage factor of a correction
    measured with noise σ_b: 1 where the uncertainty vanishes, → 0 where it dominates the
    correction. τ (dimensionless) is chosen on the validation split.
``ratio``
    U = sqrt(Σ_b σ_b²) / sqrt(Σ_b ‖ΔH_b‖²) per structure: the predicted error of the
    ungated correction relative to its size. If ΔH_mean = ΔH_DFT + e with e independent of
    the truth, the model beats H0 on average only while U < 1/√2.

``familiarity``
    Members trained on the same data share every systematic error of an extrapolation, so
    their agreement out of the training domain is no evidence (measured: on a held-out element
    and on fcc/bcc/sc cells of training elements the committee's U is as small as in
    distribution while its error is 4–9× H0's, docs/gate-benchmark.md). Each block's correction
    is therefore also multiplied by the familiarity of its two atoms' environments,
    min(f_i, f_j) ∈ [0, 1] (:mod:`nextham.predict.environment`; 0 for an element not in
    training). Such blocks fall back to H0.
``unseen pairs``
    Blocks of two training elements that never met in training keep their correction (a broad
    model carries over to new pairs: closing them raised the held-out-composition Gauge MAE of
    the universal committee from 1.61 to 1.83 meV at τ = 2 and δ = 10 %, ungated 1.67), but
    the flag counts them as unvouched.

The flag is ``fail`` when U ≥ ``limits["fail"]`` or the *unfamiliar share* — the part of the
correction (‖ΔH‖² weight) the familiarity closed plus the part on unseen pairs — is at least
``limits["closed_fail"]``, ``warn`` at U ≥ ``limits["warn"]`` (1/√2: beyond it the correction is
expected to be worse than none) or an unfamiliar share ≥ ``limits["closed_warn"]``, ``ok``
otherwise. With a committee the domain statistics (:mod:`nextham.predict.domain`) add their
reasons but no longer raise the flag (they flagged most structures where the model beat H0),
except an element never in training, which makes it at least ``warn`` (its own blocks keep H0,
but its neighbours' corrections are extrapolated: on the universal committee the perovskites
CsPdCl₃ and CsPdBr₃ with Cs held out had 1 % of their correction on Cs blocks, a committee
spread U of 0.33–0.37, and twice H0's error, docs/gate-universal.md); a
model file without the coordination statistics keeps the earlier rule (the domain statistics
raise ``ok`` to ``warn``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nextham.record import keys as K

FLAGS = ("ok", "warn", "fail")
LIMITS = {"warn": float(1 / np.sqrt(2)), "fail": 1.0, "closed_warn": 0.2, "closed_fail": 0.5}
"""Default flag limits on the predicted relative error U (module docstring)."""


def block_starts(record: Mapping) -> np.ndarray:
    """Start of each pair's block in the flat Hamiltonian layout, shape (E,)."""
    spin = 4 if record[K.SPINOR] else 1
    return spin * np.asarray(record[K.BLOCK_PTR][:-1], dtype=np.int64)


def entry_blocks(record: Mapping) -> np.ndarray:
    """Block (pair) index of every flat Hamiltonian entry, shape (n_entries,)."""
    starts = block_starts(record)
    sizes = np.diff(np.append(starts, len(record[K.H0])))
    return np.repeat(np.arange(len(starts)), sizes)


def block_norms(record: Mapping, flat: np.ndarray) -> np.ndarray:
    """Frobenius norm of each block of a flat array in the Hamiltonian layout, shape (E,)."""
    return np.sqrt(np.add.reduceat(np.abs(np.asarray(flat)) ** 2, block_starts(record)))


def member_spread(record: Mapping, members: np.ndarray) -> np.ndarray:
    """Uncalibrated σ_b: sqrt of the members' variance summed over each block, eV, (E,).

    ``members`` is (K, n_entries), the K predicted ΔH.
    """
    var = np.var(np.asarray(members), axis=0, ddof=1)
    return np.sqrt(np.add.reduceat(var, block_starts(record)))


def gate_factors(delta_norm: np.ndarray, sigma: np.ndarray, tau: float) -> np.ndarray:
    """g_b = ‖ΔH_b‖² / (‖ΔH_b‖² + (τ σ_b)²), in [0, 1]; 1 where τ σ_b = 0."""
    d2 = np.asarray(delta_norm, dtype=np.float64) ** 2
    s2 = (tau * np.asarray(sigma, dtype=np.float64)) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(s2 > 0, d2 / (d2 + s2), 1.0)
    return np.clip(np.nan_to_num(g, nan=1.0), 0.0, 1.0)


def gated_hamiltonian(record: Mapping, delta: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """H = H0 + g ⊙ ΔH in the flat layout (``gate`` per block, (E,))."""
    return np.asarray(record[K.H0]) + np.asarray(gate)[entry_blocks(record)] * delta


def relative_error(delta_norm: np.ndarray, sigma: np.ndarray) -> float:
    """U = sqrt(Σ σ_b²) / sqrt(Σ ‖ΔH_b‖²) of one structure (inf for a zero correction)."""
    num, den = float(np.sum(np.square(sigma))), float(np.sum(np.square(delta_norm)))
    return float(np.sqrt(num / den)) if den > 0 else (0.0 if num == 0 else float("inf"))


def uncertainty_report(
    record: Mapping,
    delta: np.ndarray,
    members: np.ndarray,
    calibration: Mapping,
    familiar: np.ndarray | None = None,
    unseen: np.ndarray | None = None,
) -> tuple[dict, np.ndarray]:
    """Calibrated uncertainty and gate of one prediction.

    Parameters
    ----------
    record : the structure's record (layout, H0).
    delta : (n_entries,) mean predicted ΔH, eV.
    members : (K, n_entries) the members' ΔH, eV.
    calibration : the model file's ``"uncertainty"`` entry (``scale``, ``tau``, ``limits``).
    familiar : (E,) in [0, 1], optional: each block's familiarity; multiplies the gate.
    unseen : (E,) bool, optional: blocks of element pairs never seen together in training
        (kept by the gate, counted by the flag).

    Returns
    -------
    (report, gate): the JSON-serializable report (``ratio`` U, ``sigma_rms_meV`` per entry,
    ``gate_mean`` weighted by ‖ΔH_b‖², ``closed_unfamiliar``, ``unseen_pairs_share``, ``flag``,
    ``reasons``) and g per block (E,).
    """
    sigma = float(calibration["scale"]) * member_spread(record, members)
    norms = block_norms(record, delta)
    wiener = gate_factors(norms, sigma, float(calibration["tau"]))
    familiar = np.ones(len(norms)) if familiar is None else np.asarray(familiar, dtype=float)
    gate = wiener * familiar
    ratio = relative_error(norms, sigma)
    weights = norms**2
    total = max(float(weights.sum()), 1e-300)
    kept = float(np.sum(gate * weights) / total) if weights.sum() > 0 else 1.0
    closed = float(np.sum((1 - familiar) * weights) / total) if weights.sum() > 0 else 0.0
    novel = np.zeros(len(norms), dtype=bool) if unseen is None else np.asarray(unseen, dtype=bool)
    novel_share = float(np.sum(novel * familiar * weights) / total) if weights.sum() > 0 else 0.0
    limits = {**LIMITS, **calibration.get("limits", {})}
    flag = _flag(ratio, closed + novel_share, limits)
    reasons = _reasons(ratio, kept, closed, novel_share, limits)
    report = {
        "ratio": ratio,
        "sigma_rms_meV": 1e3 * float(np.sqrt(np.sum(sigma**2) / max(len(delta), 1))),
        "sigma_max_block_meV": 1e3 * float(sigma.max(initial=0.0)),
        "gate_mean": kept,
        "gate_min": float(gate.min(initial=1.0)),
        "closed_unfamiliar": closed,
        "unseen_pairs_share": novel_share,
        "flag": flag,
        "reasons": reasons,
    }
    return report, gate


def _reasons(ratio: float, kept: float, closed: float, novel: float, limits: Mapping) -> list[str]:
    """One line per cause of doubt: U beyond the warn limit, closed or unseen-pair shares."""
    out = []
    if ratio >= limits["warn"]:
        out.append(
            f"committee uncertainty: predicted error of the correction {ratio:.2f}× its size "
            f"(warn at ≥ {limits['warn']:.2g}, fail at ≥ {limits['fail']:g}); the gate keeps "
            f"{100 * kept:.0f}% of it"
        )
    if closed > 0.005:
        out.append(
            f"gate closed on {100 * closed:.0f}% of the correction (atoms in environments unlike "
            "any in training, or of elements not in training): H0 there"
        )
    if novel > 0.005:
        out.append(
            f"{100 * novel:.0f}% of the correction is on element pairs never trained together "
            "(kept, unverified)"
        )
    return out


def _flag(ratio: float, closed: float, limits: Mapping) -> str:
    if ratio >= limits["fail"] or closed >= limits["closed_fail"]:
        return "fail"
    if ratio >= limits["warn"] or closed >= limits["closed_warn"]:
        return "warn"
    return "ok"


def combine_flags(domain: Mapping, uncertainty: Mapping | None, domain_raises: bool = True) -> dict:
    """One reliability report: the domain statistics' measures, the uncertainty under
    ``"uncertainty"`` and the flag — the uncertainty's, raised by the domain's where
    ``domain_raises`` (model files without the coordination statistics) — with both sets of
    reasons.

    Without an uncertainty (a model file without a committee) the flag is the domain's and
    ``"uncertainty"`` says why there is none.
    """
    if not domain and uncertainty is None:
        return {}
    out = dict(domain)
    out.setdefault("flag", "ok")
    out.setdefault("reasons", [])
    if uncertainty is None:
        out["uncertainty"] = "none: the model file has no committee (no gate applied)"
        return out
    flag = max(out["flag"], uncertainty["flag"], key=FLAGS.index) if domain_raises else None
    flag = flag or uncertainty["flag"]
    if out.get("unseen_elements") and flag == "ok":
        flag = "warn"  # a correction next to an element never trained on is never vouched for
    out["domain_flag"] = out["flag"]
    out.update(flag=flag, reasons=[*uncertainty["reasons"], *out["reasons"]])
    out["uncertainty"] = {k: v for k, v in uncertainty.items() if k not in ("flag", "reasons")}
    out["uncertainty"]["flag"] = uncertainty["flag"]
    return out
