"""The nextham command: generate (resume after SIGKILL, failures, Dask), inspect, export."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from ase.build import bulk
from ase.io import write

from nextham.cli.main import main
from nextham.generate import runner
from nextham.store.dataset import Dataset

LOOSE = ["--kmesh", "1,1,1", "--threshold", "1e-2", "--ke-cutoff", "400"]
FAST = [*LOOSE, "--no-spectral-gate"]  # pairs this loose fail the spectral check (~1.9 eV)


def _structures(tmp_path, n=3):
    paths = []
    for k in range(n):
        p = tmp_path / f"c{k}.xyz"
        write(p, bulk("C", "diamond", a=3.55 + 0.02 * k), format="extxyz")
        paths.append(str(p))
    return paths


def test_generate_resumes_after_sigkill(tmp_path):
    out = tmp_path / "ds"
    cmd = [
        sys.executable,
        "-m",
        "nextham.cli.main",
        "generate",
        str(out),
        *_structures(tmp_path),
        *FAST,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not list((out / "entries").glob("*.h5")):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    ds = Dataset(out)
    assert ds.names == ["c0", "c1", "c2"]
    assert sorted(p.name for p in (out / "entries").iterdir()) == ["c0.h5", "c1.h5", "c2.h5"]
    for name in ds.names:
        ds.load(name)  # checksum verified
    before = {n: ds.entry_path(n).stat().st_mtime_ns for n in ds.names}
    assert subprocess.run(cmd, capture_output=True).returncode == 0  # nothing left to do
    assert {n: ds.entry_path(n).stat().st_mtime_ns for n in ds.names} == before


def test_spread_order_takes_every_composition_first():
    cells = [(f"{s}{k}", bulk(s, "diamond", a=5.4)) for s in ("Si", "C") for k in range(3)]
    cells.insert(2, ("SiC0", bulk("SiC", "zincblende", a=4.36)))
    order = [n for n, _ in runner.spread_order(cells)]
    assert order == ["Si0", "SiC0", "C0", "Si1", "C1", "Si2", "C2"]


def test_spread_order_takes_the_cheapest_first_within_a_round():
    """With engine settings, each composition gives its cheapest projected label first and a
    round goes cheapest first: the Si supercell waits for the Si primitive cells."""
    from nextham.dft.settings import EngineSettings
    from nextham.generate.cost import structure_seconds

    settings = EngineSettings(basis="szv-molopt-sr", kspacing=1.2)
    big = bulk("Si", "diamond", a=5.4, cubic=True).repeat((2, 1, 1))
    cells = [("Si_big", big), ("Na0", bulk("Na", "bcc", a=4.2)), ("Si0", bulk("Si", "diamond",
             a=5.4)), ("Si1", bulk("Si", "diamond", a=5.5))]  # fmt: skip
    seconds = {n: structure_seconds(a, settings) for n, a in cells}
    assert seconds["Si_big"] > seconds["Si0"] and seconds["Na0"] > seconds["Si0"]
    order = [n for n, _ in runner.spread_order(cells, settings)]
    cheap_si = min(["Si0", "Si1"], key=seconds.get)
    assert order[:2] == sorted([cheap_si, "Na0"], key=seconds.get)  # round 1: one each
    assert order[2:] == [({"Si0", "Si1"} - {cheap_si}).pop(), "Si_big"]


def test_limit_computes_a_round_and_the_rerun_goes_on(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["generate", str(out), *_structures(tmp_path), *FAST, "--limit", "2"]
    assert main(argv) == 0
    assert len(Dataset(out).names) == 2
    assert main(argv[:-2]) == 0
    assert Dataset(out).names == ["c0", "c1", "c2"]
    assert "spent/projected of the 2 finished labels" in capsys.readouterr().out


def test_a_cost_cap_leaves_the_dearer_structures_for_a_later_run(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["generate", str(out), *_structures(tmp_path), *FAST]
    assert main([*argv, "--max-label-seconds", "0"]) == 0  # every label costs more than 0 s
    assert Dataset(out).names == [] and len(Dataset(out).manifest["names"]) == 3
    assert main([*argv, "--max-label-seconds", "1e9"]) == 0
    assert Dataset(out).names == ["c0", "c1", "c2"]


def test_a_fresh_dataset_takes_the_cap_calibration_of_the_ones_given(tmp_path, capsys):
    from nextham.generate.cost import dataset_ratio, structure_seconds

    first, fresh = tmp_path / "first", tmp_path / "fresh"
    paths = _structures(tmp_path)
    assert main(["generate", str(first), *paths, *FAST]) == 0
    ratio = dataset_ratio(first)
    ds = Dataset(first)
    seconds = [structure_seconds(a, ds.settings) for _, a in ds.structures()]
    cap = 1.5 * ratio * max(seconds)
    assert cap < min(seconds)  # uncalibrated, the cap would take none of them
    argv = ["generate", str(fresh), *paths, *FAST, "--max-label-seconds", str(cap)]
    assert main(argv) == 0 and Dataset(fresh).names == []
    capsys.readouterr()
    assert main([*argv, "--calibrate-from", str(first)]) == 0
    assert Dataset(fresh).names == ["c0", "c1", "c2"]
    assert "the median spent/projected of the other datasets given" in capsys.readouterr().out


def test_failed_structure_recorded_and_run_continues(tmp_path, capsys, monkeypatch):
    paths = _structures(tmp_path, 2)
    real = runner.compute_record

    def engine(atoms, settings, **kwargs):
        if atoms.info.get("name") == "c1":  # the dataset's copy of c1: its SCF "fails"
            raise RuntimeError("SCF diverged")
        return real(atoms, settings, **kwargs)

    monkeypatch.setattr(runner, "compute_record", engine)
    rc = main(["generate", str(tmp_path / "ds"), *paths, *FAST])
    assert rc == 1
    ds = Dataset(tmp_path / "ds")
    assert ds.names == ["c0"]
    assert "SCF diverged" in ds.manifest["failed"]["c1"]


def test_label_failing_the_spectral_check_is_recorded_as_failed(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps its tables to the terminal
    out = tmp_path / "ds"
    paths = _structures(tmp_path, 1)
    assert main(["generate", str(out), *paths, *LOOSE]) == 1
    failed = Dataset(out).manifest["failed"]
    assert list(failed) == ["c0"] and Dataset(out).names == []
    assert "spectral check failed: band error" in failed["c0"] and "--threshold" in failed["c0"]
    capsys.readouterr()
    assert main(["generate", str(out), *paths, *FAST]) == 0  # kept on request, marked failed
    ds = Dataset(out)
    assert ds.names == ["c0"] and not ds.load("c0")["meta"]["spectral_check"]["passed"]
    assert main(["inspect", str(out), "--entries"]) == 0
    text = capsys.readouterr().out
    assert "spectral_check_failed" in text and "FAILED" in text


def test_element_without_basis_refused_before_any_work(tmp_path, capsys):
    paths = _structures(tmp_path, 1)
    write(tmp_path / "th.xyz", bulk("Th", "fcc", a=5.1), format="extxyz")  # no GTH basis
    rc = main(["generate", str(tmp_path / "ds"), *paths, str(tmp_path / "th.xyz"), *FAST])
    assert rc == 2
    err = capsys.readouterr().err
    assert "Th (Z=90)" in err and "no basis family" in err and "szv-molopt-sr" in err
    assert not (tmp_path / "ds").exists()


def test_parallel_workers_and_inspect_export(tmp_path, capsys):
    out = tmp_path / "ds"
    rc = main(["generate", str(out), *_structures(tmp_path, 2), *FAST, "--workers", "2",
               "--position-matrix"])  # fmt: skip
    assert rc == 0
    entry = Dataset(out).load("c1")
    assert entry["r_matrix"].shape == (3, entry["S"].size)
    assert main(["inspect", str(out), "--entries"]) == 0
    text = capsys.readouterr().out
    assert "finished" in text and "c1" in text
    assert main(["export", str(out), "--format", "deeph", "--out", str(tmp_path / "dh")]) == 0
    assert (tmp_path / "dh" / "c1" / "hamiltonians.h5").exists()
    assert not list((tmp_path / "dh").glob(".*"))


def test_dask_scheduler(tmp_path):
    import distributed

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster:
        rc = main(["generate", str(tmp_path / "ds"), *_structures(tmp_path, 1), *FAST,
                   "--scheduler", cluster.scheduler_address])  # fmt: skip
    assert rc == 0
    assert Dataset(tmp_path / "ds").names == ["c0"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["inspect", "{tmp}/nothing"], "not a nextham dataset"),
        (["generate", "{tmp}/ds", "{tmp}/missing.cif"], "no such file"),
        (["generate", "{tmp}/ds", "--binaries", "GaAs"], "must be written A-B"),
        (["generate", "{tmp}/ds", "--elements", "Xx"], "unknown element"),
        (
            ["generate", "{tmp}/ds", "--elements", "Pb", "--soc-method", "gth"],
            "--soc-method gth needs --spin soc",
        ),
    ],
)
def test_bad_input_one_clear_line(tmp_path, capsys, argv, message):
    rc = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "ds" / "entries").exists() or not list(
        (tmp_path / "ds" / "entries").iterdir()
    )
