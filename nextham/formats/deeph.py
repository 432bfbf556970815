"""DeepH / DeepH-E3 directory layout (one directory per structure).

Files: ``lat.dat`` and ``rlat.dat`` (lattice and reciprocal vectors as *columns*, Å and Å⁻¹
with the 2π), ``site_positions.dat`` (Cartesian Å, one atom per column), ``element.dat``,
``orbital_types.dat`` (l of each shell, one atom per line), ``R_list.dat``, ``info.json``
(``nsites``, ``isorthogonal``, ``isspinful``, ``norbits``, ``fermi_level`` in eV), and
``hamiltonians.h5`` (HT), ``overlaps.h5`` (S), ``h0.h5`` (H0) with datasets keyed
``"[Rx, Ry, Rz, i, j]"`` (atoms 1-based), blocks in eV.

Orbital mapping: ``nextham.conventions.PYSCF_TO_DEEPH`` (OpenMX order: p = x, y, z;
d = z², x²−y², xy, xz, yz; f = m 0, +1, −1, +2, −2, +3, −3; all positive real harmonics).
Spinor blocks keep nextham's spin-major order; overlaps are spinless.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from nextham.conventions import atom_matrix, n_orbitals
from nextham.formats.blocks import from_convention, to_convention
from nextham.record import keys as K
from nextham.record.layout import block_pointers

FILES = {K.HT: "hamiltonians.h5", K.S: "overlaps.h5", K.H0: "h0.h5"}


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
    }
    (out / "info.json").write_text(json.dumps(info, indent=1))
    for key, fname in FILES.items():
        with h5py.File(out / fname, "w") as f:
            for k, blk in to_convention(record, key, atom_map).items():
                f[_key(k)] = blk


def read(path: str | Path) -> dict:
    """Read a DeepH directory back into a record (inverse of :func:`write`)."""
    path = Path(path)
    info = json.loads((path / "info.json").read_text())
    numbers = np.atleast_1d(np.loadtxt(path / "element.dat", dtype=np.int64))
    lines = (path / "orbital_types.dat").read_text().splitlines()
    ls = [tuple(int(x) for x in line.split()) for line in lines]
    spinor = bool(info["isspinful"])
    rec = {
        K.CELL: np.loadtxt(path / "lat.dat").T,
        K.POSITIONS: np.loadtxt(path / "site_positions.dat").reshape(3, -1).T,
        K.NUMBERS: numbers,
        K.BASIS_LS: {int(z): ls[a] for a, z in enumerate(numbers)},
        K.SPINOR: spinor,
        K.META: {"fermi_level": info.get("fermi_level")},
    }
    for key, fname in FILES.items():
        with h5py.File(path / fname, "r") as f:
            blocks = {_unkey(k): f[k][()] for k in f}
        ei, cs, data = from_convention(blocks, ls, spinor and key != K.S, atom_map)
        rec[key] = data
    rec[K.EDGE_INDEX], rec[K.CELL_SHIFT] = ei, cs
    rec[K.BLOCK_PTR] = block_pointers(ei, np.array([n_orbitals(x) for x in ls]))
    return rec
