"""Pair-block builds split over forked worker processes, each adding into its own array.

The pair-block H0 of a large cell (:mod:`nextham.dft.sparse_h0`) is a sum over home atoms,
grid boxes and projector centres, each adding into the flat blocks. A :class:`Share` picks
every ``count``-th item of such a list starting at ``index``; :func:`summed` runs one share
per process (``fork``: the cell, the potential on the mesh and the pair table are inherited,
not copied) into its own slab of one anonymous shared mapping, and returns the slabs' sum.
Each process runs its kernels (OpenMP, BLAS) on one thread. The numbers do not depend on the count
of workers beyond the order of floating-point additions (``tests/test_dft_parallel.py``).
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

T = TypeVar("T")
WORKERS_ENV = "NEXTHAM_WORKERS"
"""Environment variable that sets :func:`default_workers`."""


class Share(NamedTuple):
    """Items ``index``, ``index + count``, … of a list of work items."""

    index: int = 0
    count: int = 1

    def of(self, items: Sequence[T]) -> Sequence[T]:
        """This share's items (every ``count``-th, from ``index``)."""
        return items[self.index :: self.count]

    def owns(self, k: int) -> bool:
        """Whether item ``k`` of the list is this share's."""
        return k % self.count == self.index


ALL = Share()
"""The whole list (one process)."""


def default_workers() -> int:
    """Worker processes for a large-cell build: ``$NEXTHAM_WORKERS`` if set, else the cores
    this process may use, at most ``$OMP_NUM_THREADS`` when that is set (a job started with
    ``OMP_NUM_THREADS=1`` beside others stays on one core)."""
    cores = len(os.sched_getaffinity(0))
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"${WORKERS_ENV}={value!r}: give a whole number of processes ≥ 1")
        return int(value)
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    return max(1, min(cores, int(omp))) if omp.isdigit() and int(omp) > 0 else cores


_JOB: Callable[[int], None] | None = None  # the forked workers' job (set before the fork)


def _run(index: int) -> None:
    from pyscf import lib  # deferred: only in a forked worker

    lib.num_threads(1)
    assert _JOB is not None
    with threadpool_limits(1):  # OpenMP and every BLAS: one thread per worker
        _JOB(index)


def summed(job: Callable[[Share, np.ndarray], None], size: int, workers: int = 1) -> np.ndarray:
    """Σ over the shares of ``job(share, out)``, where ``out`` (size,) starts at zero and the
    job adds its share's terms into it; with ``workers`` > 1 one forked process per share."""
    if workers <= 1:
        out = np.zeros(size)
        job(ALL, out)
        return out
    buf = mmap.mmap(-1, max(1, workers * size * 8))  # freed with its last view
    slabs = np.frombuffer(buf, dtype=float, count=workers * size).reshape(workers, size)
    _fork_shares(job, slabs, workers)
    return slabs.sum(axis=0)


def _fork_shares(job: Callable[[Share, np.ndarray], None], slabs: np.ndarray, workers: int) -> None:
    """Run ``job`` for each share in a forked process, share w into row w of ``slabs``."""
    global _JOB

    def one(w: int) -> None:
        job(Share(w, workers), slabs[w])

    _JOB = one
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            list(pool.map(_run, range(workers)))
    finally:
        _JOB = None
