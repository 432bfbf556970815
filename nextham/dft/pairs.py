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
from pyscf.pbc.tools import pbc as pbctools

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


def overlap_images(cell: pbcgto.Cell, nimg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S between the home cell and every image: returns (shifts (N_R, 3), S (N_R, nao, nao))."""
    shifts = image_shifts(nimg)
    sup = pbctools.cell_plus_imgs(cell, nimg)
    s = molgto.intor_cross("int1e_ovlp", cell, sup)
    nao = cell.nao_nr()
    return shifts, s.reshape(nao, len(shifts), nao).transpose(1, 0, 2)


def select_pairs(
    cell: pbcgto.Cell, overlap_threshold: float = 1e-5, cutoff: float | None = None
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Choose stored pairs and return them with their overlap blocks.

    Returns
    -------
    edge_index : (E, 2) int64
    cell_shift : (E, 3) int64
    s_blocks : list of E arrays (n_i, n_j), dimensionless
    """
    reach = cutoff / BOHR_ANGSTROM if cutoff is not None else _reach_bohr(cell, overlap_threshold)
    shifts, s = overlap_images(cell, _image_counts(cell, reach))
    sl = atom_ao_slices(cell)
    coords = cell.atom_coords()  # Bohr
    disp = coords[None, None] + (shifts @ cell.lattice_vectors())[:, None, None] - coords[:, None]
    if cutoff is not None:
        keep = np.linalg.norm(disp, axis=-1) * BOHR_ANGSTROM <= cutoff  # (N_R, natm, natm)
    else:
        starts = sl[:, 0]  # atoms' AO ranges are contiguous and in order
        peak = np.maximum.reduceat(np.maximum.reduceat(np.abs(s), starts, axis=1), starts, axis=2)
        keep = peak > overlap_threshold
    home = np.flatnonzero(~shifts.any(axis=1))[0]
    keep[home, np.arange(cell.natm), np.arange(cell.natm)] = True  # self pairs always
    r, i, j = np.nonzero(keep)
    order = np.lexsort((*shifts[r].T[::-1], j, i))
    r, i, j = r[order], i[order], j[order]
    blocks = [np.ascontiguousarray(s[a, sl[b, 0] : sl[b, 1], sl[c, 0] : sl[c, 1]])
              for a, b, c in zip(r, i, j)]  # fmt: skip
    return np.stack([i, j], 1).astype(np.int64), shifts[r].astype(np.int64), blocks
