"""Shared fixtures: tiny engine records computed once per test session."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from nextham.dft.settings import EngineSettings


@pytest.fixture(scope="session")
def si_settings() -> EngineSettings:
    """Cheapest meaningful scalar settings: gth-szv, Γ-only SCF, loose pair threshold."""
    return EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-3)


@pytest.fixture(scope="session")
def si_record(si_settings):
    """Engine record of a slightly rattled Si2 diamond cell (scalar)."""
    from nextham.dft.label import compute_record

    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions += np.random.default_rng(0).normal(0, 0.03, atoms.positions.shape)
    return compute_record(atoms, si_settings)


@pytest.fixture(scope="session")
def si_tight():
    """(atoms, settings, record) of Si2 with the default pair threshold 1e-5 and Γ-only SCF:
    the stored H(R) reproduces PySCF's H(k) to about a meV."""
    from nextham.dft.label import compute_record

    settings = EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-5)
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions += np.random.default_rng(1).normal(0, 0.03, atoms.positions.shape)
    return atoms, settings, compute_record(atoms, settings)


@pytest.fixture(scope="session")
def predictor():
    """The shipped model, loaded once (tests restore any attribute they set)."""
    from nextham.predict import Predictor

    return Predictor.from_file()


@pytest.fixture(scope="session")
def alp_prediction(predictor):
    """The shipped model's prediction of the AlP example (scalar)."""
    from ase.io import read
    from model_kit import ALP_EXAMPLE

    return predictor.predict(read(ALP_EXAMPLE), "AlP")


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Six small diamond-carbon cells from the engine (Γ-only, loose pairs, low cutoff)."""
    root = tmp_path_factory.mktemp("data") / "tiny"
    from model_kit import strained_cells

    from nextham.generate.runner import build_dataset

    structures = strained_cells("C", "diamond", 3.57, 6, seed=0)
    settings = EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-2, ke_cutoff_ev=400.0)
    build_dataset(root, structures, settings, spectral_gate=False)  # loose pairs: fails it
    return root
