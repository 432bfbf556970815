"""The label's SCF: plain DIIS first, then a damped or ADIIS start where that does not converge.

Spin-restricted transition-metal compounds with a small smearing (0.1 eV) have many d levels
at E_F; PySCF's DIIS from the SAD density can swing between occupations for the whole run
(zincblende MnSe, szv-molopt-sr: 60 cycles, total energy jumping by up to 127 eV per cycle; a
0.2 eV smearing or a 12-vector DIIS do not help). Starting again from the SAD density with
15 damped cycles (70 % of the previous Fock matrix kept, no DIIS) and then DIIS converged it
in 15 + 6 cycles; 15 ADIIS cycles and then DIIS in 15 + 10 (2026-12-05). Cells that converge
with DIIS within :data:`FIRST_CYCLES` (all p-block and s-block labels so far: at most 31
cycles, median 5–7) never see the restarts, so their labels are unchanged.
"""

from __future__ import annotations

from pyscf.scf import diis as scf_diis

FIRST_CYCLES = 35
"""DIIS cycles of the first attempt (plain DIIS from the SAD density)."""
RESTARTS = ("damped", "adiis")
"""The starts tried in turn, each from the SAD density, when the first attempt fails."""
START_CYCLES = 15
"""Cycles of a damped or ADIIS start before DIIS takes over."""
DAMPING = 0.7
"""Share of the previous Fock matrix kept in a damped cycle."""


def converge(mf, dm0, max_cycle: int) -> dict:
    """Run ``mf`` (a KRKS/KGKS object) from ``dm0`` to convergence: DIIS for at most
    :data:`FIRST_CYCLES`, then each of :data:`RESTARTS` from ``dm0`` (:data:`START_CYCLES`,
    then DIIS for at most ``max_cycle``) until one converges. Returns
    ``{"scf_strategy": "diis" | "damped" | "adiis", "scf_cycles": total cycles}``; the last
    attempt's state stays in ``mf`` (``mf.converged`` says whether it converged)."""
    mf.max_cycle = min(FIRST_CYCLES, max_cycle)
    mf.kernel(dm0=dm0)
    cycles, strategy = _cycles(mf), "diis"
    for start in RESTARTS:
        if mf.converged:
            break
        strategy = start
        cycles += _start(mf, dm0, start)
        mf.max_cycle = max_cycle
        mf.kernel(dm0=mf.make_rdm1())
        cycles += _cycles(mf)
    return {"scf_strategy": strategy, "scf_cycles": cycles}


def _start(mf, dm0, kind: str) -> int:
    """``START_CYCLES`` damped (no DIIS) or ADIIS cycles from ``dm0``; the object is left
    with PySCF's plain DIIS settings. Returns the cycles run."""
    saved = (mf.damp, mf.diis_start_cycle, mf.DIIS, mf.max_cycle)
    if kind == "damped":
        mf.damp, mf.diis_start_cycle = DAMPING, START_CYCLES + 2  # damping only, no DIIS
    else:
        mf.DIIS = scf_diis.ADIIS
    mf.max_cycle = START_CYCLES
    try:
        mf.kernel(dm0=dm0)
    finally:
        mf.damp, mf.diis_start_cycle, mf.DIIS, mf.max_cycle = saved
    return _cycles(mf)


def _cycles(mf) -> int:
    return int(getattr(mf, "cycles", mf.max_cycle))
