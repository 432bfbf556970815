"""The label's SCF: DIIS first, damped and ADIIS restarts where it does not converge."""

import numpy as np
import pytest
from ase.build import bulk

from nextham.dft import convergence, engine
from nextham.dft.settings import EngineSettings

SETTINGS = EngineSettings(kmesh=(2, 1, 1), overlap_threshold=1e-3, ke_cutoff_ev=200.0)


def _scf():
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions[1] += [0.04, -0.02, 0.03]
    _, mf = engine.zeroth_step(atoms, SETTINGS)
    return mf


@pytest.fixture(scope="module")
def plain():
    mf = _scf()
    info = convergence.converge(mf, mf.nextham_dm0, SETTINGS.max_cycle)
    return mf, info


def test_a_converging_cell_takes_plain_diis(plain):
    mf, info = plain
    assert mf.converged and info["scf_strategy"] == "diis"
    assert 1 < info["scf_cycles"] <= convergence.FIRST_CYCLES


@pytest.mark.parametrize("restarts", [("damped", "adiis"), ("adiis",)])
def test_restarts_reach_the_same_state(plain, monkeypatch, restarts):
    """A first attempt cut short (one cycle) is restarted from the SAD density; the restart
    converges to the plain run's energy and levels."""
    monkeypatch.setattr(convergence, "FIRST_CYCLES", 1)
    monkeypatch.setattr(convergence, "RESTARTS", restarts)
    mf = _scf()
    info = convergence.converge(mf, mf.nextham_dm0, SETTINGS.max_cycle)
    assert mf.converged and info["scf_strategy"] == restarts[0]
    assert info["scf_cycles"] > 1 + convergence.START_CYCLES - 1
    ref, _ = plain
    assert abs(mf.e_tot - ref.e_tot) < 1e-8
    np.testing.assert_allclose(np.asarray(mf.mo_energy), np.asarray(ref.mo_energy), atol=1e-5)
    assert mf.damp == ref.damp and mf.DIIS is ref.DIIS  # the object's settings restored


def test_swinging_is_a_large_energy_step_after_the_watch_starts():
    limit = convergence.SWING_HA_PER_ATOM * 2
    start = convergence.WATCH_FROM
    assert convergence.swinging(start, 1.5 * limit, 2)
    assert convergence.swinging(start + 5, -1.5 * limit, 2)
    assert not convergence.swinging(start - 1, 10.0, 2)  # early cycles may move a lot
    assert not convergence.swinging(start, 0.5 * limit, 2)
    assert not convergence.swinging(start, 1.5 * limit, 4)  # the limit grows with the cell


def test_a_swinging_run_is_ended_and_restarted(plain, monkeypatch):
    """With a watch that calls every step a swing, the first DIIS run ends at WATCH_FROM and
    the next start (unwatched: the last) converges to the plain run's state."""
    monkeypatch.setattr(convergence, "SWING_HA_PER_ATOM", 0.0)
    monkeypatch.setattr(convergence, "WATCH_FROM", 2)
    monkeypatch.setattr(convergence, "RESTARTS", ("adiis",))
    mf = _scf()
    info = convergence.converge(mf, mf.nextham_dm0, SETTINGS.max_cycle)
    ref, ref_info = plain
    assert ref_info["scf_cycles"] > 2  # the plain run would have gone on
    assert mf.converged and info["scf_strategy"] == "adiis"
    assert info["scf_cycles"] >= 2 + convergence.START_CYCLES
    assert abs(mf.e_tot - ref.e_tot) < 1e-8
    assert mf.callback is ref.callback and mf.max_cycle == ref.max_cycle  # settings restored
