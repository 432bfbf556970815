"""Build a dataset: run the engine over structures, in parallel, resumably.

Local worker processes or a Dask cluster compute; the store (:mod:`nextham.store.dataset`)
keeps what is finished, so a rerun of the same command resumes.

Workers (local processes or Dask workers) only compute and return records; the calling
process is the single writer of the dataset directory, so there are no write races.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from ase import Atoms
from pyscf import lib

from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings, check_elements, check_pair_rule
from nextham.dft.spectral_check import failure_message
from nextham.generate.cost import prior_ratio, structure_seconds, within_budget
from nextham.record import keys as K
from nextham.store.dataset import Dataset
from nextham.store.lock import single_writer


def _compute(
    name: str, atoms: Atoms, settings: EngineSettings, method: str, threads: int
) -> tuple[str, Any, str | None]:
    """Worker task: returns (name, record or None, error text or None); never raises."""
    if threads:
        lib.num_threads(threads)
    try:
        return name, compute_record(atoms, settings, method=method), None
    except Exception as exc:  # recorded in the manifest, the run goes on
        tb = traceback.format_exc(limit=3)
        return name, None, f"{type(exc).__name__}: {exc}\n{tb}"


def _submit_all(submit: Callable, todo, job: tuple[EngineSettings, str], threads: int) -> list:
    return [submit(_compute, name, atoms, *job, threads) for name, atoms in todo]


def build_dataset(
    path: str | os.PathLike,
    structures: list[tuple[str, Atoms]],
    settings: EngineSettings,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[str, bool], None] | None = None,
    method: str = "auto",
    spectral_gate: bool = True,
    limit: int | None = None,
    max_seconds: float | None = None,
    calibrate_from: Sequence[str | os.PathLike] = (),
) -> Dataset:
    """Compute every structure not yet finished in ``path`` and store it.

    Elements the settings cannot compute, and a pair threshold too loose for the basis family
    (:data:`nextham.dft.settings.PAIR_THRESHOLD_MAX`), are refused before anything is written.

    Parameters
    ----------
    workers : local worker processes (ignored with ``scheduler``); each gets
        ``cpu_count // workers`` threads.
    scheduler : address of a Dask scheduler (``tcp://host:8786``) to run on a cluster.
    progress : called as ``progress(name, ok)`` after each structure.
    method : how each label is built (:func:`nextham.dft.label.compute_record`); ``auto``
        takes the multigrid path where every element is verified, else the reference.
    spectral_gate : a label whose spectral check fails (:mod:`nextham.dft.spectral_check`) is
        recorded as failed, with its numbers, instead of stored; ``False`` stores it (its
        metadata still says it failed). A label whose SCF did not converge is never stored
        (:func:`label_failure`).
    limit : compute at most this many of the unfinished structures in this run (a campaign's
        round); ``None`` computes all.
    max_seconds : compute only the unfinished structures whose projected label cost is at most
        this (s, one thread; :func:`nextham.generate.cost.within_budget`, calibrated on the
        finished labels), so that a campaign run in rising caps labels its cheapest first
        across shards; ``None``: no cap.
    calibrate_from : other datasets (a campaign's other shards) whose finished labels
        calibrate the cap while ``path`` has none of its own
        (:func:`nextham.generate.cost.prior_ratio`).

    Unfinished structures are computed in :func:`spread_order` (cheapest first within each
    round), so that an interrupted or limited run already holds every composition it reached
    once before any twice. One run writes a directory at a time
    (:func:`nextham.store.lock.single_writer`): a second run on the same directory is refused
    while the first is alive.
    """
    check_pair_rule(settings)
    check_elements([z for _, atoms in structures for z in atoms.numbers], settings)
    with single_writer(path):
        ds = Dataset.create(path, settings, structures)
        todo_names = set(ds.reconcile())
        listed = ds.structures()
        todo = spread_order([(n, a) for n, a in listed if n in todo_names], settings)
        if max_seconds is not None:
            entries = ds.manifest["entries"]
            done = [(n, a) for n, a in listed if n in entries]
            prior = prior_ratio(calibrate_from) if calibrate_from and not entries else None
            todo = within_budget(todo, done, entries, settings, max_seconds, prior)
        if limit is not None:
            todo = todo[: max(0, limit)]
        _store_all(ds, todo, (settings, method), workers, scheduler, progress, spectral_gate)
    return ds


def _store_all(
    ds: Dataset,
    todo: list[tuple[str, Atoms]],
    job: tuple[EngineSettings, str],
    workers: int,
    scheduler: str | None,
    progress: Callable[[str, bool], None] | None,
    spectral_gate: bool,
) -> None:
    """Compute ``todo`` (locally or on a Dask cluster) and store or fail each label in ``ds``."""
    if not todo:
        return
    if scheduler is not None:
        futures_iter = _run_dask(scheduler, todo, job)
    elif workers > 1:
        futures_iter = _run_pool(workers, todo, job)
    else:
        futures_iter = (_compute(n, a, *job, 0) for n, a in todo)
    for name, record, error in futures_iter:
        if error is None:
            error = label_failure(record, spectral_gate)
        if error is None:
            ds.add(name, record)
        else:
            ds.fail(name, error)
        if progress:
            progress(name, error is None)


def label_failure(record: dict, spectral_gate: bool = True) -> str | None:
    """Why a computed label is not stored, or None: an SCF that did not converge (HT is then
    no self-consistent Hamiltonian, and ΔH can reach hundreds of eV), or with
    ``spectral_gate`` a failed spectral check."""
    meta = record[K.META]
    if meta.get("scf_converged") is False:
        return (
            f"SCF not converged after {meta.get('scf_cycles')} cycles (last start: "
            f"{meta.get('scf_strategy')}); not stored: check the structure (atoms too close, "
            "an unphysical geometry) or give a metal more smearing (--smearing)"
        )
    check = meta.get("spectral_check")
    if spectral_gate and check is not None and not check["passed"]:
        return failure_message(check)
    return None


def spread_order(
    structures: list[tuple[str, Atoms]], settings: EngineSettings | None = None
) -> list[tuple[str, Atoms]]:
    """``structures`` reordered round-robin over compositions (element sets): one structure
    of every composition, then a second one, and so on. Without ``settings`` each composition
    gives its structures in input order and a round goes in input order; with ``settings``
    both go cheapest projected label first (:func:`nextham.generate.cost.structure_seconds`;
    unprojected ones last), so that a run cut short or limited to a round reaches the most
    compositions: a few semicore supercells of hours each no longer hold up every cheaper
    composition of their shard."""
    cost = [0.0] * len(structures)
    if settings is not None:
        for i, (_, atoms) in enumerate(structures):
            t = structure_seconds(atoms, settings)
            cost[i] = math.inf if t is None else t
    groups: dict[frozenset, list[int]] = {}
    for i, (_, atoms) in enumerate(structures):
        groups.setdefault(frozenset(atoms.get_chemical_symbols()), []).append(i)
    ranked = [
        (level, cost[i], i)
        for members in groups.values()
        for level, i in enumerate(sorted(members, key=lambda i: (cost[i], i)))
    ]
    return [structures[i] for _, _, i in sorted(ranked)]


def _run_pool(workers: int, todo, job: tuple[EngineSettings, str]) -> Iterable[tuple]:
    threads = max(1, (os.cpu_count() or 1) // workers)
    # spawn, not fork: a forked child inherits the parent's OpenMP/torch thread pools in an
    # undefined state and can deadlock in its first parallel region (seen in the test suite)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=spawn, initializer=_follow_parent, initargs=(os.getpid(),)
    ) as pool:
        pending = set(_submit_all(pool.submit, todo, job, threads))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()


def _follow_parent(parent: int) -> None:
    """Worker initializer: exit when the parent process is gone (a killed ``generate`` would
    otherwise leave its workers computing labels that nobody stores)."""
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _watch(parent: int, period: float = 2.0) -> None:
    while os.getppid() == parent:
        time.sleep(period)
    os._exit(1)


def _run_dask(scheduler: str, todo, job: tuple[EngineSettings, str]) -> Iterable[tuple]:
    # deferred: 'distributed' is an optional dependency (pip install 'nextham[dask]')
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise RuntimeError(
            "running on a Dask cluster needs the 'distributed' package: pip install 'nextham[dask]'"
        ) from exc
    with Client(scheduler) as client:
        futures = _submit_all(client.submit, todo, job, 0)
        for fut in as_completed(futures):
            yield fut.result()
