"""Records ↔ {(i, j, R): block} in another code's convention (shared by the formats).

A converter states an atom's mapping as ``atom_map(shell_ls, spinor)``: a (n, n) or (2n, 2n)
orthogonal matrix ``U`` with ``block_X = U_i @ block @ U_j.T`` (:mod:`nextham.conventions`).
Readers check every block they read against the orbital counts of its atoms and assemble the
record with :func:`assemble`, which also checks that S, H and H0 cover the same pairs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nextham.conventions import atom_matrix, n_orbitals
from nextham.errors import InputError
from nextham.record import keys as K
from nextham.record.layout import block_pointers, iter_blocks

AtomMap = Callable[[tuple[int, ...], bool], np.ndarray]


@dataclass(frozen=True)
class ImportHints:
    """What a reader may need beyond the files: shells per element and valence electrons.

    Attributes
    ----------
    orbitals : dict
        Element symbol → l of each shell (e.g. ``{"Si": (0, 0, 1, 1, 2)}``), for sources whose
        files do not state them.
    valence : dict
        Element symbol → valence electrons, for sources that do not state the electron count.
    """

    orbitals: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    valence: Mapping[str, float] = field(default_factory=dict)


def shell_order(ls: tuple[int, ...]) -> list[int]:
    """Indices of ``ls`` sorted by l, stable (the shell order of DeePTB and ABACUS)."""
    return sorted(range(len(ls)), key=lambda s: ls[s])


def sorted_atom_matrix(ls: tuple[int, ...], convention: str, spinor: bool) -> np.ndarray:
    """Mapping matrix of one atom whose target code groups shells by l: the shell permutation
    of :func:`shell_order` times the per-shell matrices, (n, n) or spin-major (2n, 2n)."""
    u = atom_matrix(ls, convention)
    starts = np.concatenate([[0], np.cumsum([2 * l + 1 for l in ls])])
    rows = np.concatenate([np.arange(starts[s], starts[s + 1]) for s in shell_order(ls)])
    u = u[rows]
    return np.kron(np.eye(2), u) if spinor else u


def to_convention(
    record: dict, key: str, atom_map: AtomMap, values: np.ndarray | None = None
) -> dict[tuple, np.ndarray]:
    """All blocks of ``key`` (or of ``values`` in the layout of ``key``, e.g. one component of
    the position matrix in S's layout) mapped into another convention, keyed by
    (i, j, Rx, Ry, Rz)."""
    ls = [tuple(record[K.BASIS_LS][int(z)]) for z in record[K.NUMBERS]]
    spinor = record[K.SPINOR] and key != K.S
    maps = [atom_map(x, spinor) for x in ls]
    rec = record if values is None else {**record, key: values}
    return {k: maps[k[0]] @ blk @ maps[k[1]].T for k, blk in iter_blocks(rec, key)}


def from_convention(
    blocks: dict[tuple, np.ndarray],
    ls: list[tuple[int, ...]],
    spinor: bool,
    atom_map: AtomMap,
    source: str = "blocks",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`to_convention`: returns (edge_index, cell_shift, flat data), sorted.

    Raises :class:`InputError` naming ``source`` if a block's atoms or shape do not fit the
    structure (e.g. spinor blocks where scalar ones are expected). Files that store only one
    of each pair of partners get the other as block(j, i, −R) = block(i, j, R)†.
    """
    check_blocks(blocks, ls, spinor, source)
    blocks = dict(blocks)
    for (i, j, a, b, c), blk in list(blocks.items()):
        blocks.setdefault((j, i, -a, -b, -c), blk.conj().T)
    maps = [atom_map(x, spinor) for x in ls]
    keys = sorted(blocks)
    flat = [(maps[k[0]].T @ blocks[k] @ maps[k[1]]).ravel() for k in keys]
    arr = np.asarray(keys, dtype=np.int64).reshape(-1, 5)
    data = np.concatenate(flat) if flat else np.zeros(0)
    return arr[:, :2].copy(), arr[:, 2:].copy(), data


def check_blocks(
    blocks: Mapping[tuple, np.ndarray], ls: list[tuple[int, ...]], spinor: bool, source: str
) -> None:
    """Every block must belong to atoms of the structure and have shape (f n_i, f n_j)."""
    n = [n_orbitals(x) for x in ls]
    f = 2 if spinor else 1
    for k, blk in blocks.items():
        i, j = k[0], k[1]
        if not (0 <= i < len(n) and 0 <= j < len(n)):
            raise InputError(
                f"{source}: pair {k} names an atom outside the structure's {len(n)} atoms; "
                "the matrix file belongs to another structure"
            )
        want = (f * n[i], f * n[j])
        if tuple(np.shape(blk)) != want:
            kind = "spinor" if spinor else "scalar"
            hint = (
                "it holds spinor blocks where scalar ones are expected (or the reverse): "
                "check the spin flag of the source"
                if tuple(np.shape(blk)) in {(2 * n[i], 2 * n[j]), (n[i] // 2, n[j] // 2)}
                else "the orbitals per atom do not match the matrix: check the basis/shells"
            )
            raise InputError(
                f"{source}: block {k} has shape {tuple(np.shape(blk))}, a {kind} block of "
                f"these atoms is {want}; {hint}"
            )


def assemble(
    geometry: dict,
    ls: list[tuple[int, ...]],
    spinor: bool,
    matrices: Mapping[str, tuple[dict[tuple, np.ndarray], str]],
    atom_map: AtomMap,
    where: str | Path,
) -> dict:
    """A record from geometry (CELL, POSITIONS, NUMBERS, BASIS_LS, META) and blocks per key.

    ``matrices`` maps K.S / K.HT / K.H0 to (blocks in the source convention, file name for
    messages); H0 may be absent. All matrices must cover the same pairs. ``where`` names the
    source directory in messages.
    """
    rec = dict(geometry)
    rec[K.SPINOR] = spinor
    for key in (K.CELL, K.POSITIONS):
        if not np.isfinite(np.asarray(rec[key], dtype=float)).all():
            raise InputError(f"{where}: the {key} hold NaN or inf; fix the structure file")
    pairs = None
    for key, (blocks, source) in matrices.items():
        ei, cs, rec[key] = from_convention(blocks, ls, spinor and key != K.S, atom_map, source)
        if not np.isfinite(rec[key]).all():
            raise InputError(f"{source}: holds NaN or inf values; export the matrices again")
        if pairs is None:
            pairs, first = (ei, cs), source
        elif not (np.array_equal(pairs[0], ei) and np.array_equal(pairs[1], cs)):
            raise InputError(
                f"{source}: holds other atom pairs than {first}; both files must come from "
                "the same calculation"
            )
    if pairs is None or len(pairs[0]) == 0:
        raise InputError(f"{where}: the matrix files hold no blocks; export them again")
    rec[K.EDGE_INDEX], rec[K.CELL_SHIFT] = pairs
    rec[K.BLOCK_PTR] = block_pointers(pairs[0], np.array([n_orbitals(x) for x in ls]))
    return rec


def electron_count(
    meta_count: float | None, symbols: list[str], hints: ImportHints, where: str | Path
) -> float | None:
    """The electron count a source states, else the sum of ``hints.valence`` over atoms, else
    None (a record without ``n_electrons`` cannot give a Fermi level)."""
    if meta_count is not None:
        return float(meta_count)
    if not hints.valence:
        return None
    missing = sorted(set(symbols) - set(hints.valence))
    if missing:
        raise InputError(
            f"{where}: --valence gives no electron count for {', '.join(missing)}; add them "
            "(e.g. --valence Si=4,O=6)"
        )
    return float(sum(hints.valence[s] for s in symbols))


def imported_meta(fmt: str, path: str | Path, has_h0: bool, **values) -> dict:
    """META of an imported record: where it comes from and which matrices it carries."""
    meta = {
        "hamiltonian": f"imported:{fmt}",
        "source": {"format": fmt, "path": str(path)},
        "matrices": ["S", "HT", "H0"] if has_h0 else ["S", "HT"],
    }
    meta.update({k: v for k, v in values.items() if v is not None})
    return meta


def require_files(path: Path, names: list[str], fmt: str) -> None:
    """Refuse a directory that lacks a file every structure of format ``fmt`` has."""
    if not path.is_dir():
        raise InputError(f"{path}: not a directory; give a {fmt} structure directory")
    missing = [n for n in names if not (path / n).is_file()]
    if missing:
        raise InputError(
            f"{path}: not a {fmt} directory (missing {', '.join(missing)}); give a directory "
            f"written in the {fmt} layout or choose the --format it is written in"
        )


def read_json(path: Path) -> dict:
    """A JSON file of a source directory; a parse error names the file."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); restore or rewrite the file") from exc
