"""ABACUS ``STRU`` files: lattice, species, orbital files and atomic positions.

Sections read (ABACUS input manual, "The STRU file"): ``ATOMIC_SPECIES`` (label, mass,
pseudopotential), ``NUMERICAL_ORBITAL`` (one orbital file per species, same order),
``LATTICE_CONSTANT`` (Bohr), ``LATTICE_VECTORS`` (rows, in units of the lattice constant),
``ATOMIC_POSITIONS`` (``Direct``, ``Cartesian`` (units of the lattice constant),
``Cartesian_angstrom`` or ``Cartesian_au``; per species: label, magnetism, count, then one
line per atom whose first three numbers are the coordinates). Comments start with ``#`` or
``//``.

Shells of a species come from its orbital file: the ``Number of Sorbital-->`` … header lines
when the file is present, else the ``2s2p1d`` part of its name (ABACUS's naming, e.g.
``Si_gga_8au_100Ry_2s2p1d.orb``), else the caller's ``--orbitals``. ABACUS orders an atom's
orbitals by l, then zeta, then m, so shells are returned sorted by l.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from nextham.conventions import BOHR_ANGSTROM, L_LETTERS
from nextham.errors import InputError

SECTIONS = (
    "ATOMIC_SPECIES",
    "NUMERICAL_ORBITAL",
    "LATTICE_CONSTANT",
    "LATTICE_VECTORS",
    "ATOMIC_POSITIONS",
    "LATTICE_PARAMETERS",
    "NUMERICAL_DESCRIPTOR",
    "ABFS_ORBITAL",
)
ORBITAL_NAME = re.compile(r"((?:\d+[spdfgh])+)\.orb$")


@dataclass
class Stru:
    """What nextham uses of a STRU file (Å)."""

    cell: np.ndarray
    positions: np.ndarray
    symbols: list[str]
    orbital_files: dict[str, str]
    """species label → orbital file name."""
    labels: list[str]
    """species label of each atom."""


def _sections(path: Path) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].split("//")[0].strip()
        if not line:
            continue
        key = line.split()[0]
        if key in SECTIONS:
            current = key
            out[current] = [line.split()[1:]] if len(line.split()) > 1 else []
        elif current is not None:
            out[current].append(line.split())
    return out


def element_of(label: str, path: Path) -> str:
    """Element symbol of a species label (``Fe1`` → ``Fe``)."""
    m = re.match(r"[A-Z][a-z]?", label)
    if m is None or m.group(0) not in atomic_numbers:
        raise InputError(f"{path}: species label {label!r} does not start with an element symbol")
    return m.group(0)


def read_stru(path: str | Path) -> Stru:
    """Parse a STRU file (see module docstring)."""
    path = Path(path)
    sec = _sections(path)
    for name in ("ATOMIC_SPECIES", "LATTICE_CONSTANT", "LATTICE_VECTORS", "ATOMIC_POSITIONS"):
        if name not in sec:
            raise InputError(f"{path}: no {name} section; not an ABACUS STRU file")
    try:
        species = [row[0] for row in sec["ATOMIC_SPECIES"]]
        orbitals = [row[0] for row in sec.get("NUMERICAL_ORBITAL", [])]
        scale = float(sec["LATTICE_CONSTANT"][0][0]) * BOHR_ANGSTROM
        vectors = np.array(sec["LATTICE_VECTORS"][:3], dtype=float) * scale
        mode, pos_rows = sec["ATOMIC_POSITIONS"][0][0], sec["ATOMIC_POSITIONS"][1:]
    except (IndexError, ValueError) as exc:
        raise InputError(f"{path}: malformed section ({exc}); check the STRU syntax") from exc
    labels, coords = _species_blocks(pos_rows, path)
    positions = _cartesian(coords, mode, vectors, scale, path)
    if not (np.isfinite(vectors).all() and np.isfinite(positions).all()):
        raise InputError(f"{path}: lattice or positions hold NaN/inf; fix the numbers")
    return Stru(
        cell=vectors,
        positions=positions,
        symbols=[element_of(x, path) for x in labels],
        orbital_files=dict(zip(species, orbitals)),
        labels=labels,
    )


def _species_blocks(rows: list[list[str]], path: Path) -> tuple[list[str], np.ndarray]:
    """Per species: label, magnetism, count, then ``count`` coordinate lines."""
    labels, coords, k = [], [], 0
    try:
        while k < len(rows):
            label, count = rows[k][0], int(float(rows[k + 2][0]))
            block = rows[k + 3 : k + 3 + count]
            if len(block) != count:
                raise IndexError(f"species {label} announces {count} atoms, has {len(block)}")
            for row in block:
                labels.append(label)
                coords.append([float(x) for x in row[:3]])
            k += 3 + count
    except (IndexError, ValueError) as exc:
        raise InputError(f"{path}: malformed ATOMIC_POSITIONS ({exc}); fix the STRU") from exc
    return labels, np.array(coords, dtype=float).reshape(-1, 3)


def _cartesian(coords: np.ndarray, mode: str, cell: np.ndarray, scale: float, path: Path):
    mode = mode.lower()
    if mode == "direct":
        return coords @ cell
    if mode == "cartesian":
        return coords * scale
    if mode == "cartesian_angstrom":
        return coords
    if mode == "cartesian_au":
        return coords * BOHR_ANGSTROM
    raise InputError(
        f"{path}: ATOMIC_POSITIONS {mode!r} is not supported; use Direct, Cartesian, "
        "Cartesian_angstrom or Cartesian_au"
    )


def shells_of(orbital_file: str | None, where: Path) -> tuple[int, ...] | None:
    """Shells (sorted by l) stated by an orbital file's header or name, None if neither."""
    if orbital_file is None:
        return None
    p = where / orbital_file
    if p.is_file():
        counts = re.findall(r"Number of ([A-Za-z])orbital-->\s*(\d+)", p.read_text()[:4000])
        if counts:
            return tuple(l for c, n in counts for l in [L_LETTERS.index(c.lower())] * int(n))
    m = ORBITAL_NAME.search(Path(orbital_file).name)
    if m is None:
        return None
    parts = re.findall(r"(\d+)([spdfgh])", m.group(1))
    return tuple(sorted(l for n, c in parts for l in [L_LETTERS.index(c)] * int(n)))


def orbital_file_name(symbol: str, ls: tuple[int, ...]) -> str:
    """A name in ABACUS's style that states the shells, e.g. ``Si_nextham_2s2p1d.orb``."""
    counts = "".join(f"{ls.count(l)}{L_LETTERS[l]}" for l in sorted(set(ls)))
    return f"{symbol}_nextham_{counts}.orb"


def write_stru(
    path: str | Path, cell, positions, symbols: list[str], shells: dict[str, tuple]
) -> None:
    """Write a STRU (Å → Bohr lattice constant 1 Å); one species block per run of equal
    elements, so the atom order is kept (repeated elements get labels ``Si2``, ``Si3`` …)."""
    runs: list[tuple[str, list[int]]] = []
    for a, s in enumerate(symbols):
        if runs and symbols[runs[-1][1][-1]] == s:
            runs[-1][1].append(a)
        else:
            n = sum(1 for _, idx in runs if symbols[idx[0]] == s)
            runs.append((s if n == 0 else f"{s}{n + 1}", [a]))
    lines = ["ATOMIC_SPECIES"]
    lines += [f"{lab} {atomic_masses[atomic_numbers[symbols[i[0]]]]:.4f} {symbols[i[0]]}.upf"
              for lab, i in runs]  # fmt: skip
    lines += ["", "NUMERICAL_ORBITAL"]
    lines += [orbital_file_name(symbols[i[0]], tuple(shells[symbols[i[0]]])) for _, i in runs]
    lines += ["", "LATTICE_CONSTANT", f"{1 / BOHR_ANGSTROM:.15f}  # 1 Angstrom in Bohr", "",
              "LATTICE_VECTORS"]  # fmt: skip
    lines += [" ".join(f"{x:.16f}" for x in row) for row in np.asarray(cell)]
    lines += ["", "ATOMIC_POSITIONS", "Cartesian_angstrom"]
    for lab, idx in runs:
        lines += ["", lab, "0.0", str(len(idx))]
        lines += [" ".join(f"{x:.16f}" for x in positions[a]) + " 1 1 1" for a in idx]
    Path(path).write_text("\n".join(lines) + "\n")
