"""Worker processes of the pair-block builds (nextham.dft.parallel): shares cover every item
once, forked shares sum to the one-process result, a worker's error reaches the caller, and
the pair-block H0 does not depend on the number of workers."""

import os

import numpy as np
import pytest
from ase.build import bulk

from nextham.conventions import HARTREE_EV
from nextham.dft import engine, parallel, sparse_h0
from nextham.dft.cell import build_cell
from nextham.dft.pairs import select_pairs
from nextham.dft.parallel import Share, default_workers, summed
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shares_cover_every_item_once(count):
    items = list(range(17))
    got = sorted(x for w in range(count) for x in Share(w, count).of(items))
    assert got == items
    owners = [[w for w in range(count) if Share(w, count).owns(k)] for k in items]
    assert all(len(o) == 1 for o in owners)


def _job(share: Share, out: np.ndarray) -> None:
    for k in share.of(range(len(out) - 1)):
        out[k] += k + 1.0
    out[-1] += os.getpid()  # which processes ran the shares


def test_forked_shares_sum_to_the_serial_result():
    serial = summed(_job, 11, workers=1)
    forked = summed(_job, 11, workers=3)
    np.testing.assert_array_equal(forked[:-1], serial[:-1])
    np.testing.assert_array_equal(serial[:-1], np.arange(1.0, 11.0))
    assert serial[-1] == os.getpid()
    assert forked[-1] != 3 * os.getpid()  # the shares ran in other processes


def _failing(share: Share, out: np.ndarray) -> None:
    if share.index == 1:
        raise RuntimeError("share 1 failed")


def test_a_workers_error_reaches_the_caller():
    with pytest.raises(RuntimeError, match="share 1 failed"):
        summed(_failing, 4, workers=2)
    assert parallel._JOB is None


def test_default_workers_follow_the_environment(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_workers() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_workers() == cores
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    assert default_workers() == 3
    monkeypatch.setenv(parallel.WORKERS_ENV, "zero")
    with pytest.raises(ValueError, match="NEXTHAM_WORKERS"):
        default_workers()


def test_pair_block_h0_is_the_same_with_two_workers(monkeypatch):
    """8-atom Si built as a large cell with one and with two processes: equal to rounding
    (a share left out or counted twice would change blocks by ≳ 0.1 eV)."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.positions += np.random.default_rng(3).normal(0, 0.03, atoms.positions.shape)
    monkeypatch.setattr(engine, "SPARSE_H0_MIN_ATOMS", 8)
    settings = EngineSettings(ke_cutoff_ev=300.0)
    one, mf = engine.zeroth_step(atoms, settings, h0_method="multigrid", workers=1)
    two, _ = engine.zeroth_step(atoms, settings, h0_method="multigrid", workers=2)
    assert (one[K.META]["h0_build"], two[K.META]["h0_build"]) == ("pairs", "pairs")
    np.testing.assert_array_equal(two[K.EDGE_INDEX], one[K.EDGE_INDEX])
    np.testing.assert_array_equal(two[K.CELL_SHIFT], one[K.CELL_SHIFT])
    np.testing.assert_array_equal(two[K.S], one[K.S])
    assert np.abs(two[K.H0] - one[K.H0]).max() < 1e-10
    ei, cs = one[K.EDGE_INDEX], one[K.CELL_SHIFT]
    args = (mf.cell, mf.xc, mf.kpts, ei, cs)
    monkeypatch.setattr(sparse_h0, "summed", _first_share_only)
    partial = sparse_h0.sparse_h0(*args, workers=2) * HARTREE_EV
    assert np.abs(partial - one[K.H0]).max() > 0.1  # one share alone misses terms


@pytest.mark.parametrize("cutoff", [None, 4.0])
def test_shared_pair_selection_keeps_the_same_pairs(cutoff):
    """The overlap threshold (or the cutoff, Å) chooses the same pairs and blocks whether the
    candidates' overlaps come from one process or two."""
    cell = build_cell(bulk("AlP", "zincblende", a=5.45), EngineSettings())
    one = select_pairs(cell, 1e-3, cutoff)
    two = select_pairs(cell, 1e-3, cutoff, workers=2)
    np.testing.assert_array_equal(two[0], one[0])
    np.testing.assert_array_equal(two[1], one[1])
    assert len(two[2]) == len(one[2]) > 0
    for a, b in zip(one[2], two[2]):
        np.testing.assert_array_equal(a, b)
    everything = select_pairs(cell, 1e-9, None, workers=2)
    if cutoff is None:
        assert len(everything[0]) > len(one[0])  # the threshold dropped pairs


def _first_share_only(job, size: int, workers: int = 1) -> np.ndarray:
    out = np.zeros(size)
    job(Share(0, workers), out)
    return out
