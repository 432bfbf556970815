"""One Fock build of a Hamiltonian's own density: how far it is from self-consistency.

At the SCF solution the Kohn–Sham operator of the density equals the Hamiltonian that made it,
F[ρ[H*]] = H*. For a trial H (a prediction, or H0) the *residual*

    R(k) = F[ρ[H]](k) − H(k) − μ S(k),     μ the best common shift (as the Gauge MAE's),

is zero only at the solution; to first order in the error e = H − H*, R = −(1 − χ) e with χ
the density response through the Hartree and exchange–correlation kernel, so R sees every
component of e (the identity term) and amplifies the ones that move charge. Comparing the
residual of the corrected H with that of H0 measures, for this structure, whether the
correction moved H toward the SCF solution: the check behind ``predict --verify``, its flag
and its choice of the returned H — the gated, the raw or H0 itself, whichever is closest to
self-consistency (:func:`verification`).

Cost: the Fock matrix of the SAD density at the SCF k-points (H0 there) and one per
Hamiltonian checked, with a dense diagonalization at each k — a few SCF cycles' worth, for
cells the dense path handles (:data:`MAX_ATOMS`). Where the engine's one-pass Fock build
applies (scalar GTH cells, :func:`nextham.dft.mesh_fock.applies`) each density costs one
evaluation of its density and one integration of its whole local potential, and the
densities of the Hamiltonians checked share one pass over the orbitals; elsewhere PySCF's
``get_hcore`` + ``get_veff``.

The residual is taken in the Löwdin-orthonormalized basis, S(k)^{-1/2} R(k) S(k)^{-1/2}
(directions of S that PySCF's SCF drops as linearly dependent dropped here too), so that it does not
depend on the basis' overlap, and reported as the root mean square over every matrix entry of
every k-point, meV.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pyscf.dft import libxc

from nextham.conventions import HARTREE_EV
from nextham.dft import mesh_fock
from nextham.dft.ao_cache import cached_ao_values
from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf, screen_scf_grid
from nextham.dft.sad import sad_density
from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.record import keys as K
from nextham.scf import density_of, hamiltonian_at_kpts, sad_fock_at_kpts
from nextham.structures.read import record_atoms

MAX_ATOMS = 64
"""Largest cell checked (dense diagonalization and Fock builds at every SCF k-point)."""
AUTO_MAX_ATOMS = 16
"""Largest cell checked without being asked (:func:`auto_check`): the check of a 16-atom
supercell takes 28–62 s on one core, against 72–194 s for its SCF (docs/predict.md)."""
AUTO_ALWAYS_MAX_ATOMS = 4
"""Cells up to this size are checked by default whatever the estimate says: there the check
costs a fraction of the prediction itself (docs/predict.md) and measures what the estimate
only infers."""
POLICIES = ("auto", "always", "never")
"""When a prediction is checked: where the estimated flag doubts it (``auto``, the default),
every prediction (``always``, ``predict --verify``) or never (``--no-verify``)."""


def auto_check(estimated_flag: str, n_atoms: int, spinor: bool = False) -> bool:
    """Whether the ``auto`` policy checks a prediction: the correction is scalar (a spinor
    model's SO-ECP Fock builds are dear: checked on request only) and either the cell has at
    most :data:`AUTO_ALWAYS_MAX_ATOMS` atoms, or its estimated flag is ``warn`` or ``fail``
    (an element or element pair never in training, an unfamiliar environment, a large
    committee spread) and it has at most :data:`AUTO_MAX_ATOMS` atoms. The check then
    decides: it clears a correction that brings H closer to self-consistency and replaces one
    that does not by H0."""
    if spinor:
        return False
    doubted = estimated_flag in ("warn", "fail") and n_atoms <= AUTO_MAX_ATOMS
    return doubted or n_atoms <= AUTO_ALWAYS_MAX_ATOMS


def verify_policy(value) -> str:
    """``"auto"``, ``"always"`` or ``"never"`` from a policy name or a bool (True: always)."""
    if value is True or value is False:
        return "always" if value else "never"
    if value not in POLICIES:
        raise InputError(
            f"verify must be one of {', '.join(POLICIES)} (or True/False), got {value!r}"
        )
    return value


def check_verifiable(n_atoms: int, name: str = "structure") -> None:
    """Refuse a cell too large for the check (:data:`MAX_ATOMS`)."""
    if n_atoms > MAX_ATOMS:
        raise InputError(
            f"{name}: the self-consistency check builds dense Fock matrices; {n_atoms} atoms "
            f"is more than {MAX_ATOMS}: leave out --verify for this cell"
        )


def residual_rms_mev(r_k: np.ndarray, bases: list[np.ndarray]) -> float:
    """RMS (meV) of X_k† R(k) X_k − μ over every entry and k, μ the best real shift;
    ``r_k`` (nk, M, M) Hartree; ``bases`` X_k = S(k)^{-1/2}, (M, m_k) each, as PySCF's
    ``check_linear_dependency`` gives them."""
    orth = [x.conj().T @ r @ x for r, x in zip(r_k, bases, strict=True)]
    sizes = np.array([o.shape[0] for o in orth])
    mu = sum(np.trace(o).real for o in orth) / sizes.sum()
    sq = sum(np.sum(np.abs(o - mu * np.eye(len(o))) ** 2) for o in orth)
    return 1e3 * HARTREE_EV * float(np.sqrt(sq / np.sum(sizes**2)))


def fock_residuals(
    record: Mapping, settings: EngineSettings, hamiltonians: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """Residual RMS (meV, module docstring) of each named Hamiltonian (flat blocks of
    ``record``'s layout, eV) and of H0 itself under ``"h0"``; ``settings`` those of the
    record's S and H0.

    Every H is taken as H0 exactly at the SCF k-points plus the Bloch sum of its correction
    H − H0 on the stored pairs (as :func:`nextham.scf.guess_density`), so H0's long tail beyond
    the stored pairs is common to all and not counted as an error of any.
    """
    atoms = record_atoms(record)
    check_verifiable(len(atoms))
    with cached_ao_values(gradients=libxc.xc_type(settings.xc) == "GGA"):
        return _residuals(
            make_mf(build_cell(atoms, settings), settings), settings, record, hamiltonians
        )


def _residuals(mf, settings: EngineSettings, record: Mapping, hamiltonians: Mapping) -> dict:
    """:func:`fock_residuals` on the SCF object ``mf`` (orbital values cached by the caller)."""
    screen_scf_grid(mf)  # the SCF grid shares the density fitting's cached orbital values
    spinor = bool(record[K.SPINOR])
    one_pass = not spinor and mesh_fock.applies(mf)
    if one_pass:  # the SAD density's Fock matrix: H0 exactly at the SCF k-points
        h0_k = mesh_fock.band_focks(mf, [sad_density(mf)], mf.kpts)[0]
    else:
        h0_k = sad_fock_at_kpts(mf, settings)
        h1e = np.asarray(mf.get_hcore())
    bases = mf.check_linear_dependency(np.asarray(mf.get_ovlp()), 0)  # S(k)^{-1/2}, (M, m_k)
    h0 = np.asarray(record[K.H0])
    h_ks, dms = {}, {}
    for name, h in {"h0": h0, **hamiltonians}.items():
        h_ks[name] = h0_k + hamiltonian_at_kpts(dict(record), np.asarray(h) - h0, mf)
        dms[name] = density_of(mf, h_ks[name], spinor, settings.smearing_ev)
    if one_pass:  # every density's Fock matrix from one evaluation of the orbitals
        f_ks = dict(zip(dms, mesh_fock.band_focks(mf, list(dms.values()), mf.kpts), strict=True))
    else:
        f_ks = {name: h1e + np.asarray(mf.get_veff(dm=dm)) for name, dm in dms.items()}
    return {name: residual_rms_mev(f_ks[name] - h_ks[name], bases) for name in h_ks}


LIMITS = {"warn": 1.0, "fail": 1.5, "doubted_warn": 0.9}
"""Flag limits on q = residual of the corrected H / residual of H0 (:func:`verification`);
``doubted_warn`` is the warn limit where the estimate said ``fail`` (:func:`with_verification`):
a correction the estimate strongly doubts is cleared only when it brings H clearly — by at least
a tenth of H0's distance — closer to self-consistency."""


def verification(
    residuals: Mapping[str, float], limits: Mapping | None = None, choose: bool = True
) -> dict:
    """The flag and the returned Hamiltonian of a checked prediction, from
    :func:`fock_residuals` of ``"h0"``, ``"raw"`` (H0 + ΔH) and optionally ``"gated"``.

    q = raw / h0: ``ok`` below ``limits["warn"]`` (the correction brought H closer to
    self-consistency), ``warn`` from it (no closer than H0), ``fail`` from ``limits["fail"]``
    (clearly further away). ``returned`` names the candidate closest to self-consistency
    (ties: gated, then raw, then H0), or ``"raw"`` where ``choose`` is false (``--no-gate``).
    """
    limits = {**LIMITS, **(limits or {})}
    h0 = residuals["h0"]
    q = residuals["raw"] / h0 if h0 > 0 else float("inf")
    flag = "fail" if q >= limits["fail"] else "warn" if q >= limits["warn"] else "ok"
    reasons = []
    if flag != "ok":
        reasons.append(
            f"self-consistency check: the corrected H is {q:.2f}× as far from self-consistency "
            f"as H0 (warn at ≥ {limits['warn']:g}, fail at ≥ {limits['fail']:g}): the correction "
            "does not help this structure"
        )
    candidates = {k: residuals[k] for k in ("gated", "raw", "h0") if k in residuals}
    returned = min(candidates, key=candidates.get) if choose else "raw"
    if returned == "h0":
        reasons.append("the returned H is H0: the correction did not bring H closer to the SCF")
    elif returned == "raw" and "gated" in residuals:
        reasons.append("the returned H is the ungated H0 + ΔH: closer to the SCF than the gated")
    return {
        "residual_meV": dict(residuals),
        "ratio": q,
        "returned": returned,
        "step_back": returned == "h0",
        "flag": flag,
        "reasons": reasons,
    }


def with_verification(report: Mapping, check: Mapping, limits: Mapping | None = None) -> dict:
    """The reliability report with the check's flag — a measurement on this structure, it
    replaces the estimate's, kept as ``"estimated_flag"`` — its reasons first, and its numbers
    under ``"verification"``. Where the estimate said ``fail``, the check clears the
    prediction only below ``limits["doubted_warn"]`` (:data:`LIMITS`): between it and the warn
    limit the correction helps too little to outweigh the estimate, and the flag is ``warn``.
    Where the estimate said ``fail`` on a cell with an element never in training
    (``report["unseen_elements"]``), the check lowers the flag to ``warn`` at most: it measures
    this structure's distance from self-consistency, one number, not whether a correction the
    committee disagrees on is right for chemistry the model never learned."""
    limits = {**LIMITS, **(limits or {})}
    out = dict(report)
    out["estimated_flag"] = out.get("flag", "ok")
    flag, reasons = check["flag"], list(check["reasons"])
    q = check["ratio"]
    doubted = flag == "ok" and out["estimated_flag"] == "fail"
    why = None
    if doubted and q >= limits["doubted_warn"]:
        why = (f"too little gain (warn at ≥ {limits['doubted_warn']:g} where the estimate says "
               "fail) to clear a correction the estimate doubts")  # fmt: skip
    elif doubted and out.get("unseen_elements"):
        why = (f"but the estimate says fail next to elements never in training "
               f"({', '.join(out['unseen_elements'])}): a check clears such a correction to warn "
               "at most")  # fmt: skip
    if why:
        flag = "warn"
        reasons.insert(0, f"self-consistency check: the corrected H is {q:.2f}× as far from "
                          f"self-consistency as H0, {why}")  # fmt: skip
    out["flag"] = flag
    out["reasons"] = [*reasons, *out.get("reasons", [])]
    out["verification"] = {k: v for k, v in check.items() if k not in ("flag", "reasons")}
    return out
