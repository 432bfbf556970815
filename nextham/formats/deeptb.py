"""DeePTB directory layout (one directory per structure, DeePTB's ``DefaultDataset``).

Files: ``cell.dat`` (lattice vectors as rows, Å), ``rcell.dat`` (2π inv(cell), as DeePTB
writes it), ``positions.dat`` (Cartesian Å rows), ``atomic_numbers.dat``, ``basis.dat`` (shell
counts per atom, e.g. ``2s2p1d``), ``info.json`` (``nframes`` 1, ``natoms``, ``pos_type``
"cart", ``pbc`` true, ``basis`` per element, ``fermi_level`` eV, ``isspinful``), and
``hamiltonians.h5`` (HT), ``overlaps.h5`` (S), ``h0.h5`` (H0): one group ``"0"`` (the frame)
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

from nextham.conventions import L_LETTERS, atom_matrix, n_orbitals
from nextham.formats.blocks import from_convention, to_convention
from nextham.record import keys as K
from nextham.record.layout import block_pointers

FILES = {K.HT: "hamiltonians.h5", K.S: "overlaps.h5", K.H0: "h0.h5"}
FRAME = "0"


def shell_order(ls: tuple[int, ...]) -> list[int]:
    """DeePTB's shell order: indices of ``ls`` sorted by l, stable."""
    return sorted(range(len(ls)), key=lambda s: ls[s])


def atom_map(ls: tuple[int, ...], spinor: bool) -> np.ndarray:
    """nextham → DeePTB matrix of one atom: shell permutation times per-shell matrices."""
    u = atom_matrix(ls, "deeptb")
    starts = np.concatenate([[0], np.cumsum([2 * l + 1 for l in ls])])
    rows = np.concatenate([np.arange(starts[s], starts[s + 1]) for s in shell_order(ls)])
    u = u[rows]
    return np.kron(np.eye(2), u) if spinor else u


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
    }
    (out / "info.json").write_text(json.dumps(info, indent=1))
    for key, fname in FILES.items():
        with h5py.File(out / fname, "w") as f:
            g = f.create_group(FRAME)
            for (i, j, rx, ry, rz), blk in to_convention(record, key, atom_map).items():
                g[f"{i}_{j}_{rx}_{ry}_{rz}"] = blk


def read(path: str | Path) -> dict:
    """Read a DeePTB directory written by :func:`write` back into a record."""
    path = Path(path)
    info = json.loads((path / "info.json").read_text())
    numbers = np.atleast_1d(np.loadtxt(path / "atomic_numbers.dat", dtype=np.int64))
    basis = {int(z): tuple(v) for z, v in info["shell_ls"].items()}
    ls = [basis[int(z)] for z in numbers]
    spinor = bool(info["isspinful"])
    rec = {
        K.CELL: np.loadtxt(path / "cell.dat"),
        K.POSITIONS: np.loadtxt(path / "positions.dat").reshape(-1, 3),
        K.NUMBERS: numbers,
        K.BASIS_LS: basis,
        K.SPINOR: spinor,
        K.META: {"fermi_level": info.get("fermi_level")},
    }
    for key, fname in FILES.items():
        with h5py.File(path / fname, "r") as f:
            g = f[FRAME]
            blocks = {tuple(int(x) for x in k.split("_")): g[k][()] for k in g}
        ei, cs, rec[key] = from_convention(blocks, ls, spinor and key != K.S, atom_map)
    rec[K.EDGE_INDEX], rec[K.CELL_SHIFT] = ei, cs
    rec[K.BLOCK_PTR] = block_pointers(ei, np.array([n_orbitals(x) for x in ls]))
    return rec
