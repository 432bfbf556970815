"""The label's SCF: plain DIIS first, then an ADIIS or a damped start where that does not converge.

Spin-restricted transition-metal compounds with a small smearing (0.1 eV) have many d levels
at E_F; PySCF's DIIS from the SAD density can swing between occupations for the whole run
(zincblende MnSe, szv-molopt-sr: 60 cycles, total energy jumping by up to 127 eV per cycle; a
0.2 eV smearing or a 12-vector DIIS do not help). Starting again from the SAD density with
15 damped cycles (70 % of the previous Fock matrix kept, no DIIS) and then DIIS converged it
in 15 + 6 cycles; 15 ADIIS cycles and then DIIS in 15 + 10 (2026-12-05). Cells that converge
with DIIS within :data:`FIRST_CYCLES` (all p-block and s-block labels so far: at most 31
cycles, median 5–7) never see the restarts, so their labels are unchanged.

A run that still moves the total energy by more than :data:`SWING_HA_PER_ATOM` per atom from
cycle :data:`WATCH_FROM` on is swinging, not converging, and is ended there (every DIIS run but
the last). Rocksalt CoP (szv-molopt-sr, 2026-12-06): DIIS jumped by 1–1.4 Ha every ninth cycle
for 35 cycles, the damped start alternated between two energies 1.6 eV apart and its DIIS
jumped again for 60 cycles; the ADIIS start then converged in 15 + 13 — 138 cycles in all, 39
of them useful; with the watch 10 + 15 + 10 + 15 + 13 = 63, and with ADIIS tried first
(:data:`RESTARTS`) 10 + 15 + 13 = 38.
"""

from __future__ import annotations

from pyscf.scf import diis as scf_diis

FIRST_CYCLES = 35
"""DIIS cycles of the first attempt (plain DIIS from the SAD density)."""
RESTARTS = ("adiis", "damped")
"""The starts tried in turn, each from the SAD density, when the first attempt fails. ADIIS
first: of seven campaign cells that needed a restart (3d and 4d, 2026-12-06, with the swing
watch), the three that only ADIIS converges took 22–25 cycles fewer (MoC rocksalt 60 → 35,
PdS wurtzite 59 → 36, CoP rocksalt 63 → 38), three that both converge the same ±5, and one
that only the damped start converges (CsPdBr₃) 25 more (51 → 76); 157 → 141 CPU-s in all, the
same energies to 3e-8 eV."""
START_CYCLES = 15
"""Cycles of a damped or ADIIS start before DIIS takes over."""
DAMPING = 0.7
"""Share of the previous Fock matrix kept in a damped cycle."""
WATCH_FROM = 8
"""The cycle of a run (counted from its start) from which a swing ends it."""
SWING_HA_PER_ATOM = 0.02
"""|ΔE| between cycles (Hartree per atom) that counts as a swing from :data:`WATCH_FROM` on; a
converging run is below 10⁻³ there (the labels' first attempts: median 5–7 cycles to 10⁻⁹)."""


class _Swinging(Exception):
    """Raised from the SCF's callback to end a run that swings."""


def converge(mf, dm0, max_cycle: int) -> dict:
    """Run ``mf`` (a KRKS/KGKS object) from ``dm0`` to convergence: DIIS for at most
    :data:`FIRST_CYCLES`, then each of :data:`RESTARTS` from ``dm0`` (:data:`START_CYCLES`,
    then DIIS for at most ``max_cycle``) until one converges; every DIIS run but the last is
    ended early where it swings (:func:`swinging`). Returns ``{"scf_strategy": "diis" |
    "damped" | "adiis", "scf_cycles": total cycles}``; the last attempt's state stays in ``mf``
    (``mf.converged`` says whether it converged)."""
    cycles = _run(mf, dm0, min(FIRST_CYCLES, max_cycle), watch=bool(RESTARTS))
    strategy = "diis"
    for n, start in enumerate(RESTARTS):
        if mf.converged:
            break
        strategy = start
        watch = n + 1 < len(RESTARTS)
        cycles += _start(mf, dm0, start)
        cycles += _run(mf, mf.make_rdm1(), max_cycle, watch)
    return {"scf_strategy": strategy, "scf_cycles": cycles}


def swinging(cycle: int, delta_e: float, n_atoms: int) -> bool:
    """Whether a run at ``cycle`` (1-based) whose energy moved by ``delta_e`` (Hartree) since
    the last cycle is swinging rather than converging."""
    return cycle >= WATCH_FROM and abs(delta_e) > SWING_HA_PER_ATOM * max(n_atoms, 1)


def _run(mf, dm0, max_cycle: int, watch: bool) -> int:
    """``mf.kernel(dm0=dm0)`` for at most ``max_cycle`` cycles, ended early where it swings
    when ``watch``. Returns the cycles run."""
    seen = {"cycles": 0}

    def callback(envs: dict) -> None:
        seen["cycles"] = envs["cycle"] + 1
        if watch and swinging(seen["cycles"], envs["e_tot"] - envs["last_hf_e"], mf.cell.natm):
            raise _Swinging

    saved = (mf.max_cycle, mf.callback)
    mf.max_cycle, mf.callback = max_cycle, callback
    try:
        mf.kernel(dm0=dm0)
    except _Swinging:
        mf.converged = False
        return seen["cycles"]
    finally:
        mf.max_cycle, mf.callback = saved
    return _cycles(mf)


def _start(mf, dm0, kind: str) -> int:
    """``START_CYCLES`` damped (no DIIS) or ADIIS cycles from ``dm0``; the object is left
    with PySCF's plain DIIS settings. Returns the cycles run."""
    saved = (mf.damp, mf.diis_start_cycle, mf.DIIS)
    if kind == "damped":
        mf.damp, mf.diis_start_cycle = DAMPING, START_CYCLES + 2  # damping only, no DIIS
    else:
        mf.DIIS = scf_diis.ADIIS
    try:
        return _run(mf, dm0, START_CYCLES, watch=False)
    finally:
        mf.damp, mf.diis_start_cycle, mf.DIIS = saved


def _cycles(mf) -> int:
    return int(getattr(mf, "cycles", mf.max_cycle))
