"""ABACUS sparse real-space matrices (``out_mat_hs2``), read and written as {R: scipy CSR}; the
position matrix (``out_mat_r``, ``data-rR-sparse.csr``) as {R: [x, y, z CSR]}.

Two text layouts are read: ABACUS ≤ 3.8 (``data-HR-sparse_SPIN0.csr``,
``data-SR-sparse_SPIN0.csr``; the reader of DeepH-dock's
``convert/abacus/translate_abacus_to_deeph.py`` parses the same) and ABACUS ≥ 3.9.0.25
(``hrs1_nao.csr``, ``srs1_nao.csr`` or ``sr_nao.csr``), told apart by the first line. Files
are written in the first layout. The ≤ 3.8 layout::

    STEP: 0                                 (ABACUS ≥ 3.0; optional)
    Matrix Dimension of H(R): N             (S(R) in the overlap file)
    Matrix number of H(R): M
    Rx Ry Rz nnz                            M times; when nnz > 0 three lines follow:
    v_1 … v_nnz                             values (real, or "(re,im)" for nspin = 4)
    c_1 … c_nnz                             column indices, 0-based
    p_0 … p_N                               row pointers (N + 1)

The ≥ 3.9 layout starts with ``--- Ionic Step N ---``, states the dimension and R count on
``N # number of localized basis`` and ``M # number of Bravais lattice vector R`` lines, then
the unit cell (ignored: STRU is read) and, after a ``CSR Format`` comment box, per R the line
``Rx Ry Rz nnz`` followed by sections headed ``# CSR values``, ``# CSR column indices``,
``# CSR row pointers`` (a section may wrap over several lines).

Values are in the file's units (Rydberg for ABACUS's H; S is dimensionless); the caller
converts. With nspin = 4, N is twice the number of orbitals and rows are spin-interleaved
(:func:`nextham.conventions.interleaved_to_spin_major`).

The position file (ABACUS's ``cal_r_overlap_R::out_rR``; PYATB's ``abacus_readrR`` parses the
same) has header lines ``Matrix Dimension of r(R): N`` and ``Matrix number of r(R): M``, then
per R a line ``Rx Ry Rz`` followed, for x, y and z in turn, by a line ``nnz`` and (when nnz > 0)
the value, column and row-pointer lines. Values are real (Bohr in ABACUS's files), also for
nspin = 4, where only the spin-diagonal entries are non-zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from nextham.errors import InputError

CsrBlocks = dict[tuple[int, int, int], sp.csr_matrix]


def _header_int(line: str | None, label: str, path: Path) -> int:
    if line is None or label not in line:
        raise InputError(
            f"{path}: expected a '{label}' line, found {line!r}; not an ABACUS CSR file "
            "(written with out_mat_hs2 1)"
        )
    try:
        return int(line.split(":")[-1])
    except ValueError:
        raise InputError(f"{path}: '{line.strip()}' has no integer after the colon") from None


def _values(tokens: list[str], path: Path, cell: tuple) -> np.ndarray:
    if tokens and tokens[0].startswith("("):
        try:
            pairs = [t.strip("()").split(",") for t in tokens]
            return np.array([complex(float(a), float(b)) for a, b in pairs])
        except ValueError:
            raise InputError(f"{path}: R = {cell}: unreadable complex value") from None
    try:
        return np.array([float(t) for t in tokens])
    except ValueError:
        raise InputError(f"{path}: R = {cell}: unreadable value line") from None


def _header(path: Path) -> tuple[Iterator[str], int, int]:
    """(remaining lines, dimension N, number of R) after the header of a CSR file."""
    lines: Iterator[str] = iter(path.read_text().splitlines())
    line = next(lines, None)
    if line is not None and line.strip().startswith("STEP"):
        line = next(lines, None)
    dim = _header_int(line, "Matrix Dimension of", path)
    return lines, dim, _header_int(next(lines, None), "Matrix number of", path)


def _matrix(lines: Iterator[str], nnz: int, dim: int, path: Path, cell: tuple) -> sp.csr_matrix:
    """One (dim, dim) CSR matrix of ``nnz`` entries from its value/column/pointer lines."""
    if nnz == 0:
        return sp.csr_matrix((dim, dim))
    vals = _values(next(lines, "").split(), path, cell)
    cols = np.array(next(lines, "").split(), dtype=np.int64)
    ptr = np.array(next(lines, "").split(), dtype=np.int64)
    return _checked(path, cell, dim, nnz, vals, cols, ptr)


def _checked(path: Path, cell: tuple, dim: int, nnz: int, vals, cols, ptr) -> sp.csr_matrix:
    """The CSR matrix of one R after checking its stated and actual sizes."""
    cols, ptr = np.asarray(cols, dtype=np.int64), np.asarray(ptr, dtype=np.int64)
    if len(vals) != nnz or len(cols) != nnz or len(ptr) != dim + 1 or ptr[-1] != nnz:
        raise InputError(
            f"{path}: R = {cell} states nnz = {nnz} and dimension {dim}, but has "
            f"{len(vals)} values, {len(cols)} columns and {len(ptr)} row pointers "
            f"(ending at {ptr[-1] if len(ptr) else '-'}); the file is inconsistent"
        )
    if len(cols) and (cols.min() < 0 or cols.max() >= dim):
        raise InputError(f"{path}: R = {cell} has a column index outside 0…{dim - 1}")
    return sp.csr_matrix((vals, cols, ptr), shape=(dim, dim))


def _stated(lines: list[str], label: str, path: Path) -> int:
    """The integer before ``# <label>`` in the header of a ≥ 3.9 file."""
    for line in lines:
        value, _, comment = line.partition("#")
        if label in comment and value.strip():
            try:
                return int(value)
            except ValueError:
                break
    raise InputError(f"{path}: no '<integer> # {label}' header line; not an ABACUS CSR file")


SECTIONS = {"CSR values": "values", "CSR column indices": "cols", "CSR row pointers": "ptr"}


def _read_sectioned(path: Path, lines: list[str]) -> tuple[int, CsrBlocks]:
    """The ABACUS ≥ 3.9 layout (module docstring)."""
    start = next((k for k, x in enumerate(lines) if "CSR Format" in x), None)
    if start is None:
        raise InputError(f"{path}: no 'CSR Format' section; not an ABACUS CSR file")
    dim = _stated(lines[:start], "number of localized basis", path)
    count = _stated(lines[:start], "number of Bravais lattice vector R", path)
    blocks: list[tuple[tuple, int, dict]] = []
    section = None
    for line in lines[start + 1 :]:
        text = line.strip()
        if text.startswith("#"):
            section = SECTIONS.get(text.lstrip("#").strip(), section)
            continue
        if not text:
            continue
        done = section == "ptr" and len(blocks[-1][2]["ptr"]) >= dim + 1
        if section is None or done:
            head = text.split()
            if len(head) != 4:
                raise InputError(f"{path}: {text[:40]!r} where 'Rx Ry Rz nnz' was expected")
            parts = {"values": [], "cols": [], "ptr": []}
            blocks.append((tuple(int(x) for x in head[:3]), int(head[3]), parts))
            section = None
            continue
        blocks[-1][2][section] += text.split()
    if len(blocks) != count:
        raise InputError(
            f"{path}: the header announces {count} R blocks, the file holds {len(blocks)}; "
            "it is truncated or its counts are wrong"
        )
    out: CsrBlocks = {}
    for cell, nnz, parts in blocks:
        ptr = parts["ptr"] or ([0] * (dim + 1) if nnz == 0 else [])
        vals = _values(parts["values"], path, cell) if nnz else np.zeros(0)
        out[cell] = _checked(path, cell, dim, nnz, vals, parts["cols"], ptr)
    return dim, out


def _no_rest(lines: Iterator[str], count: int, path: Path) -> None:
    rest = [x for x in lines if x.strip()]
    if rest:
        raise InputError(
            f"{path}: {len(rest)} lines after the {count} R blocks the header announces; "
            "the counts are wrong or two files were joined"
        )


def read_csr(path: str | Path) -> tuple[int, CsrBlocks]:
    """(dimension N, {R: (N, N) CSR}) of one ABACUS CSR file (either layout), counts checked."""
    path = Path(path)
    text = path.read_text()
    if text.lstrip().startswith("---"):
        return _read_sectioned(path, text.splitlines())
    lines, dim, count = _header(path)
    out: CsrBlocks = {}
    for _ in range(count):
        head = next(lines, "").split()
        if len(head) != 4:
            raise InputError(
                f"{path}: {len(out)} of {count} R blocks read, then {' '.join(head)!r} where "
                "'Rx Ry Rz nnz' was expected; the file is truncated or its counts are wrong"
            )
        cell, nnz = tuple(int(x) for x in head[:3]), int(head[3])
        out[cell] = _matrix(lines, nnz, dim, path, cell)
    _no_rest(lines, count, path)
    return dim, out


def read_rr_csr(path: str | Path) -> tuple[int, dict[tuple[int, int, int], list]]:
    """(dimension N, {R: [x, y, z] (N, N) CSR}) of an ABACUS position-matrix file."""
    path = Path(path)
    lines, dim, count = _header(path)
    out: dict[tuple[int, int, int], list] = {}
    for _ in range(count):
        head = next(lines, "").split()
        if len(head) != 3:
            raise InputError(
                f"{path}: {len(out)} of {count} R blocks read, then {' '.join(head)!r} where "
                "'Rx Ry Rz' was expected; the file is truncated or its counts are wrong"
            )
        cell = tuple(int(x) for x in head)
        out[cell] = []
        for axis in "xyz":
            nnz = next(lines, "").split()
            if len(nnz) != 1:
                raise InputError(f"{path}: R = {cell}: no nnz line for the {axis} matrix")
            out[cell].append(_matrix(lines, int(nnz[0]), dim, path, cell))
    _no_rest(lines, count, path)
    return dim, out


def _fmt(values: np.ndarray) -> str:
    if np.iscomplexobj(values):
        return " ".join(f"({v.real:.16e},{v.imag:.16e})" for v in values)
    return " ".join(f"{v:.16e}" for v in values)


def write_csr(path: str | Path, dim: int, blocks: CsrBlocks, label: str = "H") -> None:
    """Write {R: (dim, dim) CSR} in ABACUS's text layout (``label``: "H" or "S")."""
    out = [
        "STEP: 0",
        f"Matrix Dimension of {label}(R): {dim}",
        f"Matrix number of {label}(R): {len(blocks)}",
    ]
    for cell in sorted(blocks):
        m = blocks[cell].tocsr()
        m.sort_indices()
        out.append(f"{cell[0]} {cell[1]} {cell[2]} {m.nnz}")
        out += _lines(m)
    Path(path).write_text("\n".join(out) + "\n")


def _lines(m: sp.csr_matrix) -> list[str]:
    if not m.nnz:
        return []
    return [_fmt(m.data), " ".join(map(str, m.indices)), " ".join(map(str, m.indptr))]


def write_rr_csr(path: str | Path, dim: int, blocks: dict[tuple[int, int, int], list]) -> None:
    """Write {R: [x, y, z] (dim, dim) real CSR} in ABACUS's position-matrix layout."""
    out = ["STEP: 0", f"Matrix Dimension of r(R): {dim}", f"Matrix number of r(R): {len(blocks)}"]
    for cell in sorted(blocks):
        out.append(f"{cell[0]} {cell[1]} {cell[2]}")
        for m in blocks[cell]:
            m = m.tocsr()
            m.sort_indices()
            out += [str(m.nnz), *_lines(m)]
    Path(path).write_text("\n".join(out) + "\n")
