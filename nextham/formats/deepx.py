"""DeepX layout: DeepH-pack 1.0 / DeepH-dock (one directory per structure).

Files (as DeepH-dock's ``deepx_dock/CONSTANT.py`` names them and its converters
``convert/abacus/translate_abacus_to_deeph.py`` and ``convert/deeph/
translate_old_dataset_to_new.py`` write them; docs: "Key Concepts" of DeepH-dock):

- ``POSCAR``: the structure (VASP format, Cartesian Å); atom order is the order of every
  matrix. nextham writes one species group per run of equal elements, so atom order is kept.
- ``info.json``: ``atoms_quantity``, ``orbits_quantity``, ``orthogonal_basis``, ``spinful``,
  ``fermi_energy_eV``, ``elements_orbital_map`` (symbol → l of each shell), ``occupation``
  (electrons per cell, spin included even when ``spinful`` is false).
- ``overlap.h5`` (S), ``hamiltonian.h5`` (HT) and, written by nextham only when the record has
  one, ``h0.h5`` (H0), each with datasets ``atom_pairs`` (n, 5) int64 rows (Rx, Ry, Rz, i, j),
  atoms 0-based; ``chunk_shapes`` (n, 2); ``chunk_boundaries`` (n + 1,) offsets into
  ``entries``, the row-major blocks concatenated, eV.

Orbital mapping: ``nextham.conventions.PYSCF_TO_DEEPX`` per shell (m = −l … l, p = y, z, x,
positive real harmonics); shells keep the basis order. Spinful Hamiltonian blocks are
spin-major ``[[↑↑, ↑↓], [↓↑, ↓↓]]`` of shape (2 n_i, 2 n_j) (as nextham's); the overlap is
always spinless.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from ase.data import atomic_numbers, chemical_symbols
from ase.io import read as ase_read
from ase.io import write as ase_write

from nextham.conventions import atom_matrix, n_orbitals
from nextham.errors import InputError
from nextham.formats.blocks import (
    ImportHints,
    assemble,
    electron_count,
    imported_meta,
    read_json,
    require_files,
    to_convention,
)
from nextham.record import keys as K
from nextham.structures.read import record_atoms

FILES = {K.S: "overlap.h5", K.HT: "hamiltonian.h5", K.H0: "h0.h5"}
REQUIRED = ["POSCAR", "info.json", "overlap.h5", "hamiltonian.h5"]
"""Files every DeepX structure directory has here (``h0.h5`` is optional)."""


def atom_map(ls: tuple[int, ...], spinor: bool) -> np.ndarray:
    """nextham → DeepX matrix of one atom."""
    return atom_matrix(ls, "deepx", spinor)


def write(record: dict, out: str | Path) -> None:
    """Write one record in the DeepX layout into directory ``out`` (atom order kept)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atoms = record_atoms(record)
    ase_write(out / "POSCAR", atoms, format="vasp", direct=False)
    ls = [tuple(record[K.BASIS_LS][int(z)]) for z in record[K.NUMBERS]]
    info = {
        "atoms_quantity": len(ls),
        "orbits_quantity": int(sum(n_orbitals(x) for x in ls)),
        "orthogonal_basis": False,
        "spinful": bool(record[K.SPINOR]),
        "fermi_energy_eV": record[K.META].get("fermi_level"),
        "elements_orbital_map": {
            chemical_symbols[int(z)]: [int(l) for l in v] for z, v in record[K.BASIS_LS].items()
        },
        "occupation": record[K.META].get("n_electrons"),
    }
    (out / "info.json").write_text(json.dumps(info, indent=1))
    for key, fname in FILES.items():
        if key in record:
            _write_h5(out / fname, to_convention(record, key, atom_map))


def _write_h5(path: Path, blocks: dict[tuple, np.ndarray]) -> None:
    keys = list(blocks)
    pairs = np.array([[rx, ry, rz, i, j] for i, j, rx, ry, rz in keys], dtype=np.int64)
    shapes = np.array([blocks[k].shape for k in keys], dtype=np.int64).reshape(-1, 2)
    bounds = np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])]).astype(np.int64)
    with h5py.File(path, "w") as f:
        f["atom_pairs"] = pairs.reshape(-1, 5)
        f["chunk_shapes"] = shapes
        f["chunk_boundaries"] = bounds
        f["entries"] = np.concatenate([blocks[k].ravel() for k in keys])


def read_h5(path: Path) -> dict[tuple, np.ndarray]:
    """Blocks {(i, j, Rx, Ry, Rz): block} of one DeepX matrix file, sizes checked."""
    try:
        with h5py.File(path, "r") as f:
            pairs = np.asarray(f["atom_pairs"][()], dtype=np.int64)
            shapes = np.asarray(f["chunk_shapes"][()], dtype=np.int64)
            bounds = np.asarray(f["chunk_boundaries"][()], dtype=np.int64)
            entries = f["entries"][()]
    except KeyError as exc:
        raise InputError(
            f"{path}: not a DeepX matrix file ({exc}); it needs atom_pairs, chunk_shapes, "
            "chunk_boundaries and entries"
        ) from exc
    n = len(pairs)
    if pairs.shape != (n, 5) or shapes.shape != (n, 2) or bounds.shape != (n + 1,):
        raise InputError(
            f"{path}: atom_pairs {pairs.shape}, chunk_shapes {shapes.shape} and "
            f"chunk_boundaries {bounds.shape} disagree (want (n, 5), (n, 2), (n + 1,)); "
            "the file is truncated or not DeepX"
        )
    sizes = shapes[:, 0] * shapes[:, 1]
    if not np.array_equal(np.diff(bounds), sizes) or bounds[-1] != entries.size:
        raise InputError(
            f"{path}: chunk_boundaries do not match chunk_shapes and the {entries.size} "
            "entries; the file is truncated or was written inconsistently"
        )
    return {
        (int(p[3]), int(p[4]), int(p[0]), int(p[1]), int(p[2])): entries[b0:b1].reshape(s)
        for p, s, b0, b1 in zip(pairs, shapes, bounds[:-1], bounds[1:])
    }


def read(path: str | Path, hints: ImportHints | None = None) -> dict:
    """Read a DeepX directory into a record; atoms keep the POSCAR order."""
    path = Path(path)
    require_files(path, REQUIRED, "DeepX")
    info = read_json(path / "info.json")
    atoms = ase_read(path / "POSCAR", format="vasp")
    symbols = atoms.get_chemical_symbols()
    orb_map = info.get("elements_orbital_map") or {}
    missing = sorted(set(symbols) - set(orb_map))
    if missing:
        raise InputError(
            f"{path / 'info.json'}: elements_orbital_map has no shells for "
            f"{', '.join(missing)}; add them (symbol → list of l)"
        )
    ls = [tuple(int(l) for l in orb_map[s]) for s in symbols]
    nelec = electron_count(info.get("occupation"), symbols, hints or ImportHints(), path)
    geometry = {
        K.CELL: np.asarray(atoms.cell[:], dtype=np.float64),
        K.POSITIONS: atoms.positions.astype(np.float64),
        K.NUMBERS: atoms.numbers.astype(np.int64),
        K.BASIS_LS: {atomic_numbers[s]: tuple(int(l) for l in orb_map[s]) for s in set(symbols)},
        K.META: imported_meta("deepx", path, (path / FILES[K.H0]).is_file(),
                              fermi_level=info.get("fermi_energy_eV"), n_electrons=nelec),
    }  # fmt: skip
    matrices = {
        key: (read_h5(path / fname), str(path / fname))
        for key, fname in FILES.items()
        if (path / fname).is_file()
    }
    return assemble(geometry, ls, bool(info.get("spinful", False)), matrices, atom_map, path)
