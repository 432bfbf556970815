"""The multigrid local-potential blocks H_ij(R) of the stored pairs only, for large cells.

:func:`nextham.dft.realspace_grid.local_matrices` returns whole-cell (nao, nao) matrices, one
per lattice image, and the plain-FFT task at k-points: memory ∝ nao² and beyond reach at 10⁴
atoms. This module runs the same multigrid tasks on the same meshes with the same screening
and writes straight into the record's flat blocks (:class:`nextham.dft.grid_pairs.PairTable`):

* a task with a sparse partner: PySCF's ``NUMINT_fill2c`` for each home atom against every
  atom image within the screening's reach (its dense functions only against the images after
  it, :func:`upper_images`, the other half by symmetry), placed explicitly, on the smallest
  box of the mesh that holds the products (:func:`nextham.dft.grid_box.chunk_matrix`): the
  cost of a pair no longer grows with the cell's cross-section;
* the plain-FFT task (the most diffuse functions): the same grid sum in boxes of the task's
  coarse mesh (:func:`nextham.dft.grid_pairs.potential_blocks`).

Time and memory ∝ pairs. Same numbers as ``local_matrices`` to rounding
(``tests/test_dft_sparse_h0.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from pyscf import gto as molgto
from pyscf.pbc import tools
from pyscf.pbc.dft.multigrid import multigrid as mg

from nextham.dft.grid_box import chunk_matrix, joined, placed_shells
from nextham.dft.grid_pairs import GridBoxes, PairTable, potential_blocks
from nextham.dft.pairs import ImageTree, concat_ranges, shell_rows, spatial_chunks
from nextham.dft.parallel import ALL, Share
from nextham.dft.realspace_grid import (
    GRID_PRECISION,
    pair_screening_bound,
    screening_precision,
)


def local_pair_blocks(
    ni,
    cell,
    v_g: np.ndarray,
    table: PairTable,
    precision: float = GRID_PRECISION,
    share: Share = ALL,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blocks (flat, as ``table`` lays them out, Hartree) of the local potential ``v_g`` (the
    multigrid G-space convention of :func:`nextham.dft.gridfock.local_potential_g`), added
    into ``out`` when given; ``share``: only that share of the home atoms and grid boxes
    (:mod:`nextham.dft.parallel`)."""
    out = np.zeros(int(table.ptr[-1])) if out is None else out
    vg = v_g.reshape(ni.mesh)
    for dense, sparse in ni.tasks:
        mesh = dense.mesh
        freqs = [np.fft.fftfreq(m, 1.0 / m).astype(int) for m in mesh]
        v_r = np.ascontiguousarray(tools.ifft(vg[np.ix_(*freqs)].reshape(-1), mesh).real)
        v_r = v_r.reshape(-1)
        if sparse is None:
            boxes = GridBoxes(dense.cell, mesh)
            potential_blocks(boxes, v_r[None], table, dense.ao_idx, share, out)
        else:
            _sparse_task(dense, sparse, v_r, table, precision or cell.precision, out, share)
    return out


def decontracted(cell) -> tuple:
    """(primitive Cartesian cell, each atom's contraction block (n_prim,a × n_ao,a)): PySCF's
    ``decontract_basis(to_cart=True, aggregate=True)`` done once per element, so that its
    block-diagonal matrix of the whole cell (n_prim × n_ao, dense) is never formed."""
    reps: dict[str, int] = {}
    symbol = [cell.atom_symbol(a) for a in range(cell.natm)]
    for a, sym in enumerate(symbol):
        reps.setdefault(sym, a)
    rep_ids = np.array(sorted(reps.values()))
    sub = cell.copy(deep=False)
    sub._bas = np.asarray(cell._bas[shell_rows(cell, rep_ids)[0]], dtype=np.int32)
    psub, coeff = sub.decontract_basis(to_cart=True, aggregate=True)
    prim, contr = psub.aoslice_by_atom()[:, 2:4], sub.aoslice_by_atom()[:, 2:4]
    block = {r: coeff[slice(*prim[r]), slice(*contr[r])] for r in rep_ids}
    rep_of = np.array([reps[sym] for sym in symbol])
    rows, counts = shell_rows(psub, rep_of)
    pcell = psub.copy(deep=False)
    pcell._bas = np.asarray(psub._bas[rows], dtype=np.int32)
    pcell._bas[:, molgto.ATOM_OF] = np.repeat(np.arange(cell.natm), counts)
    return pcell, [block[r] for r in rep_of]


class _Contraction:
    """Each atom's contraction block (primitive Cartesians × contracted) of one function set,
    kept flat so that the block-diagonal matrix of any list of atoms is one vectorized CSR."""

    def __init__(self, blocks: list[np.ndarray]):
        self.shape = np.array([b.shape for b in blocks], dtype=np.int64).reshape(-1, 2)
        size = self.shape[:, 0] * self.shape[:, 1]
        self.start = np.cumsum(size) - size
        self.row = np.concatenate([np.repeat(np.arange(p), c) for p, c in self.shape] or [[]])
        self.col = np.concatenate([np.tile(np.arange(c), p) for p, c in self.shape] or [[]])
        self.val = np.concatenate([b.ravel() for b in blocks] or [[]])

    def matrix(self, atoms: np.ndarray) -> scipy.sparse.csr_matrix:
        """The block-diagonal contraction matrix of ``atoms`` (repeats allowed)."""
        shape = self.shape[atoms]
        size = shape[:, 0] * shape[:, 1]
        at = concat_ranges(self.start[atoms], size)
        r0, c0 = (np.cumsum(shape, axis=0) - shape).T
        rows = self.row[at].astype(np.int64) + np.repeat(r0, size)
        cols = self.col[at].astype(np.int64) + np.repeat(c0, size)
        n = shape.sum(axis=0)
        return scipy.sparse.csr_matrix((self.val[at], (rows, cols)), shape=(n[0], n[1]))


class _Task:
    """One sparse multigrid task decontracted: primitive cells and contraction matrices of
    its dense (h) and sparse (l) functions, their atoms' slices, the screening threshold."""

    def __init__(self, dense, sparse, precision: float):
        self.h_cell, h_blocks = decontracted(dense.cell)
        self.l_cell, l_blocks = decontracted(sparse.cell)
        self.contraction = {"h": _Contraction(h_blocks), "l": _Contraction(l_blocks)}
        self.mesh = dense.mesh
        self.scaled = screening_precision(self.h_cell + self.l_cell, self.mesh, precision)
        self.idx_h, self.idx_l = np.asarray(dense.ao_idx), np.asarray(sparse.ao_idx)
        self.slices = {
            name: np.asarray(c.aoslice_by_atom()[:, 2:4])
            for name, c in (("hc", dense.cell), ("lc", sparse.cell))
        }

    def coeff(self, kind: str, atoms: np.ndarray) -> scipy.sparse.csr_matrix:
        """Contraction matrix (primitive Cartesians × contracted) of ``atoms``, sparse."""
        return self.contraction[kind].matrix(atoms)

    def glob(self, kind: str, atoms: np.ndarray) -> np.ndarray:
        """The full cell's orbital indices of the task's ``kind`` functions on ``atoms``."""
        idx = self.idx_h if kind == "h" else self.idx_l
        sl = self.slices[kind + "c"][atoms]
        return idx[concat_ranges(sl[:, 0], sl[:, 1] - sl[:, 0])]

    def reach(self) -> float:
        """Largest distance (Bohr) of a primitive pair that passes the screening
        (:func:`nextham.dft.realspace_grid.pair_screening_bound`)."""
        t_cell = self.h_cell + self.l_cell
        amplitude, mu = pair_screening_bound(t_cell, (0, self.h_cell.nbas, 0, t_cell.nbas))
        log_prec = np.log(self.scaled * mg.EXTRA_PREC)
        return float(np.sqrt(max(amplitude - log_prec, 0.0) / mu))


def upper_images(home: int, atom: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Mask of the images (``atom``, ``shift``) that come after atom ``home`` in cell 0:
    a larger atom index, or the same atom at a shift ≥ 0 (lexicographic; cell 0 included).
    Each pair of dense functions is integrated from one side only; the other side is its
    transpose, ⟨h_i|v|h_j(r − R)⟩ = ⟨h_j|v|h_i(r + R)⟩ (real functions and potential)."""
    sign = np.sign(shift)
    first = np.where(sign[:, 0] != 0, sign[:, 0], np.where(sign[:, 1] != 0, sign[:, 1], sign[:, 2]))
    return (atom > home) | ((atom == home) & (first >= 0))


def _sparse_task(
    dense, sparse, v_r: np.ndarray, table: PairTable, precision, out, share: Share = ALL
) -> None:
    """Add one sparse task's ⟨h|v|h⟩, ⟨h|v|l⟩ and ⟨l|v|h⟩ blocks, one home atom at a time
    against every atom image within the screening's reach (its dense functions only against
    :func:`upper_images`, the rest by symmetry), on a box of the mesh
    (:func:`nextham.dft.grid_box.chunk_matrix`)."""
    task = _Task(dense, sparse, precision)
    cell = dense.cell
    reach = task.reach()
    images = ImageTree(cell, reach)
    coords, lattice = cell.atom_coords(), cell.lattice_vectors()
    v_mesh = v_r.reshape(task.mesh)
    log_prec = float(np.log(task.scaled * mg.EXTRA_PREC))
    expdrop = min(task.scaled * mg.EXTRA_PREC, mg.EXPDROP)
    width = {k: task.slices[k + "c"][:, 1] - task.slices[k + "c"][:, 0] for k in ("h", "l")}
    for mine in share.of(spatial_chunks(cell, 1)):
        home_atom = int(mine[0])
        img = np.unique(np.asarray(images.query(coords[mine], reach)[0], dtype=np.int64))
        atom, shift = images.atom[img], images.shift[img]
        pos = coords[atom] + shift @ lattice
        upper = upper_images(home_atom, atom, shift)
        h_atom, h_shift = atom[upper], shift[upper]
        home = placed_shells(task.h_cell, mine, coords[mine])
        if not len(home[1]):
            continue
        parts = (
            home,
            placed_shells(task.h_cell, h_atom, pos[upper]),
            placed_shells(task.l_cell, atom, pos),
        )
        mat = chunk_matrix(*joined(*parts), len(home[1]), v_mesh, lattice, log_prec, expdrop)
        if mat is None:
            continue
        c_i = task.coeff("h", mine).T.tocsr()
        c_j = scipy.sparse.block_diag([task.coeff("h", h_atom), task.coeff("l", atom)]).T.tocsr()
        block = np.asarray(c_j @ np.asarray(c_i @ mat.T).T)  # (j, i): ⟨φ_i|v|φ_j(r−L)⟩
        g_i, g_h, g_l = task.glob("h", mine), task.glob("h", h_atom), task.glob("l", atom)
        s_h = np.repeat(h_shift, width["h"][h_atom], axis=0)
        s_l = np.repeat(shift, width["l"][atom], axis=0)
        zero_i = np.zeros((len(g_i), 3), dtype=np.int64)
        table.add(out, g_i, zero_i, np.concatenate([g_h, g_l]), np.concatenate([s_h, s_l]), block.T)
        mirror = np.repeat((h_atom != home_atom) | h_shift.any(axis=1), width["h"][h_atom])
        if mirror.any():  # ⟨h_j(r − R)|v|h_i⟩ = ⟨h_i|v|h_j(r − R)⟩ᵀ, cell 0's own block once
            table.add(out, g_h[mirror], s_h[mirror], g_i, zero_i, block[: len(g_h)][mirror])
        if len(g_l):  # ⟨l(r − L)|v|h(r)⟩ = ⟨h|v|l(r − L)⟩ᵀ
            table.add(out, g_l, s_l, g_i, zero_i, block[len(g_h) :])
