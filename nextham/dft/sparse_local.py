"""The multigrid local-potential blocks H_ij(R) of the stored pairs only, for large cells.

:func:`nextham.dft.realspace_grid.local_matrices` returns whole-cell (nao, nao) matrices, one
per lattice image, and the plain-FFT task at k-points: memory ∝ nao² and beyond reach at 10⁴
atoms. This module runs the same multigrid tasks on the same meshes with the same screening
and writes straight into the record's flat blocks (:class:`nextham.dft.grid_pairs.PairTable`):

* a task with a sparse partner: PySCF's ``NUMINT_fill2c`` for a chunk of home atoms that lie
  close together (:data:`CHUNK`, :func:`~nextham.dft.pairs.spatial_chunks`) against only the
  atoms within the screening's reach of them, at every image;
* the plain-FFT task (the most diffuse functions): the same grid sum in boxes of the task's
  coarse mesh (:func:`nextham.dft.grid_pairs.potential_blocks`).

Time and memory ∝ pairs. Same numbers as ``local_matrices`` to rounding
(``tests/test_dft_sparse_local.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from pyscf import gto as molgto
from pyscf.pbc import tools
from pyscf.pbc.dft.multigrid import multigrid as mg

from nextham.dft.grid_pairs import GridBoxes, PairTable, potential_blocks
from nextham.dft.pairs import ImageTree, shell_rows, spatial_chunks
from nextham.dft.realspace_grid import (
    GRID_PRECISION,
    image_matrix_batches,
    pair_screening_bound,
    screening_precision,
)

CHUNK = 16
"""Home atoms per ``NUMINT_fill2c`` call."""
IMAGE_BYTES = 2e8
"""Largest per-image matrix batch of one call (the images of a chunk are split to fit)."""


def local_pair_blocks(
    ni, cell, v_g: np.ndarray, table: PairTable, precision: float = GRID_PRECISION
) -> np.ndarray:
    """Blocks (flat, as ``table`` lays them out, Hartree) of the local potential ``v_g`` (the
    multigrid G-space convention of :func:`nextham.dft.gridfock.local_potential_g`)."""
    out = np.zeros(int(table.ptr[-1]))
    vg = v_g.reshape(ni.mesh)
    for dense, sparse in ni.tasks:
        mesh = dense.mesh
        freqs = [np.fft.fftfreq(m, 1.0 / m).astype(int) for m in mesh]
        v_r = np.ascontiguousarray(tools.ifft(vg[np.ix_(*freqs)].reshape(-1), mesh).real)
        v_r = v_r.reshape(-1)
        if sparse is None:
            boxes = GridBoxes(dense.cell, mesh)
            out += potential_blocks(boxes, v_r[None], table, ao_map=dense.ao_idx)
        else:
            _sparse_task(dense, sparse, v_r, table, precision or cell.precision, out)
    return out


def _atoms_subset(pcell, atoms: np.ndarray):
    """Copy of the primitive cell ``pcell`` with the shells of ``atoms`` only (sorted ids)."""
    sub = pcell.copy(deep=False)
    sub._bas = np.asarray(pcell._bas[shell_rows(pcell, atoms)[0]], dtype=np.int32)
    return sub


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


def _rows(aoslice: np.ndarray, atoms: np.ndarray) -> np.ndarray:
    """Orbital indices of ``atoms`` (in order) from an (natm, 2) slice table."""
    return np.concatenate([np.arange(*aoslice[a]) for a in atoms]).astype(np.int64)


class _Task:
    """One sparse multigrid task decontracted: primitive cells and contraction matrices of
    its dense (h) and sparse (l) functions, their atoms' slices, the screening threshold."""

    def __init__(self, dense, sparse, precision: float):
        self.h_cell, self.h_blocks = decontracted(dense.cell)
        self.l_cell, self.l_blocks = decontracted(sparse.cell)
        self.mesh = dense.mesh
        self.scaled = screening_precision(self.h_cell + self.l_cell, self.mesh, precision)
        self.idx_h, self.idx_l = np.asarray(dense.ao_idx), np.asarray(sparse.ao_idx)
        self.slices = {
            name: np.asarray(c.aoslice_by_atom()[:, 2:4])
            for name, c in (("hc", dense.cell), ("lc", sparse.cell))
        }

    def coeff(self, kind: str, atoms: np.ndarray) -> scipy.sparse.csr_matrix:
        """Contraction matrix (primitive Cartesians × contracted) of ``atoms``, sparse."""
        blocks = self.h_blocks if kind == "h" else self.l_blocks
        return scipy.sparse.block_diag([blocks[a] for a in atoms], format="csr")

    def glob(self, kind: str, atoms: np.ndarray) -> np.ndarray:
        """The full cell's orbital indices of the task's ``kind`` functions on ``atoms``."""
        idx = self.idx_h if kind == "h" else self.idx_l
        return idx[_rows(self.slices[kind + "c"], atoms)]

    def reach(self) -> float:
        """Largest distance (Bohr) of a primitive pair that passes the screening
        (:func:`nextham.dft.realspace_grid.pair_screening_bound`)."""
        t_cell = self.h_cell + self.l_cell
        amplitude, mu = pair_screening_bound(t_cell, (0, self.h_cell.nbas, 0, t_cell.nbas))
        log_prec = np.log(self.scaled * mg.EXTRA_PREC)
        return float(np.sqrt(max(amplitude - log_prec, 0.0) / mu))


def _sparse_task(dense, sparse, v_r: np.ndarray, table: PairTable, precision, out) -> None:
    """Add one sparse task's ⟨h|v|h⟩, ⟨h|v|l⟩ and ⟨l|v|h⟩ blocks, a chunk of home atoms at a
    time against the atoms within the screening's reach."""
    task = _Task(dense, sparse, precision)
    cell = dense.cell
    reach = task.reach()
    images = ImageTree(cell, reach)
    coords = cell.atom_coords()
    inv_a = np.linalg.inv(cell.lattice_vectors())
    for mine in spatial_chunks(cell, CHUNK):
        found = images.query(coords[mine], reach)
        near = np.unique(
            images.atom[np.concatenate([np.asarray(f, dtype=np.int64) for f in found])]
        )
        parts = (_atoms_subset(task.h_cell, mine), _atoms_subset(task.h_cell, near),
                 _atoms_subset(task.l_cell, near))  # fmt: skip
        if not parts[0].nbas or not parts[1].nbas + parts[2].nbas:
            continue
        t_cell = parts[0] + parts[1] + parts[2]
        sl = (0, parts[0].nbas, parts[0].nbas, t_cell.nbas)
        batches = image_matrix_batches(t_cell, v_r, sl, task.mesh, precision, task.scaled,
                                       max_bytes=IMAGE_BYTES)  # fmt: skip
        c_i = task.coeff("h", mine).T.tocsr()
        c_j = scipy.sparse.block_diag([task.coeff("h", near), task.coeff("l", near)]).T.tocsr()
        g_i = task.glob("h", mine)
        g_h, g_l = task.glob("h", near), task.glob("l", near)
        g_j = np.concatenate([g_h, g_l])
        zero_i = np.zeros((len(g_i), 3), dtype=np.int64)
        for ls, mat in batches:
            shifts = np.rint(ls @ inv_a).astype(np.int64)
            for img, shift in enumerate(shifts):
                if not mat[img].any():
                    continue
                block = np.asarray(c_j @ np.asarray(c_i @ mat[img].T).T)  # (j, i): ⟨φ_i|v|φ_j(r−L)⟩
                col_shift = np.broadcast_to(shift, (len(g_j), 3))
                table.add(out, g_i, zero_i, g_j, col_shift, block.T)
                if len(g_l):  # ⟨l(r)|v|h(r + L)⟩ = ⟨h|v|l(r − L)⟩ᵀ: pair (l atom, h atom, −L)
                    l_shift = np.zeros((len(g_l), 3), dtype=np.int64)
                    table.add(out, g_l, l_shift, g_i, np.broadcast_to(-shift, (len(g_i), 3)),
                              block[len(g_h):])  # fmt: skip
