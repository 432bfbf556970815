"""A rough projection of a dataset's label cost from the measured element table.

Each element's row in :mod:`nextham.dft.element_table` holds the wall time t_e of one label of
its elemental crystal (``label.wall_s``: n_e atoms, 2×2×2 k, one thread). A structure of N
atoms with n_k SCF k-points is projected at max_e t_e (N / n_e)² (n_k / 8), the dearest of its
elements scaled quadratically in size (the Fock builds and the transform of a label grow
between N and N³ at these sizes) and linearly in the k-points of its SCF mesh. It is a budget, not a
promise: k-point counts, convergence and the label path (multigrid or reference) change it
by factors; the spent cost is summed from the stored labels (:func:`spent_seconds`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from ase import Atoms

from nextham.dft.element_table import measured_row
from nextham.dft.settings import EngineSettings
from nextham.store.card import label_seconds
from nextham.store.dataset import Dataset

TABLE_KPOINTS = 8
"""k-points of the element table's labels (2×2×2)."""
TABLE_FAMILY = "szv-molopt-sr"
"""The family whose rows stand in for a family the table does not list."""
RATIO_TRIM = 0.05
"""Share of the finished labels with the largest spent / projected ratio left out of the
calibration (:func:`calibrated_projection`)."""


def structure_seconds(atoms: Atoms, settings: EngineSettings) -> float | None:
    """Projected label wall time (s, one thread) of ``atoms``, or None if an element has no
    measured row."""
    worst = 0.0
    k_factor = math.prod(settings.kmesh_for(atoms.cell.array)) / TABLE_KPOINTS
    for symbol in set(atoms.get_chemical_symbols()):
        row = measured_row(symbol, settings.basis) or measured_row(symbol, TABLE_FAMILY)
        wall = ((row or {}).get("label") or {}).get("wall_s")
        if not wall or not row.get("natoms"):
            return None
        worst = max(worst, float(wall) * (len(atoms) / float(row["natoms"])) ** 2)
    return worst * k_factor


def projected_seconds(
    structures: Sequence[tuple[str, Atoms]], settings: EngineSettings
) -> tuple[float, int]:
    """(projected total seconds of the structures with measured elements, count without)."""
    total, unknown = 0.0, 0
    for _, atoms in structures:
        t = structure_seconds(atoms, settings)
        if t is None:
            unknown += 1
        else:
            total += t
    return total, unknown


def spent_seconds(entries: dict) -> float:
    """Label seconds summed over manifest entries (:func:`nextham.store.card.label_seconds`)."""
    return sum(label_seconds(r) for r in entries.values())


class Projection(NamedTuple):
    """A projected cost: ``seconds`` (already × ``ratio``), structures without a table row
    (``unknown``), and the finished labels the ratio was measured on (0: ratio 1)."""

    seconds: float
    unknown: int
    ratio: float
    n_calibration: int


def calibrated_projection(
    todo: Sequence[tuple[str, Atoms]],
    done: Sequence[tuple[str, Atoms]],
    entries: dict,
    settings: EngineSettings,
) -> Projection:
    """The table projection of ``todo`` scaled by the spent / projected ratio of the
    finished structures ``done`` (their manifest ``entries`` hold the spent time), averaged
    over labels with the dearest :data:`RATIO_TRIM` of them left out; the table alone when
    nothing with a table row is finished yet. Trimmed because a label whose wall time
    includes a pause (labels stored before ``cpu_s``) would otherwise set the projection of
    a whole shard; averaged, not the median, because SCFs that need a hundred cycles are
    real cost (universal campaign: mean ratios 2–3× the medians)."""
    total, unknown = projected_seconds(todo, settings)
    ratios = []
    for name, atoms in done:
        projected = structure_seconds(atoms, settings)
        spent = label_seconds(entries[name])
        if projected and spent > 0:
            ratios.append(spent / projected)
    if not ratios:
        return Projection(total, unknown, 1.0, 0)
    kept = np.sort(ratios)[: len(ratios) - int(RATIO_TRIM * len(ratios))]
    ratio = float(kept.mean())
    return Projection(total * ratio, unknown, ratio, len(ratios))


def dataset_ratio(path: str | os.PathLike) -> float | None:
    """The spent / projected ratio of a dataset's finished labels (as in
    :func:`calibrated_projection`, with its own settings); None while it has none."""
    ds = Dataset(path)
    entries = ds.manifest["entries"]
    if not entries:
        return None
    done = [(n, a) for n, a in ds.structures() if n in entries]
    p = calibrated_projection([], done, entries, ds.settings)
    return p.ratio if p.n_calibration else None


def prior_ratio(paths: Sequence[str | os.PathLike]) -> float | None:
    """The median of :func:`dataset_ratio` over the datasets ``paths`` that have finished
    labels (None if none has): the ratio of a dataset with no finished label of its own.

    The element table's times are those of its own labels (elemental crystals, one path and
    k-mesh); a campaign's labels have run at 0.05–0.1 × them. Uncalibrated, a shard whose first
    label is not yet finished is projected 10–20 × too dear and a rising cap reaches it only
    after every other shard's cheap labels (the 3d and 4d shards of the universal campaign)."""
    found = [r for r in (dataset_ratio(p) for p in paths if _is_dataset(p)) if r is not None]
    return float(np.median(found)) if found else None


def _is_dataset(path: str | os.PathLike) -> bool:
    return os.path.isfile(os.path.join(path, "manifest.json"))


def within_budget(
    todo: Sequence[tuple[str, Atoms]],
    done: Sequence[tuple[str, Atoms]],
    entries: dict,
    settings: EngineSettings,
    max_seconds: float,
    fallback_ratio: float | None = None,
) -> list[tuple[str, Atoms]]:
    """The structures of ``todo`` (order kept) whose projected label cost, calibrated on the
    finished ``done`` as in :func:`calibrated_projection` (by ``fallback_ratio`` while none of
    them is finished, if given), is at most ``max_seconds`` (one thread); those the table
    cannot project are left out (a run without a cap takes them)."""
    own = calibrated_projection([], done, entries, settings)
    ratio = own.ratio if own.n_calibration or fallback_ratio is None else fallback_ratio
    out = []
    for name, atoms in todo:
        t = structure_seconds(atoms, settings)
        if t is not None and t * ratio <= max_seconds:
            out.append((name, atoms))
    return out


def hours(seconds: float) -> str:
    """``seconds`` as CPU-hours text."""
    return f"{seconds / 3600:.1f} CPU-h" if seconds >= 360 else f"{seconds:.0f} CPU-s"
