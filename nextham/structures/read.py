"""Read periodic structures from any file format ASE reads, and validate them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read
from ase.neighborlist import neighbor_list

from nextham.errors import StructureError
from nextham.record import keys as K

MIN_DISTANCE = 0.5
"""Å; closer atoms are rejected as a malformed structure."""


def record_atoms(record) -> Atoms:
    """The periodic structure of a record (Å)."""
    return Atoms(
        numbers=record[K.NUMBERS], positions=record[K.POSITIONS], cell=record[K.CELL], pbc=True
    )


def validate(atoms: Atoms, name: str = "structure") -> Atoms:
    """Check that ``atoms`` is a periodic crystal nextham can compute; return it unchanged."""
    if len(atoms) == 0:
        raise StructureError(f"{name}: contains no atoms")
    for what, values in (("lattice vectors", atoms.cell[:]), ("positions", atoms.positions)):
        if not np.isfinite(values).all():
            raise StructureError(
                f"{name}: the {what} hold a non-finite number (NaN or inf); fix the numbers "
                "in the file"
            )
    if not all(atoms.pbc) or abs(atoms.cell.volume) < 1e-6:
        raise StructureError(
            f"{name}: not periodic in three directions; give a cell with three lattice vectors "
            "and pbc=True (e.g. a POSCAR or CIF file)"
        )
    if np.any(atoms.numbers <= 0):
        raise StructureError(f"{name}: unknown element (atomic number ≤ 0)")
    if len(atoms) > 1:
        d = neighbor_list("d", atoms, MIN_DISTANCE)
        if len(d):
            raise StructureError(
                f"{name}: two atoms are closer than {MIN_DISTANCE} Å ({d.min():.3f} Å); "
                "check the coordinates (fractional vs Cartesian?)"
            )
    return atoms


def read_structures(paths: Iterable[str | Path]) -> list[tuple[str, Atoms]]:
    """Read every frame of every file; names are the file stem (``stem_k`` for frame k).

    Raises :class:`StructureError` with the file name if a file cannot be read.
    """
    out: list[tuple[str, Atoms]] = []
    for p in map(Path, paths):
        if not p.is_file():
            raise StructureError(f"{p}: no such file")
        try:
            frames = read(p, index=":")
        except Exception as exc:
            raise StructureError(
                f"{p}: ASE cannot read this file ({type(exc).__name__}: {exc}); "
                "use a format ASE reads (POSCAR, CIF, extxyz, …) or pass format hints in the name"
            ) from exc
        frames = frames if isinstance(frames, list) else [frames]
        for k, atoms in enumerate(frames):
            name = p.stem if len(frames) == 1 else f"{p.stem}_{k}"
            out.append((name, validate(atoms, f"{p} frame {k}")))
    return out
