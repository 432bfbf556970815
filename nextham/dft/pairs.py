"""Which atom pairs (i, j, R) are stored, and their overlap blocks computed directly in real space.

The overlap S_ij(R) = <φ_i(r) | φ_j(r − R)> is an analytic Gaussian integral, so it is computed
exactly (``pyscf.gto.intor_cross`` between the home cell and its periodic images) rather than by
Fourier transform. The same integrals decide which pairs are stored:

* default: every (i, j, R) with max |S_ij(R)| > ``overlap_threshold`` (``EngineSettings``),
  plus all self pairs (i, i, 0);
* with ``cutoff`` (Å): every pair with |r_j + R − r_i| ≤ cutoff.

Both rules are symmetric, so the partner (j, i, −R) of every stored pair is stored too.
"""

from __future__ import annotations

import math

import numpy as np
from pyscf import gto as molgto
from pyscf.pbc import gto as pbcgto

from nextham.conventions import BOHR_ANGSTROM
from nextham.dft.cell import atom_ao_slices


def _reach_bohr(cell: pbcgto.Cell, threshold: float) -> float:
    """Distance beyond which no two basis functions overlap more than ``threshold``.

    Two normalized s Gaussians of exponent α at distance d overlap exp(−α d²/2); the most
    diffuse exponent bounds all pairs (a factor 1.5 covers higher l and contraction tails).
    """
    alpha = min(float(np.min(cell.bas_exp(b))) for b in range(cell.nbas))
    return 1.5 * math.sqrt(2.0 * math.log(1.0 / threshold) / alpha)


def _image_counts(cell: pbcgto.Cell, reach_bohr: float) -> np.ndarray:
    """Number of images per direction (±) needed to hold all pairs within ``reach_bohr``."""
    a = cell.lattice_vectors()
    b = np.linalg.inv(a).T  # rows: reciprocal vectors / 2π
    spacing = 1.0 / np.linalg.norm(b, axis=1)  # distance between lattice planes
    return np.ceil(reach_bohr / spacing).astype(int) + 1


def image_shifts(nimg: np.ndarray) -> np.ndarray:
    """All integer R with |R_a| ≤ nimg[a], in ``cell_plus_imgs`` order, shape (N_R, 3)."""
    axes = [np.arange(-n, n + 1) for n in nimg]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def image_subcell(cell: pbcgto.Cell, atom_ids: np.ndarray, disp_bohr: np.ndarray):
    """Copy of ``cell`` holding only atom ``atom_ids[n]`` moved by ``disp_bohr[n]`` (Bohr), in
    that order, with the cell's contracted basis untouched (like PySCF's ``cell_plus_imgs``
    for a chosen set of image atoms). Returns a molecule-like object for ``intor_cross``."""
    sub = cell.copy(deep=False)
    coords = cell.atom_coords()[atom_ids] + disp_bohr
    atm = np.asarray(cell._atm)[atom_ids].copy()
    atm[:, molgto.PTR_COORD] = cell._env.size + 3 * np.arange(len(atom_ids))
    bas_rows = [np.flatnonzero(cell._bas[:, molgto.ATOM_OF] == a) for a in range(cell.natm)]
    owner = np.concatenate([np.full(len(bas_rows[a]), n) for n, a in enumerate(atom_ids)])
    bas = np.asarray(cell._bas)[np.concatenate([bas_rows[a] for a in atom_ids])].copy()
    bas[:, molgto.ATOM_OF] = owner
    sub._atm = np.asarray(atm, dtype=np.int32)
    sub._bas = np.asarray(bas, dtype=np.int32)
    sub._env = np.append(cell._env, coords.ravel())
    symbols = [cell.atom_symbol(a) for a in atom_ids]
    sub.atom = sub._atom = [(sym, tuple(xyz)) for sym, xyz in zip(symbols, coords)]
    return sub


def _candidates(cell: pbcgto.Cell, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (R, i, j) with |r_j + R − r_i| ≤ ``reach`` (Bohr), the only ones whose overlap
    can pass the threshold: (shifts (N_R, 3) searched, (3, P) rows of index into shifts, i, j)."""
    shifts = image_shifts(_image_counts(cell, reach))
    coords = cell.atom_coords()
    disp = coords[None, None] + (shifts @ cell.lattice_vectors())[:, None, None] - coords[:, None]
    r, i, j = np.nonzero(np.linalg.norm(disp, axis=-1) <= reach)
    return shifts, np.stack([r, i, j])


def select_pairs(
    cell: pbcgto.Cell, overlap_threshold: float = 1e-5, cutoff: float | None = None
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Choose stored pairs and return them with their overlap blocks.

    Only pairs within reach (the cutoff, or the distance beyond which no two basis functions
    overlap by the threshold) are integrated: the overlap of the home cell with just the image
    atoms that some home atom can reach.

    Returns
    -------
    edge_index : (E, 2) int64
    cell_shift : (E, 3) int64
    s_blocks : list of E arrays (n_i, n_j), dimensionless
    """
    reach = cutoff / BOHR_ANGSTROM if cutoff is not None else _reach_bohr(cell, overlap_threshold)
    shifts, (r, i, j) = _candidates(cell, reach)
    home = np.flatnonzero(~shifts.any(axis=1))[0]
    images, image_of = np.unique(np.stack([r, j], 1), axis=0, return_inverse=True)
    image_of = image_of.ravel()
    sub = image_subcell(cell, images[:, 1], shifts[images[:, 0]] @ cell.lattice_vectors())
    s = molgto.intor_cross("int1e_ovlp", cell, sub)  # (nao, nao of the image atoms)
    sl = atom_ao_slices(cell)
    width = sl[:, 1] - sl[:, 0]
    col0 = np.concatenate([[0], np.cumsum(width[images[:, 1]])])[:-1]  # image atom's first AO
    if cutoff is None:
        peak = np.maximum.reduceat(np.maximum.reduceat(np.abs(s), sl[:, 0], 0), col0, 1)
        keep = (peak[i, image_of] > overlap_threshold) | ((r == home) & (i == j))
    else:
        keep = np.ones(len(r), dtype=bool)  # self pairs are at distance 0
    r, i, j, image_of = r[keep], i[keep], j[keep], image_of[keep]
    order = np.lexsort((*shifts[r].T[::-1], j, i))
    r, i, j, image_of = r[order], i[order], j[order], image_of[order]
    blocks = [np.ascontiguousarray(s[sl[b, 0] : sl[b, 1], col0[n] : col0[n] + width[c]])
              for b, c, n in zip(i, j, image_of)]  # fmt: skip
    return np.stack([i, j], 1).astype(np.int64), shifts[r].astype(np.int64), blocks
