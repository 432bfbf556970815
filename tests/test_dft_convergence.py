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
