"""ABACUS LCAO output (one directory per structure): ``STRU`` + sparse H(R), S(R), r(R).

Files: ``STRU`` (:mod:`nextham.formats.abacus_stru`), ``data-HR-sparse_SPIN0.csr`` and
``data-SR-sparse_SPIN0.csr`` (ABACUS ≤ 3.8) or ``hrs1_nao.csr`` and ``srs1_nao.csr`` /
``sr_nao.csr`` (≥ 3.9; :mod:`nextham.formats.abacus_csr` reads both layouts), either beside
``STRU`` or in its one ``OUT.<suffix>/`` folder, optionally the position matrix
``data-rR-sparse.csr`` (``out_mat_r 1``), ``INPUT`` (``nelec``: electron count) and
``OUT.*/running_*.log`` (``EFERMI = … eV``; ``number of electrons``). ``write`` puts ``STRU``,
``INPUT`` (``nelec``, ``nspin``) and the three CSR files (≤ 3.8 layout) in one folder; the
orbital and pseudopotential files named in its ``STRU`` are placeholders that state the shells.

Units: H(R) in Rydberg in ABACUS's files (``units="ry"``, 1 Ry = HARTREE_EV / 2 eV), or eV
(``units="ev"``, for files written that way); lengths in Bohr (LATTICE_CONSTANT, and r(R)
always, as ABACUS writes it).

Position matrix: r_a,ij(R) = <φ_i0 | r_a | φ_jR> with r measured from the Cartesian origin
(ABACUS's ``cal_r_overlap_R::out_rR`` adds τ_i S to the integral about atom i), real and
spin-diagonal (r ⊗ I₂, interleaved) for nspin = 4. ``write`` writes the record's
``K.R_MATRIX`` when it has one, else the two-centre approximation ½ (τ_i + τ_j + R) S_ij(R)
(:func:`nextham.record.geometry.two_centre_position`) and says which in its return value;
``read`` stores the file's r(R) as ``K.R_MATRIX`` (entries the file omits are 0: ABACUS drops
values below its sparse threshold).

Orbital mapping: ``nextham.conventions.PYSCF_TO_ABACUS`` per shell (m = 0, +1, −1, +2, −2, …
with a (−1)^m sign: p = z, −x, −y; d = z², −xz, −yz, x²−y², xy), shells of an atom sorted by l.
Spin (nspin = 4): the 2N × 2N complex matrices are spin-interleaved (row 2a + s); blocks are
reordered to nextham's spin-major order. The overlap of an nspin = 4 run is S ⊗ I₂ (its ↑↑
part is kept). Collinear spin-polarized runs (``SPIN1`` files) are refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from ase.data import atomic_numbers, chemical_symbols

from nextham.conventions import BOHR_ANGSTROM, HARTREE_EV, interleaved_to_spin_major, n_orbitals
from nextham.errors import InputError
from nextham.formats.abacus_csr import read_csr, read_rr_csr, write_csr, write_rr_csr
from nextham.formats.abacus_stru import Stru, read_stru, shells_of, write_stru
from nextham.formats.blocks import (
    ImportHints,
    assemble,
    electron_count,
    imported_meta,
    require_files,
    sorted_atom_matrix,
    to_convention,
)
from nextham.record import keys as K
from nextham.record.geometry import two_centre_position
from nextham.record.layout import iter_blocks

RYDBERG_EV = HARTREE_EV / 2
HR, SR, RR = "data-HR-sparse_SPIN0.csr", "data-SR-sparse_SPIN0.csr", "data-rR-sparse.csr"
NAMES = {HR: SR, "hrs1_nao.csr": ("srs1_nao.csr", "sr_nao.csr")}
"""H(R) file name → its overlap file name(s), ABACUS ≤ 3.8 and ≥ 3.9."""
SECOND_SPIN = ("data-HR-sparse_SPIN1.csr", "hrs2_nao.csr")
REQUIRED = ["STRU"]
UNITS = {"ry": RYDBERG_EV, "ev": 1.0}
TWO_CENTRE_NOTE = "# data-rR-sparse.csr: the two-centre approximation (tau_i + tau_j + R) S / 2"
"""The INPUT line that marks an rR file holding the approximation; ``read`` then sets
``META["position_matrix"] = "two-centre"`` (and ``write`` keeps the mark)."""


def atom_map(ls: tuple[int, ...], spinor: bool) -> np.ndarray:
    """nextham → ABACUS matrix of one atom (shells sorted by l, then per-shell matrices)."""
    return sorted_atom_matrix(ls, "abacus", spinor)


def _scale(units: str) -> float:
    if units not in UNITS:
        raise InputError(f"units must be one of {sorted(UNITS)}, got {units!r}")
    return UNITS[units]


# --- writing ----------------------------------------------------------------------------
def write(record: dict, out: str | Path, units: str = "ry") -> str:
    """Write STRU, INPUT and the HR/SR/rR CSR files of one record into directory ``out``.

    Returns which position matrix the rR file holds: ``"exact"`` (the record's ``K.R_MATRIX``)
    or ``"two-centre"`` (the record has none; its approximation was written).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scale = _scale(units)
    symbols = [chemical_symbols[int(z)] for z in record[K.NUMBERS]]
    shells = {chemical_symbols[int(z)]: tuple(v) for z, v in record[K.BASIS_LS].items()}
    write_stru(out / "STRU", record[K.CELL], record[K.POSITIONS], symbols, shells)
    spinor = bool(record[K.SPINOR])
    nelec = record[K.META].get("n_electrons")
    r, kind = _position(record)
    lines = ["INPUT_PARAMETERS", "basis_type lcao", f"nspin {4 if spinor else 1}",
             "out_mat_hs2 1", "out_mat_r 1"]  # fmt: skip
    lines += ([TWO_CENTRE_NOTE] if kind != "exact" else []) + ([f"nelec {nelec}"] if nelec else [])
    (out / "INPUT").write_text("\n".join(lines) + "\n")
    n = np.array([n_orbitals(shells[s]) for s in symbols])
    ht = {k: b / scale for k, b in to_convention(record, K.HT, atom_map).items()}
    write_csr(out / HR, _dim(n, spinor), _to_csr(ht, n, spinor), "H")
    s_blocks = to_convention(record, K.S, atom_map)
    if spinor:  # ABACUS's nspin = 4 overlap is S ⊗ I₂ (complex, interleaved)
        s_blocks = {k: np.kron(np.eye(2), b).astype(complex) for k, b in s_blocks.items()}
    write_csr(out / SR, _dim(n, spinor), _to_csr(s_blocks, n, spinor), "S")
    _write_rr(out / RR, record, r, n, spinor)
    return kind


def _position(record: dict) -> tuple[np.ndarray, str]:
    """The position matrix (3, len(S)) Å to write and which it is: the record's own
    (``"exact"``, unless its META marks an imported approximation), else ``"two-centre"``."""
    if K.R_MATRIX not in record:
        return two_centre_position(record), "two-centre"
    marked = record[K.META].get("position_matrix") == "two-centre"
    return np.asarray(record[K.R_MATRIX], dtype=float), "two-centre" if marked else "exact"


def _write_rr(path: Path, record: dict, r: np.ndarray, n: np.ndarray, spinor: bool) -> None:
    """The rR file in Bohr from ``r`` (3, len(S)) in Å."""
    comps = []
    for a in range(3):
        blocks = to_convention(record, K.S, atom_map, r[a] / BOHR_ANGSTROM)
        if spinor:  # the position operator is spin-diagonal: r ⊗ I₂
            blocks = {k: np.kron(np.eye(2), b) for k, b in blocks.items()}
        comps.append(_to_csr(blocks, n, spinor))
    write_rr_csr(path, _dim(n, spinor), {cell: [c[cell] for c in comps] for cell in comps[0]})


def _dim(n: np.ndarray, spinor: bool) -> int:
    return int(n.sum()) * (2 if spinor else 1)


def _to_csr(blocks: dict[tuple, np.ndarray], n: np.ndarray, spinor: bool) -> dict:
    """{R: CSR} of spin-major blocks placed at their atoms' rows (interleaved for spinors);
    every block entry is stored, zeros included, so the pair list survives."""
    f = 2 if spinor else 1
    off = f * np.concatenate([[0], np.cumsum(n)[:-1]])
    coo: dict[tuple, list] = {}
    for (i, j, *r), blk in blocks.items():
        # spin-major row k of atom i sits at interleaved row off_i + p_i[k]
        ri = off[i] + (interleaved_to_spin_major(n[i]) if spinor else np.arange(n[i]))
        cj = off[j] + (interleaved_to_spin_major(n[j]) if spinor else np.arange(n[j]))
        rows, cols = np.meshgrid(ri, cj, indexing="ij")
        coo.setdefault(tuple(r), []).append((rows.ravel(), cols.ravel(), blk.ravel()))
    dim = _dim(n, spinor)
    out = {}
    for r, parts in coo.items():
        rows, cols, vals = (np.concatenate(x) for x in zip(*parts))
        out[r] = sp.coo_matrix((vals, (rows, cols)), shape=(dim, dim)).tocsr()
    return out


# --- reading ----------------------------------------------------------------------------
def read(path: str | Path, hints: ImportHints | None = None, units: str = "ry") -> dict:
    """Read an ABACUS directory into a record; atoms keep the STRU order."""
    path = Path(path)
    require_files(path, REQUIRED, "ABACUS")
    hints = hints or ImportHints()
    scale = _scale(units)
    stru = read_stru(path / "STRU")
    ls, basis, shells_from = _shells(stru, path, hints)
    n = np.array([n_orbitals(x) for x in ls])
    out_dir = matrix_dir(path)
    hr, sr = matrix_files(out_dir)
    h_dim, h_csr = read_csr(hr)
    s_dim, s_csr = read_csr(sr)
    spinor = _spin_layout(out_dir, int(n.sum()), (hr, h_dim), (sr, s_dim), h_csr)
    h_blocks = _blocks(h_csr, n, spinor, scalar_part=False)
    s_blocks = _blocks(s_csr, n, s_dim != n.sum(), scalar_part=True)
    h_blocks = {k: b * scale for k, b in h_blocks.items()}
    for k in set(h_blocks) - set(s_blocks):  # H stored where S vanished: keep the pair
        s_blocks[k] = np.zeros((n[k[0]], n[k[1]]))
    for k in set(s_blocks) - set(h_blocks):
        h_blocks[k] = np.zeros((2 * n[k[0]], 2 * n[k[1]]) if spinor else (n[k[0]], n[k[1]]))
    nelec, fermi = _log_numbers(path, out_dir)
    geometry = {
        K.CELL: stru.cell,
        K.POSITIONS: stru.positions,
        K.NUMBERS: np.array([atomic_numbers[s] for s in stru.symbols], dtype=np.int64),
        K.BASIS_LS: basis,
        K.META: imported_meta(
            "abacus", path, False, fermi_level=fermi, shells_from=shells_from,
            n_electrons=electron_count(nelec, stru.symbols, hints, path),
        ),
    }  # fmt: skip
    matrices = {K.S: (s_blocks, str(sr)), K.HT: (h_blocks, str(hr))}
    record = assemble(geometry, ls, spinor, matrices, atom_map, path)
    if (out_dir / RR).is_file():
        record[K.R_MATRIX] = _read_rr(out_dir / RR, record, ls, h_dim)
        record[K.META]["matrices"].append(K.R_MATRIX)
        if (path / "INPUT").is_file() and TWO_CENTRE_NOTE in (path / "INPUT").read_text():
            record[K.META]["position_matrix"] = "two-centre"
    return record


def _read_rr(path: Path, record: dict, ls: list, h_dim: int) -> np.ndarray:
    """``K.R_MATRIX`` (3, len(S)) in Å from an rR file, in the record's pair order."""
    dim, csr = read_rr_csr(path)
    if dim != h_dim:
        raise InputError(
            f"{path}: dimension {dim}, but the H(R) file has {h_dim}; both files must come from "
            "one run"
        )
    n = np.array([n_orbitals(x) for x in ls])
    comps = [
        _blocks({cell: m[a] for cell, m in csr.items()}, n, dim != n.sum(), scalar_part=True)
        for a in range(3)
    ]
    maps = [atom_map(x, False) for x in ls]
    out = np.zeros((3, len(record[K.S])))
    for a, blocks in enumerate(comps):
        flat = []
        for k, s_blk in iter_blocks(record, K.S):
            blk = blocks.get(k)  # a pair the file omits: all its entries were below threshold
            flat.append(np.zeros(s_blk.size) if blk is None else maps[k[0]].T @ blk @ maps[k[1]])
        out[a] = np.concatenate([np.ravel(x) for x in flat])
    return out * BOHR_ANGSTROM


def _has_matrices(folder: Path) -> bool:
    return any((folder / name).is_file() for name in NAMES)


def matrix_files(folder: Path) -> tuple[Path, Path]:
    """(H(R) file, S(R) file) in ``folder``, either ABACUS layout."""
    for hr, srs in NAMES.items():
        if (folder / hr).is_file():
            for sr in (srs,) if isinstance(srs, str) else srs:
                if (folder / sr).is_file():
                    return folder / hr, folder / sr
            raise InputError(f"{folder}: {hr} without its overlap file ({srs}); copy it beside")
    raise InputError(f"{folder}: no H(R) file ({', '.join(NAMES)})")


def matrix_dir(path: Path) -> Path:
    """The folder holding the CSR files: ``path`` itself or its one ``OUT.*`` folder."""
    if _has_matrices(path):
        return path
    outs = sorted(d for d in path.glob("OUT.*") if _has_matrices(d))
    if len(outs) == 1:
        return outs[0]
    if len(outs) > 1:
        names = ", ".join(d.name for d in outs)
        raise InputError(f"{path}: several output folders ({names}); keep one per structure")
    raise InputError(
        f"{path}: no {' or '.join(NAMES)} beside STRU or in an OUT.* folder; run ABACUS "
        "with out_mat_hs2 1 (basis_type lcao)"
    )


def _shells(stru: Stru, path: Path, hints: ImportHints) -> tuple[list, dict, str]:
    """Shells per atom, BASIS_LS per Z, and where they came from."""
    per_label, source = {}, "orbital files"
    for label in dict.fromkeys(stru.labels):
        element = stru.symbols[stru.labels.index(label)]
        found = shells_of(stru.orbital_files.get(label), path)
        if found is None and element in hints.orbitals:
            found, source = tuple(sorted(hints.orbitals[element])), "--orbitals"
        if found is None:
            raise InputError(
                f"{path / 'STRU'}: the shells of {label} cannot be read from its orbital file "
                f"({stru.orbital_files.get(label, 'none named')}); give them with --orbitals, "
                f"e.g. --orbitals {element}=0,0,1,1,2"
            )
        per_label[label] = found
    basis: dict[int, tuple] = {}
    for label, element in zip(stru.labels, stru.symbols):
        z = atomic_numbers[element]
        if basis.setdefault(z, per_label[label]) != per_label[label]:
            raise InputError(f"{path / 'STRU'}: species of {element} have different shells")
    return [per_label[x] for x in stru.labels], basis, source


def _spin_layout(
    out_dir: Path, n_orb: int, h: tuple[Path, int], s: tuple[Path, int], h_csr: dict
) -> bool:
    """True for nspin = 4 files; refuses sizes that do not fit the STRU's orbitals.
    ``h``, ``s``: (file, matrix dimension) of H(R) and S(R)."""
    (hr, h_dim), (sr, s_dim) = h, s
    for name in SECOND_SPIN:
        if (out_dir / name).is_file():
            raise InputError(
                f"{out_dir}: holds {name} (nspin = 2, collinear spin-polarized); nextham "
                "imports nspin = 1 (scalar) or nspin = 4 (spinor) runs"
            )
    if h_dim not in (n_orb, 2 * n_orb):
        raise InputError(
            f"{hr}: matrix dimension {h_dim}, but the STRU's atoms have {n_orb} "
            f"orbitals ({2 * n_orb} with spin); the orbital files or --orbitals do not match "
            "the calculation"
        )
    spinor = h_dim == 2 * n_orb
    if s_dim not in ((n_orb, 2 * n_orb) if spinor else (n_orb,)):
        kind = "a spinor (nspin = 4)" if s_dim == 2 * n_orb else "an unexpected"
        raise InputError(
            f"{sr}: dimension {s_dim} is {kind} overlap, but {hr.name} is "
            f"{'spinor' if spinor else 'scalar'} ({h_dim}); both files must come from one run"
        )
    if not spinor and any(np.iscomplexobj(m.data) for m in h_csr.values()):
        raise InputError(
            f"{hr}: complex (spinor) values in a matrix of scalar dimension {h_dim}; "
            "the file is not a consistent nspin = 1 or nspin = 4 output"
        )
    return spinor


def _blocks(csr: dict, n: np.ndarray, spinor: bool, scalar_part: bool) -> dict:
    """Atom-pair blocks (spin-major when ``spinor``; the ↑↑ part when ``scalar_part``) of every
    pair with a stored entry."""
    f = 2 if spinor else 1
    off = f * np.concatenate([[0], np.cumsum(n)])
    atom_of_col = np.repeat(np.arange(len(n)), f * n)
    out = {}
    for r, m in csr.items():
        for i in range(len(n)):
            rows = m[off[i] : off[i + 1]]
            for j in np.unique(atom_of_col[rows.indices]):
                blk = rows[:, off[j] : off[j + 1]].toarray()
                if spinor:
                    p, q = interleaved_to_spin_major(n[i]), interleaved_to_spin_major(n[j])
                    blk = blk[np.ix_(p, q)]
                    if scalar_part:
                        blk = blk[: n[i], : n[j]].real
                out[(i, int(j), *r)] = blk
    return out


def _log_numbers(path: Path, out_dir: Path) -> tuple[float | None, float | None]:
    """(electron count, Fermi level eV) from INPUT's ``nelec`` and the ABACUS log, if stated."""
    nelec = fermi = None
    if (path / "INPUT").is_file():
        m = re.search(r"^\s*nelec\s+([0-9.eE+-]+)", (path / "INPUT").read_text(), re.M)
        nelec = float(m.group(1)) if m and float(m.group(1)) > 0 else None
    for log in sorted(out_dir.glob("running_*.log")):
        text = log.read_text(errors="replace")
        m = re.findall(r"EFERMI\s*=\s*([-0-9.eE+]+)\s*eV", text)
        fermi = float(m[-1]) if m else fermi
        m = re.search(r"number of electrons\s*[:=]?\s*=?\s*([0-9.]+)", text)
        nelec = nelec if nelec is not None or not m else float(m.group(1))
    return nelec, fermi
