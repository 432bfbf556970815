"""DeepH / DeepH-E3 directory layout (one directory per structure).

Files: ``lat.dat`` and ``rlat.dat`` (lattice and reciprocal vectors as *columns*, Å and Å⁻¹
with the 2π), ``site_positions.dat`` (Cartesian Å, one atom per column), ``element.dat``,
``orbital_types.dat`` (l of each shell, one atom per line), ``R_list.dat``, ``info.json``
(``nsites``, ``isorthogonal``, ``isspinful``, ``norbits``, ``fermi_level`` in eV,
``occupation``: electrons per cell, spin included, as DeepH-dock reads it), and
``hamiltonians.h5`` (HT), ``overlaps.h5`` (S), ``h0.h5`` (H0, only when the record has one)
with datasets keyed ``"[Rx, Ry, Rz, i, j]"`` (atoms 1-based), blocks in eV.

Orbital mapping: ``nextham.conventions.PYSCF_TO_DEEPH`` (OpenMX order: p = x, y, z;
d = z², x²−y², xy, xz, yz; f = m 0, +1, −1, +2, −2, +3, −3; all positive real harmonics).
Spinor blocks keep nextham's spin-major order; overlaps are spinless.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from ase.data import chemical_symbols

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

FILES = {K.HT: "hamiltonians.h5", K.S: "overlaps.h5", K.H0: "h0.h5"}
REQUIRED = ["info.json", "element.dat", "lat.dat", "site_positions.dat", "orbital_types.dat",
            "overlaps.h5", "hamiltonians.h5"]  # fmt: skip
"""Files every DeepH structure directory has (``h0.h5`` is optional)."""


def atom_map(ls: tuple[int, ...], spinor: bool) -> np.ndarray:
    """nextham → DeepH matrix of one atom."""
    return atom_matrix(ls, "deeph", spinor)


def _key(k: tuple) -> str:
    i, j, rx, ry, rz = k
    return f"[{rx}, {ry}, {rz}, {i + 1}, {j + 1}]"


def _unkey(s: str) -> tuple:
    rx, ry, rz, i, j = (int(x) for x in s.strip("[]").split(","))
    return (i - 1, j - 1, rx, ry, rz)


def write(record: dict, out: str | Path) -> None:
    """Write one record in the DeepH layout into directory ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cell = np.asarray(record[K.CELL])
    np.savetxt(out / "lat.dat", cell.T)
    np.savetxt(out / "rlat.dat", 2 * np.pi * np.linalg.inv(cell))
    np.savetxt(out / "site_positions.dat", np.asarray(record[K.POSITIONS]).T)
    np.savetxt(out / "element.dat", record[K.NUMBERS], fmt="%d")
    ls = [record[K.BASIS_LS][int(z)] for z in record[K.NUMBERS]]
    (out / "orbital_types.dat").write_text("".join(" ".join(map(str, x)) + "\n" for x in ls))
    np.savetxt(out / "R_list.dat", np.unique(record[K.CELL_SHIFT], axis=0), fmt="%d")
    info = {
        "nsites": len(record[K.NUMBERS]),
        "isorthogonal": False,
        "isspinful": bool(record[K.SPINOR]),
        "norbits": int(sum(n_orbitals(x) for x in ls)),
        "fermi_level": record[K.META].get("fermi_level"),
        "occupation": record[K.META].get("n_electrons"),
    }
    (out / "info.json").write_text(json.dumps(info, indent=1))
    for key, fname in FILES.items():
        if key not in record:
            continue
        with h5py.File(out / fname, "w") as f:
            for k, blk in to_convention(record, key, atom_map).items():
                f[_key(k)] = blk


def read(path: str | Path, hints: ImportHints | None = None) -> dict:
    """Read a DeepH directory into a record (inverse of :func:`write`); atoms keep their order."""
    path = Path(path)
    require_files(path, REQUIRED, "DeepH")
    info = read_json(path / "info.json")
    numbers = np.atleast_1d(np.loadtxt(path / "element.dat", dtype=np.int64))
    lines = (path / "orbital_types.dat").read_text().splitlines()
    ls = [tuple(int(x) for x in line.split()) for line in lines if line.strip()]
    if len(ls) != len(numbers):
        raise InputError(
            f"{path / 'orbital_types.dat'}: {len(ls)} lines for {len(numbers)} atoms in "
            "element.dat; write one line of shells per atom"
        )
    spinor = bool(info.get("isspinful", False))
    symbols = [chemical_symbols[int(z)] for z in numbers]
    nelec = electron_count(info.get("occupation"), symbols, hints or ImportHints(), path)
    geometry = {
        K.CELL: np.loadtxt(path / "lat.dat").T,
        K.POSITIONS: np.loadtxt(path / "site_positions.dat").reshape(3, -1).T,
        K.NUMBERS: numbers,
        K.BASIS_LS: {int(z): ls[a] for a, z in enumerate(numbers)},
        K.META: imported_meta("deeph", path, (path / FILES[K.H0]).is_file(),
                              fermi_level=info.get("fermi_level"), n_electrons=nelec),
    }  # fmt: skip
    matrices = {}
    for key, fname in FILES.items():
        if (path / fname).is_file():
            with h5py.File(path / fname, "r") as f:
                matrices[key] = ({_unkey(k): f[k][()] for k in f}, str(path / fname))
    return assemble(geometry, ls, spinor, matrices, atom_map, path)
