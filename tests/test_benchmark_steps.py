"""benchmarks/suite/steps.py: a dataset step that tolerates structures the engine cannot label."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from suite import steps

import nextham.store.dataset as dataset_module


class _Dataset:
    """One labelled structure and the failures a ``generate`` run left in the manifest."""

    failed: ClassVar[dict] = {}

    def __init__(self, path):
        self.names = ["AlP_nickelarsenide"]
        self.manifest = {"failed": dict(self.failed)}

    def load(self, name):
        return {"meta": {"time_h0_s": 1.0, "time_scf_s": 2.0}, "numbers": [13, 15, 13, 15]}


def _failing_cli(*args):
    raise subprocess.CalledProcessError(1, ["nextham", *args])


@pytest.fixture
def failing_run(monkeypatch):
    monkeypatch.setattr(steps, "nextham_cli", _failing_cli)
    monkeypatch.setattr(dataset_module, "Dataset", _Dataset)
    return _Dataset


def test_generate_reports_failed_structures_when_allowed(failing_run, tmp_path):
    failing_run.failed = {"OsSi_nickelarsenide": "SCF not converged after 104 cycles"}
    out = steps.generate(tmp_path / "data", ["x.extxyz"], allow_failed=True)
    assert out["n_structures"] == 1 and out["natoms_mean"] == 4
    assert out["failed"] == {"OsSi_nickelarsenide": "SCF not converged after 104 cycles"}
    with pytest.raises(subprocess.CalledProcessError):  # not allowed: the failure stops the run
        steps.generate(tmp_path / "data", ["x.extxyz"])


def test_generate_raises_a_crash_that_left_no_failure(failing_run, tmp_path):
    failing_run.failed = {}
    with pytest.raises(subprocess.CalledProcessError):
        steps.generate(tmp_path / "data", ["x.extxyz"], allow_failed=True)
