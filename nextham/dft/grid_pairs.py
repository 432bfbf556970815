"""Local-potential matrix elements on an FFT grid, pair by pair in real space.

PySCF's FFT path integrates a local potential v on the cell's uniform grid with the Bloch sums
of the orbitals at each k; the engine then Fourier-transforms the k-space matrices to the
stored blocks H_ij(R). Both steps hold the whole cell's (nao, nao) matrices. The same numbers
follow without them:

    V_ij(R) = Σ_{r ∈ cell grid} w Σ_L φ_i(r − L) v(r) φ_j(r − L − R),

because the sum over the images L of the home cell turns the cell's grid into all of space.
The grid is cut into boxes of a few Bohr; for each box, the atom images whose orbitals reach it
(a k-d tree over the images, each atom's reach from its orbital values: :func:`atom_reach`)
are evaluated there once (PySCF's ``eval_gto`` on those images only), the box's
(images × images) matrix of v is one product, and its sub-blocks are added to the pairs
(i, j, R) they belong to. Time and memory grow with the number of boxes times the images per
box, i.e. linearly with the cell.

Equal to PySCF's FFT-grid integrals to the orbital cutoff :data:`GRID_CUTOFF`
(``tests/test_dft_sparse_h0.py``). :mod:`nextham.dft.sparse_local` uses it for the
multigrid's plain-FFT task.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pyscf import gto as molgto
from pyscf.gto.eval_gto import eval_gto

from nextham.dft.cell import atom_ao_slices
from nextham.dft.pairs import ImageTree, shell_rows
from nextham.dft.parallel import ALL, Share

GRID_CUTOFF = 1e-11
"""Orbital value below which an atom image is left out of a box (sets each atom's reach)."""
BOX_BOHR = 8.0
"""Edge of a grid box (Bohr), about: boxes hold whole numbers of grid points. Every pair of
images reaching a box gets a block from it, so small boxes multiply the scattered additions
(each pair from hundreds of boxes) and large ones the orbital products; rattled Si, the
plain-FFT task (s and p of the most diffuse exponent at 10,648 atoms), one core: 4 Bohr
3,226 s, 6 Bohr 1,793 s, 8 Bohr 1,549 s, 10 Bohr 1,656 s (4,096 atoms, s only: 204, 94, 61,
63 s), with every candidate pair in the table."""


@dataclass(frozen=True)
class Box:
    """One box of grid points and the atom images whose orbitals reach it.

    ``points``: (n,) flat indices into the C-ordered FFT grid; ``coords``: (n, 3) Bohr;
    ``ids``, ``shifts``, ``pos``: (m,) atoms, (m, 3) integer lattice shifts and (m, 3) positions
    (Bohr) of the images; ``cols``: (m + 1,) first column of each image in the box's orbital
    values."""

    points: np.ndarray
    coords: np.ndarray
    ids: np.ndarray
    shifts: np.ndarray
    pos: np.ndarray
    cols: np.ndarray


def atom_reach(cell, cutoff: float = GRID_CUTOFF) -> np.ndarray:
    """(natm,) distance (Bohr) beyond which every orbital value of the atom is below ``cutoff``
    (largest r with |c| r^l e^{−α r²} = ``cutoff`` over its primitives)."""
    reach = np.zeros(cell.natm)
    for b in range(cell.nbas):
        alpha = cell.bas_exp(b)
        coef = np.abs(cell._libcint_ctr_coeff(b)).max(axis=1)
        l, log_c = cell.bas_angular(b), np.log(coef / cutoff)
        r = np.sqrt(np.maximum(log_c, 0) / alpha)
        for _ in range(8):  # fixed point of r² = (ln(c/cutoff) + l ln r) / α
            r = np.sqrt(np.maximum(log_c + l * np.log(np.maximum(r, 1.0)), 0) / alpha)
        a = cell.bas_atom(b)
        reach[a] = max(reach[a], float(r.max()))
    return reach


class GridBoxes:
    """The cell's FFT grid (``mesh``) in boxes, with the images reaching each box.

    Iterating gives :class:`Box` objects; :meth:`values` evaluates the orbitals of a box's
    images on its points."""

    def __init__(self, cell, mesh, box_bohr: float = BOX_BOHR, cutoff: float = GRID_CUTOFF):
        self.cell, self.mesh = cell, np.asarray(mesh, dtype=int)
        self.lattice = cell.lattice_vectors()
        self.reach = atom_reach(cell, cutoff)
        lengths = np.linalg.norm(self.lattice, axis=1)
        per_box = np.maximum(1, np.round(box_bohr * self.mesh / lengths).astype(int))
        self.edges = [np.append(np.arange(0, m, s), m) for m, s in zip(self.mesh, per_box)]
        corners = np.array(np.meshgrid(*[[0, 1]] * 3, indexing="ij")).reshape(3, -1).T
        span = (per_box / self.mesh) * corners @ self.lattice
        self.radius = float(np.linalg.norm(span - span.mean(axis=0), axis=1).max())
        self.images = ImageTree(cell, self.reach.max() + self.radius)
        self.ao_slices = atom_ao_slices(cell)
        self.width = self.ao_slices[:, 1] - self.ao_slices[:, 0]
        self.cart = bool(cell.cart)

    def __len__(self) -> int:
        return int(np.prod([len(e) - 1 for e in self.edges]))

    def __iter__(self) -> Iterator[Box]:
        return self.iterate(ALL)

    def iterate(self, share: Share) -> Iterator[Box]:
        """The boxes of ``share`` (:mod:`nextham.dft.parallel`), in the order of iteration."""
        n1, n2 = self.mesh[1], self.mesh[2]
        spans = [list(itertools.pairwise(e)) for e in self.edges]
        for k, ((a0, a1), (b0, b1), (c0, c1)) in enumerate(itertools.product(*spans)):
            if not share.owns(k):
                continue
            idx = np.stack(
                np.meshgrid(np.arange(a0, a1), np.arange(b0, b1), np.arange(c0, c1),
                            indexing="ij"), axis=-1
            ).reshape(-1, 3)  # fmt: skip
            coords = (idx / self.mesh) @ self.lattice
            yield self._box((idx[:, 0] * n1 + idx[:, 1]) * n2 + idx[:, 2], coords)

    def _box(self, points: np.ndarray, coords: np.ndarray) -> Box:
        centre = coords.mean(axis=0)
        near = np.asarray(self.images.query(centre, self.reach.max() + self.radius), dtype=int)
        pos = self.images.tree.data[near]
        atom = self.images.atom[near]
        keep = np.linalg.norm(pos - centre, axis=1) <= self.reach[atom] + self.radius
        order = np.argsort(near[keep], kind="stable")
        ids, pos = atom[keep][order], pos[keep][order]
        cols = np.concatenate([[0], np.cumsum(self.width[ids])])
        return Box(points, coords, ids, self.images.shift[near[keep][order]], pos, cols)

    def values(self, box: Box, deriv: int = 0) -> np.ndarray:
        """(1 or 4, npts, ncols) orbital values (and gradients) of the box's images."""
        atm = np.asarray(self.cell._atm)[box.ids].copy()
        env = np.append(self.cell._env, box.pos.ravel())
        atm[:, molgto.PTR_COORD] = len(self.cell._env) + 3 * np.arange(len(box.ids))
        rows, counts = shell_rows(self.cell, box.ids)
        bas = np.asarray(self.cell._bas)[rows].copy()
        bas[:, molgto.ATOM_OF] = np.repeat(np.arange(len(box.ids)), counts)
        mol = _Bare(atm, bas, env, self.cart)
        name = ("GTOval_cart" if self.cart else "GTOval_sph") + ("_deriv1" if deriv else "")
        out = eval_gto(mol, name, box.coords)
        return out.reshape(1 + 3 * (deriv > 0), len(box.points), -1)


@dataclass
class _Bare:
    """The integral-table view of a molecule that ``eval_gto`` reads."""

    _atm: np.ndarray
    _bas: np.ndarray
    _env: np.ndarray
    cart: bool


SPAN = 2048
"""Lattice shifts are encoded in :func:`pair_keys` for |R_d| < SPAN / 2."""


def pair_keys(i: np.ndarray, j: np.ndarray, shift: np.ndarray, natm: int) -> np.ndarray:
    """One int64 per pair (i, j, R) (broadcasting; ``shift`` has a last axis of 3)."""
    s = np.asarray(shift, dtype=np.int64) + SPAN // 2
    code = (s[..., 0] * SPAN + s[..., 1]) * SPAN + s[..., 2]
    ij = np.asarray(i, dtype=np.int64) * natm + np.asarray(j, dtype=np.int64)
    return ij * SPAN**3 + code


class PairTable:
    """Where each matrix element ⟨φ_p(r − L_p)|v|φ_q(r − L_q)⟩ goes in a record's flat blocks.

    ``edge_index`` (E, 2), ``cell_shift`` (E, 3): the stored pairs; ``ao_slices`` (natm, 2):
    each atom's orbitals; blocks are concatenated at ``ptr`` (E + 1,) as a record stores them."""

    def __init__(self, edge_index, cell_shift, ao_slices, ptr):
        ei = np.asarray(edge_index, dtype=np.int64).reshape(-1, 2)
        sl = np.asarray(ao_slices, dtype=np.int64)
        self.natm, self.ptr = len(sl), np.asarray(ptr, dtype=np.int64)
        self.width = sl[:, 1] - sl[:, 0]
        self.atom_of_ao = np.repeat(np.arange(self.natm), self.width)
        self.local_of_ao = np.arange(sl[-1, 1]) - sl[self.atom_of_ao, 0]
        keys = pair_keys(ei[:, 0], ei[:, 1], cell_shift, self.natm)
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.row_start = np.searchsorted(self.keys, np.arange(self.natm + 1) * self.natm * SPAN**3)
        """(natm + 1,): atom i's pairs are ``keys[row_start[i]:row_start[i + 1]]``."""

    def find(self, i, j, shift) -> tuple[np.ndarray, np.ndarray]:
        """(hit mask, pair indices of the hits) of the pairs (i, j, R) given as arrays."""
        key = pair_keys(i, j, shift, self.natm)
        pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = self.keys[pos] == key
        return hit, self.order[pos[hit]]

    def add(self, out, rows, row_shift, cols, col_shift, mat) -> None:
        """``out[...] += mat[p, q]`` for element (orbital ``rows[p]`` in cell ``row_shift[p]``,
        orbital ``cols[q]`` in cell ``col_shift[q]``) of the listed pairs; others are dropped.
        Pairs are looked up once per run of orbitals of one atom image, not per element."""
        rs, rl = self._runs(rows, row_shift)
        cs, cl = self._runs(cols, col_shift)
        aj = self.atom_of_ao[cols[cs]]
        shift = col_shift[cs][None] - row_shift[rs][:, None]
        hit, e = self.find(self.atom_of_ao[rows[rs]][:, None], aj[None, :], shift)
        if not len(e):
            return
        p, q = np.nonzero(hit)  # runs of the hits, in the order of e
        if (rl == rl[0]).all() and (cl == cl[0]).all():
            at, values = self._uniform(rows, cols, rl[0], cl[0], p, q, e, aj, mat)
        else:
            size = rl[p] * cl[q]
            offset = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
            ncol = np.repeat(cl[q], size)
            r = np.repeat(rs[p], size) + offset // ncol
            c = np.repeat(cs[q], size) + offset % ncol
            at = np.repeat(self.ptr[e], size) + self.local_of_ao[cols[c]]
            at += self.local_of_ao[rows[r]] * np.repeat(self.width[aj[q]], size)
            values = mat[r, c]
        if len(np.unique(rows)) == len(rows) and len(np.unique(cols)) == len(cols):
            out[at] += values  # distinct orbitals on each side: every element once
        else:
            np.add.at(out, at, values)  # an orbital twice (two images of one atom)

    def _uniform(self, rows, cols, nr: int, nc: int, p, q, e, aj, mat) -> tuple:
        """(flat positions, values) of the hit runs (p, q) when every row run has ``nr``
        orbitals and every column run ``nc``: whole (nr × nc) blocks at a time."""
        lr = self.local_of_ao[rows].reshape(-1, nr)[p]  # (hits, nr)
        lc = self.local_of_ao[cols].reshape(-1, nc)[q]  # (hits, nc)
        at = self.ptr[e][:, None, None] + lc[:, None, :]
        at = at + (lr * self.width[aj[q]][:, None])[:, :, None]
        values = mat.reshape(len(mat) // nr, nr, -1, nc)[p, :, q, :]  # (hits, nr, nc)
        return at.ravel(), values.ravel()

    def _runs(self, orbitals: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first position, length) of each run of consecutive orbitals of one atom image."""
        atom = self.atom_of_ao[orbitals]
        change = np.ones(len(orbitals), dtype=bool)
        change[1:] = (atom[1:] != atom[:-1]) | (shift[1:] != shift[:-1]).any(axis=1)
        start = np.flatnonzero(change)
        return start, np.diff(np.append(start, len(orbitals)))


def potential_blocks(
    boxes: GridBoxes,
    wv: np.ndarray,
    table: PairTable,
    ao_map: np.ndarray | None = None,
    share: Share = ALL,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The blocks V_ij(R) of the weighted potential ``wv`` on the boxes' grid for the pairs of
    ``table``, concatenated as a record stores them, Hartree.

    ``wv``: (1 or 4, ngrids) as :func:`nextham.dft.mesh_fock.local_potential` gives it (row 0
    the potential times the grid weight; rows 1–3 the GGA weights of the orbital gradients):
    V = Σ_r [φ_i w₀ φ_j + Σ_x w_x (φ_i ∂_x φ_j + ∂_x φ_i φ_j)]. ``ao_map``: the table's
    orbital index of each orbital of the boxes' cell (a cell with part of the basis); pairs
    not listed are left out. ``share``: only that share of the boxes
    (:mod:`nextham.dft.parallel`); added into ``out`` when given."""
    out = np.zeros(int(table.ptr[-1])) if out is None else out
    gga = wv.shape[0] == 4
    for box in boxes.iterate(share):
        if not len(box.ids):
            continue
        ao = boxes.values(box, deriv=int(gga))
        w = wv[:, box.points]
        aow = ao[0] * (0.5 * w[0])[:, None]
        if gga:
            aow += np.einsum("xpi,xp->pi", ao[1:], w[1:])
        mat = ao[0].T @ aow
        sub = np.concatenate([np.arange(*boxes.ao_slices[a]) for a in box.ids])
        glob = sub if ao_map is None else np.asarray(ao_map)[sub]
        shift = np.repeat(box.shifts, np.diff(box.cols), axis=0)
        table.add(out, glob, shift, glob, shift, mat + mat.T)
    return out
