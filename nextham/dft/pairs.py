"""Which atom pairs (i, j, R) are stored, and their overlap blocks computed directly in real space.

The overlap S_ij(R) = <φ_i(r) | φ_j(r − R)> is an analytic Gaussian integral, so it is computed
exactly (``pyscf.gto.intor_cross`` between home atoms and their periodic images) rather than by
Fourier transform: candidates from a neighbour search (a k-d tree, linear in the number of
atoms), integrals for a chunk of home atoms against just their neighbours
(:func:`pair_blocks`, also for the other two-centre operators: kinetic energy, position), so
memory grows with the number of pairs. The same integrals decide which pairs are stored:

* default: every (i, j, R) with max |S_ij(R)| > ``overlap_threshold`` (``EngineSettings``),
  plus all self pairs (i, i, 0);
* with ``cutoff`` (Å): every pair with |r_j + R − r_i| ≤ cutoff.

Both rules are symmetric, so the partner (j, i, −R) of every stored pair is stored too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from pyscf import gto as molgto
from pyscf.pbc import gto as pbcgto
from scipy.spatial import cKDTree

from nextham.conventions import BOHR_ANGSTROM
from nextham.dft.cell import atom_ao_slices
from nextham.dft.parallel import ALL, Share, summed


def overlap_reach_bohr(cell: pbcgto.Cell, threshold: float) -> float:
    """Distance beyond which no two basis functions overlap more than ``threshold``.

    Two normalized s Gaussians of exponent α at distance d overlap exp(−α d²/2); the most
    diffuse exponent bounds all pairs (a factor 1.5 covers higher l and contraction tails).
    """
    alpha = min(float(np.min(cell.bas_exp(b))) for b in range(cell.nbas))
    return 1.5 * math.sqrt(2.0 * math.log(1.0 / threshold) / alpha)


def image_subcell(cell: pbcgto.Cell, atom_ids: np.ndarray, disp_bohr: np.ndarray):
    """Copy of ``cell`` holding only atom ``atom_ids[n]`` moved by ``disp_bohr[n]`` (Bohr), in
    that order, with the cell's contracted basis untouched (like PySCF's ``cell_plus_imgs``
    for a chosen set of image atoms). Returns a molecule-like object for ``intor_cross``."""
    sub = cell.copy(deep=False)
    coords = cell.atom_coords()[atom_ids] + disp_bohr
    atm = np.asarray(cell._atm)[atom_ids].copy()
    atm[:, molgto.PTR_COORD] = cell._env.size + 3 * np.arange(len(atom_ids))
    rows, counts = shell_rows(cell, atom_ids)
    bas = np.asarray(cell._bas)[rows].copy()
    bas[:, molgto.ATOM_OF] = np.repeat(np.arange(len(atom_ids)), counts)
    sub._atm = np.asarray(atm, dtype=np.int32)
    sub._bas = np.asarray(bas, dtype=np.int32)
    sub._env = np.append(cell._env, coords.ravel())
    symbols = [cell.atom_symbol(a) for a in atom_ids]
    sub.atom = sub._atom = [(sym, tuple(xyz)) for sym, xyz in zip(symbols, coords)]
    return sub


def shell_rows(cell: pbcgto.Cell, atom_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows of ``cell._bas`` of each atom of ``atom_ids`` in that order, shells per atom);
    PySCF keeps each atom's shells together and in atom order, so two binary searches find
    them: O(len(atom_ids) log nbas), not O(natm · nbas)."""
    owner = np.asarray(cell._bas[:, molgto.ATOM_OF])
    ids = np.asarray(atom_ids, dtype=np.int64)
    start = np.searchsorted(owner, ids, side="left")
    counts = np.searchsorted(owner, ids, side="right") - start
    return concat_ranges(start, counts), counts


def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, counts)])``, vectorized."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.asarray(starts, dtype=np.int64) - (np.cumsum(counts) - counts)
    return np.repeat(offsets, counts) + np.arange(int(counts.sum()))


CHUNK = 32
"""Home atoms per integral call."""


def _image_counts(cell: pbcgto.Cell, reach_bohr: float) -> np.ndarray:
    """Number of images per direction (±) needed to hold all pairs within ``reach_bohr``."""
    b = np.linalg.inv(cell.lattice_vectors()).T  # rows: reciprocal vectors / 2π
    spacing = 1.0 / np.linalg.norm(b, axis=1)  # distance between lattice planes
    return np.ceil(reach_bohr / spacing).astype(int) + 1


class ImageTree:
    """Every atom image within ``reach_bohr`` of the home cell, in a k-d tree
    (``scipy.spatial.cKDTree``): ``atom``, ``shift`` (integer lattice vectors) per image."""

    def __init__(self, cell: pbcgto.Cell, reach_bohr: float):
        lattice, coords = cell.lattice_vectors(), cell.atom_coords()
        nimg = _image_counts(cell, reach_bohr)
        axes = [np.arange(-n, n + 1) for n in nimg]
        shifts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        points = (coords[None] + (shifts @ lattice)[:, None]).reshape(-1, 3)  # (N_R·N, 3)
        self.tree = cKDTree(points)
        self.atom = np.tile(np.arange(len(coords)), len(shifts))
        self.shift = np.repeat(shifts, len(coords), axis=0)

    def query(self, centres: np.ndarray, radius: float) -> list[list[int]]:
        """Image indices within ``radius`` of each centre (Bohr)."""
        return self.tree.query_ball_point(centres, radius * (1 + 1e-12))


def neighbour_pairs(cell: pbcgto.Cell, reach_bohr: float) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j, R) with |r_j + R − r_i| ≤ ``reach_bohr``, self pairs (i, i, 0) included,
    sorted by (i, j, R): ((P, 2) int64, (P, 3) int64), R in lattice vectors for the positions
    as given. An :class:`ImageTree` queried for a chunk of home atoms at a time: time and
    memory ∝ pairs."""
    coords = cell.atom_coords()
    images = ImageTree(cell, reach_bohr)
    parts = []
    for start in range(0, len(coords), 256):
        found = images.query(coords[start : start + 256], reach_bohr)
        counts = np.array([len(f) for f in found])
        flat = np.concatenate([np.asarray(f, dtype=np.int64) for f in found])
        home = np.repeat(np.arange(start, start + len(found)), counts)
        parts.append(np.column_stack([home, images.atom[flat], images.shift[flat]]))
    table = np.concatenate(parts)
    table = table[np.lexsort(table.T[::-1])]  # by i, then j, then R
    return table[:, :2].copy(), table[:, 2:].copy()


def spatial_chunks(cell: pbcgto.Cell, size: int) -> list[np.ndarray]:
    """The atoms in chunks of about ``size`` that lie close together: atoms sorted by boxes
    holding ``size`` atoms on average (lexicographic box order), then cut every ``size``."""
    inv = np.linalg.inv(cell.lattice_vectors())
    frac = np.mod(cell.atom_coords() @ inv, 1.0)
    edge = (size * cell.vol / cell.natm) ** (1 / 3)
    n = np.maximum(1, np.round(np.linalg.norm(cell.lattice_vectors(), axis=1) / edge))
    box = np.minimum(np.floor(frac * n), n - 1).astype(np.int64)
    order = np.lexsort((box[:, 2], box[:, 1], box[:, 0]))
    return [np.sort(order[s : s + size]) for s in range(0, len(order), size)]


def chunked_blocks(
    cell: pbcgto.Cell,
    edge_index: np.ndarray,
    cell_shift: np.ndarray,
    intor: str = "int1e_ovlp",
    chunk: int = CHUNK,
    share: Share = ALL,
) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """Yield (pair indices, their blocks ⟨φ_i0| op |φ_jR⟩) for ``chunk`` home atoms at a time;
    pairs must be sorted by i (as :func:`neighbour_pairs` gives them). Blocks are (n_i, n_j),
    or (comp, n_i, n_j) for operators with components (``int1e_r``), in atomic units, r from
    the origin of the cell's frame. ``share``: only that share of the chunks
    (:mod:`nextham.dft.parallel`)."""
    edge_index = np.asarray(edge_index, dtype=np.int64).reshape(-1, 2)
    cell_shift = np.asarray(cell_shift, dtype=np.int64).reshape(-1, 3)
    if np.any(np.diff(edge_index[:, 0]) < 0):
        raise ValueError("pairs must be sorted by their first atom")
    sl = atom_ao_slices(cell)
    width = sl[:, 1] - sl[:, 0]
    lattice = cell.lattice_vectors()
    homes = np.unique(edge_index[:, 0])
    for start in share.of(range(0, len(homes), chunk)):
        mine = homes[start : start + chunk]
        lo, hi = np.searchsorted(edge_index[:, 0], [mine[0], mine[-1] + 1])
        rows = np.arange(lo, hi)
        images, image_of = np.unique(
            np.column_stack([cell_shift[rows], edge_index[rows, 1]]), axis=0, return_inverse=True
        )
        left = image_subcell(cell, mine, np.zeros((len(mine), 3)))
        right = image_subcell(cell, images[:, 3], images[:, :3] @ lattice)
        with cell.with_common_origin((0.0, 0.0, 0.0)):
            m = molgto.intor_cross(intor, left, right)
        row0 = dict(zip(mine.tolist(), np.concatenate([[0], np.cumsum(width[mine])[:-1]])))
        col0 = np.concatenate([[0], np.cumsum(width[images[:, 3]])])[:-1]
        blocks = []
        for e, n in zip(rows, image_of.ravel()):
            i, j = edge_index[e]
            r0, c0 = row0[int(i)], col0[n]
            blocks.append(np.ascontiguousarray(m[..., r0 : r0 + width[i], c0 : c0 + width[j]]))
        yield rows, blocks


def pair_blocks(
    cell: pbcgto.Cell,
    edge_index: np.ndarray,
    cell_shift: np.ndarray,
    intor: str = "int1e_ovlp",
    chunk: int = CHUNK,
) -> list[np.ndarray]:
    """The blocks of every pair (sorted by i), as :func:`chunked_blocks` gives them."""
    return [b for _, blocks in chunked_blocks(cell, edge_index, cell_shift, intor, chunk)
            for b in blocks]  # fmt: skip


def select_pairs(
    cell: pbcgto.Cell,
    overlap_threshold: float = 1e-5,
    cutoff: float | None = None,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Choose stored pairs and return them with their overlap blocks.

    Candidates are the pairs within reach (the cutoff, or the distance beyond which no two
    basis functions overlap by the threshold) from a neighbour list; their overlaps are
    integrated a chunk of home atoms at a time (:func:`pair_blocks`), so time and memory grow
    with the number of pairs, not with the square of the cell. ``workers`` > 1: the chunks
    are shared among forked processes (:func:`nextham.dft.parallel.summed`).

    Returns
    -------
    edge_index : (E, 2) int64
    cell_shift : (E, 3) int64
    s_blocks : list of E arrays (n_i, n_j), dimensionless
    """
    reach = (
        cutoff / BOHR_ANGSTROM
        if cutoff is not None
        else overlap_reach_bohr(cell, overlap_threshold)
    )
    edge_index, cell_shift = neighbour_pairs(cell, reach)
    if workers > 1:
        return _select_shared(cell, edge_index, cell_shift, overlap_threshold, cutoff, workers)
    if cutoff is not None:
        return edge_index, cell_shift, pair_blocks(cell, edge_index, cell_shift)
    self_pair = (edge_index[:, 0] == edge_index[:, 1]) & ~cell_shift.any(axis=1)
    keep, blocks = [], []
    for rows, part in chunked_blocks(cell, edge_index, cell_shift):
        for e, b in zip(rows, part):  # threshold per chunk: only stored blocks are kept
            if self_pair[e] or np.abs(b).max() > overlap_threshold:
                keep.append(e)
                blocks.append(b)
    edge_index, cell_shift = edge_index[keep], cell_shift[keep]
    return edge_index, cell_shift, blocks


def _select_shared(cell, edge_index, cell_shift, threshold: float, cutoff, workers: int):
    """:func:`select_pairs` with the candidates' overlaps integrated by ``workers``
    processes into one flat array, then thresholded (same pairs, same blocks)."""
    width = np.diff(atom_ao_slices(cell), axis=1).ravel()
    size = width[edge_index[:, 0]] * width[edge_index[:, 1]]
    ptr = np.concatenate([[0], np.cumsum(size)])

    def job(share: Share, out: np.ndarray) -> None:
        for rows, part in chunked_blocks(cell, edge_index, cell_shift, share=share):
            for e, b in zip(rows, part):
                out[ptr[e] : ptr[e + 1]] = b.ravel()

    flat = summed(job, int(ptr[-1]), workers)
    keep = np.ones(len(edge_index), dtype=bool)
    if cutoff is None:
        largest = np.maximum.reduceat(np.abs(flat), ptr[:-1]) if len(flat) else np.zeros(0)
        self_pair = (edge_index[:, 0] == edge_index[:, 1]) & ~cell_shift.any(axis=1)
        keep = self_pair | (largest > threshold)
    blocks = [
        flat[ptr[e] : ptr[e + 1]].reshape(width[edge_index[e, 0]], width[edge_index[e, 1]])
        for e in np.flatnonzero(keep)
    ]
    return edge_index[keep], cell_shift[keep], blocks
