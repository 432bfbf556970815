"""DeePTB directory layout (one directory per structure, DeePTB's ``DefaultDataset``).

Files: ``cell.dat`` (lattice vectors as rows, Å), ``rcell.dat`` (2π inv(cell), as DeePTB
writes it), ``positions.dat`` (Cartesian Å rows), ``atomic_numbers.dat``, ``basis.dat`` (shell
counts per atom, e.g. ``2s2p1d``), ``info.json`` (``nframes`` 1, ``natoms``, ``pos_type``
"cart", ``pbc`` true, ``basis`` per element, ``fermi_level`` eV, ``isspinful``, and nextham's
``shell_ls`` per Z and ``n_electrons``), and ``hamiltonians.h5`` (HT), ``overlaps.h5`` (S),
``h0.h5`` (H0, only when the record has one): one group ``"0"`` (the frame)
with datasets keyed ``"i_j_Rx_Ry_Rz"`` (atoms 0-based), blocks in eV.

Orbital mapping (explicit): shells are reordered by increasing l (stable, as DeePTB groups
its basis by l), and within a shell ``nextham.conventions.PYSCF_TO_DEEPTB`` applies
(m = −l … l; p becomes y, z, x). Spinor blocks keep nextham's spin-major order.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from ase.data import chemical_symbols

from nextham.conventions import L_LETTERS
from nextham.errors import InputError
from nextham.formats.blocks import (
    ImportHints,
    assemble,
    electron_count,
    imported_meta,
    read_json,
    require_files,
    sorted_atom_matrix,
    to_convention,
)
from nextham.record import keys as K

FILES = {K.HT: "hamiltonians.h5", K.S: "overlaps.h5", K.H0: "h0.h5"}
FRAME = "0"
REQUIRED = ["info.json", "cell.dat", "positions.dat", "atomic_numbers.dat", "overlaps.h5",
            "hamiltonians.h5"]  # fmt: skip
"""Files every DeePTB structure directory has (``h0.h5`` is optional)."""


def atom_map(ls: tuple[int, ...], spinor: bool) -> np.ndarray:
    """nextham → DeePTB matrix of one atom: shell permutation times per-shell matrices."""
    return sorted_atom_matrix(ls, "deeptb", spinor)


def basis_string(ls: tuple[int, ...]) -> str:
    """e.g. (0, 0, 1, 2) → '2s1p1d'."""
    return "".join(f"{ls.count(l)}{L_LETTERS[l]}" for l in sorted(set(ls)))


def write(record: dict, out: str | Path) -> None:
    """Write one record in the DeePTB layout into directory ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cell = np.asarray(record[K.CELL])
    np.savetxt(out / "cell.dat", cell)
    np.savetxt(out / "rcell.dat", 2 * np.pi * np.linalg.inv(cell))
    np.savetxt(out / "positions.dat", np.asarray(record[K.POSITIONS]))
    np.savetxt(out / "atomic_numbers.dat", record[K.NUMBERS], fmt="%d")
    ls = [tuple(record[K.BASIS_LS][int(z)]) for z in record[K.NUMBERS]]
    (out / "basis.dat").write_text("".join(basis_string(x) + "\n" for x in ls))
    info = {
        "nframes": 1,
        "natoms": len(record[K.NUMBERS]),
        "pos_type": "cart",
        "pbc": True,
        "isspinful": bool(record[K.SPINOR]),
        "fermi_level": record[K.META].get("fermi_level"),
        "basis": {
            chemical_symbols[int(z)]: basis_string(tuple(v)) for z, v in record[K.BASIS_LS].items()
        },
        "shell_ls": {str(int(z)): list(v) for z, v in record[K.BASIS_LS].items()},
        "n_electrons": record[K.META].get("n_electrons"),
    }
    (out / "info.json").write_text(json.dumps(info, indent=1))
    for key, fname in FILES.items():
        if key not in record:
            continue
        with h5py.File(out / fname, "w") as f:
            g = f.create_group(FRAME)
            for (i, j, rx, ry, rz), blk in to_convention(record, key, atom_map).items():
                g[f"{i}_{j}_{rx}_{ry}_{rz}"] = blk


def read(path: str | Path, hints: ImportHints | None = None) -> dict:
    """Read a DeePTB directory written by :func:`write` into a record; atoms keep their order.

    The shells per element come from ``info.json``'s ``shell_ls`` (nextham's order) or, for
    directories written by DeePTB itself, from ``--orbitals`` (shells by l, as DeePTB groups
    them).
    """
    path = Path(path)
    require_files(path, REQUIRED, "DeePTB")
    hints = hints or ImportHints()
    info = read_json(path / "info.json")
    numbers = np.atleast_1d(np.loadtxt(path / "atomic_numbers.dat", dtype=np.int64))
    symbols = [chemical_symbols[int(z)] for z in numbers]
    basis = _shells(info, symbols, numbers, hints, path)
    ls = [basis[int(z)] for z in numbers]
    spinor = bool(info.get("isspinful", False))
    nelec = electron_count(info.get("n_electrons"), symbols, hints, path)
    geometry = {
        K.CELL: np.loadtxt(path / "cell.dat").reshape(3, 3),
        K.POSITIONS: np.loadtxt(path / "positions.dat").reshape(-1, 3),
        K.NUMBERS: numbers,
        K.BASIS_LS: basis,
        K.META: imported_meta("deeptb", path, (path / FILES[K.H0]).is_file(),
                              fermi_level=info.get("fermi_level"), n_electrons=nelec),
    }  # fmt: skip
    matrices = {}
    for key, fname in FILES.items():
        if (path / fname).is_file():
            with h5py.File(path / fname, "r") as f:
                if FRAME not in f:
                    raise InputError(f"{path / fname}: no frame group '0'; not a DeePTB file")
                g = f[FRAME]
                blocks = {tuple(int(x) for x in k.split("_")): g[k][()] for k in g}
            matrices[key] = (blocks, str(path / fname))
    return assemble(geometry, ls, spinor, matrices, atom_map, path)


def _shells(info: dict, symbols: list[str], numbers, hints: ImportHints, path: Path) -> dict:
    """Z → shells: info.json's ``shell_ls``, else ``--orbitals`` (sorted by l)."""
    if "shell_ls" in info:
        return {int(z): tuple(v) for z, v in info["shell_ls"].items()}
    missing = sorted(set(symbols) - set(hints.orbitals))
    if missing:
        raise InputError(
            f"{path / 'info.json'}: no shells per element (shell_ls) and --orbitals does not "
            f"name {', '.join(missing)}; give them, e.g. --orbitals Si=0,0,1,1,2"
        )
    return {int(z): tuple(sorted(hints.orbitals[s])) for z, s in zip(numbers, symbols)}
