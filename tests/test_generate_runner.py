"""The local worker pool of ``generate``: workers do not outlive their parent; what is not
stored as a label; one writer per dataset directory."""

import multiprocessing
import os
import subprocess
import sys

import pytest
from ase.build import bulk

from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.generate import runner
from nextham.record import keys as K
from nextham.store.lock import single_writer


def test_worker_watch_exits_when_the_parent_is_not_its_parent():
    spawn = multiprocessing.get_context("spawn")
    orphan = spawn.Process(target=runner._watch, args=(-1, 0.1))  # a parent it never had
    orphan.start()
    orphan.join(timeout=30)
    assert orphan.exitcode == 1
    child = spawn.Process(target=runner._watch, args=(os.getpid(), 0.1))  # its real parent
    child.start()
    child.join(timeout=1.0)
    try:
        assert child.is_alive()
    finally:
        child.terminate()
        child.join()


def test_an_unconverged_scf_is_recorded_as_failed_not_stored(tmp_path, monkeypatch):
    """An SCF that did not converge is no label (its ΔH can reach hundreds of eV): the run
    records it as failed with the reason, even without the spectral gate."""
    real = runner.compute_record

    def compute(atoms, settings, method="auto"):
        record = real(atoms, settings, method=method)
        if atoms.positions[0, 0] != 0.0:  # the rattled copy: pretend it did not converge
            record[K.META].update(scf_converged=False, scf_cycles=185, scf_strategy="adiis")
        return record

    monkeypatch.setattr(runner, "compute_record", compute)
    a = bulk("C", "diamond", a=3.57)
    b = a.copy()
    b.positions[0, 0] += 0.05
    settings = EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-2, ke_cutoff_ev=400.0)
    ds = runner.build_dataset(tmp_path / "d", [("ok", a), ("bad", b)], settings,
                              spectral_gate=False)  # fmt: skip
    assert ds.names == ["ok"]
    assert "SCF not converged after 185 cycles" in ds.manifest["failed"]["bad"]
    assert runner.label_failure({K.META: {"scf_converged": True}}) is None


def test_a_second_writer_of_a_dataset_is_refused_until_the_first_ends(tmp_path):
    """Another process holding the directory's lock: `build_dataset` refuses before writing
    anything, naming the fix; once that process has ended (killed, no clean-up) it proceeds."""
    path = tmp_path / "d"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from nextham.store.lock import single_writer\n"
         f"with single_writer({str(path)!r}):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        settings = EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-2, ke_cutoff_ev=400.0)
        with pytest.raises(InputError, match=f"another process \\(pid {holder.pid}\\)"):
            runner.build_dataset(path, [("C", bulk("C", "diamond", a=3.57))], settings)
        assert not (path / "manifest.json").exists()
    finally:
        holder.kill()
        holder.wait()
    with single_writer(path):  # released by the operating system with the process
        with pytest.raises(InputError, match="wait for that `nextham generate`"):
            with single_writer(path):
                pass
