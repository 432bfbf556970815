"""H0 of a large cell as real-space pair blocks, with no matrix of the whole cell anywhere.

The multigrid H0 (:mod:`nextham.dft.gridfock`) still passes through k-space: T and V_nl as
(nk, nao, nao) matrices at the transform mesh, the plain-FFT task at k, per-image whole-cell
matrices of the local potential. Here every term is built for the stored pairs only:

* T: analytic two-centre integrals for a chunk of home atoms at a time
  (:func:`nextham.dft.pairs.chunked_blocks`, ``int1e_kin``);
* V_nl: the GTH projectors in real space (:func:`nextham.dft.projectors.projector_blocks`);
* V_loc + V_H + V_xc of the SAD density: the per-atom SAD blocks (:func:`nextham.dft.sad.
  sad_blocks`), their density ρ(G) from one Fourier transform per element and the summed
  structure factors (:func:`nextham.dft.gridfock.superposition_density_g`), the potential on
  the multigrid mesh, integrated into the pairs by :mod:`nextham.dft.sparse_local`.

Memory ∝ pairs + grid points. The numbers are the multigrid H0's, without the folding of far
images that its k-space transform adds (``tests/test_dft_sparse_h0.py``).
"""

from __future__ import annotations

import numpy as np

from nextham.dft import gridfock, multigrid_tasks
from nextham.dft.cell import atom_ao_slices
from nextham.dft.grid_pairs import SPAN, PairTable
from nextham.dft.pairs import chunked_blocks
from nextham.dft.parallel import ALL, Share, summed
from nextham.dft.projectors import atom_channels, centre_contributions, centre_images
from nextham.dft.sad import sad_blocks
from nextham.dft.sparse_local import local_pair_blocks
from nextham.record.layout import block_pointers


def kinetic_blocks(
    cell, edge_index, cell_shift, ptr: np.ndarray, share: Share = ALL, out=None
) -> np.ndarray:
    """T_ij(R) of the pairs (sorted by i), flat as a record stores them, Hartree, added into
    ``out`` when given; ``share``: only that share of the home atoms."""
    out = np.zeros(int(ptr[-1])) if out is None else out
    for rows, blocks in chunked_blocks(cell, edge_index, cell_shift, "int1e_kin", share=share):
        for e, b in zip(rows, blocks):
            out[ptr[e] : ptr[e + 1]] += b.ravel()
    return out


def nonlocal_blocks(
    cell, table: PairTable, threshold: float = 1e-12, share: Share = ALL, out=None
) -> np.ndarray:
    """V_nl,ij(R) of the table's pairs, flat, Hartree: each projector centre's image pairs
    (:func:`nextham.dft.projectors.centre_contributions`) added straight into the blocks
    (:func:`nextham.dft.pair_scatter.add_centre_blocks`, compiled), so memory stays ∝ pairs
    (pairs the projectors miss stay 0; those beyond the table are left out). Same terms and
    bound (``threshold``) as :func:`~nextham.dft.projectors.projector_blocks`. Added into
    ``out`` when given; ``share``: only that share of the centres."""
    from nextham.dft.pair_scatter import add_centre_blocks  # deferred: numba, large cells only

    out = np.zeros(int(table.ptr[-1])) if out is None else out
    images = centre_images(cell)
    for c in share.of(range(cell.natm)):
        channels = atom_channels(cell, cell.atom_symbol(c), soc=False)
        if not channels:
            continue
        ids, shifts, cols, m, bound = centre_contributions(cell, c, channels, "scalar", images)
        add_centre_blocks(
            out, np.ascontiguousarray(m), ids, np.asarray(shifts, np.int64), cols, bound,
            threshold, table.keys, table.order, table.row_start, table.ptr, table.natm, SPAN,
        )  # fmt: skip
    return out


def sparse_h0(
    cell, xc: str, kpts: np.ndarray, edge_index, cell_shift, workers: int = 1
) -> np.ndarray:
    """H0 blocks (Hartree) of the pairs ``edge_index``/``cell_shift`` (sorted by i), flat as a
    record stores them; the SAD density on the k-mesh ``kpts`` (absolute, 1/Bohr).
    Needs a cell :func:`nextham.dft.gridfock.applies` to. ``workers``: processes that share
    the pair terms (:func:`nextham.dft.parallel.summed`)."""
    sl = atom_ao_slices(cell)
    ptr = block_pointers(edge_index, sl[:, 1] - sl[:, 0])
    table = PairTable(edge_index, cell_shift, sl, ptr)
    blocks = sad_blocks(cell, kpts, gridfock.bvk_shifts(cell, kpts))
    ni = multigrid_tasks.numint_for(cell)
    v_g = gridfock.local_potential_g(ni, cell, xc, None, kpts, blocks=blocks)

    def job(share: Share, out: np.ndarray) -> None:
        local_pair_blocks(ni, cell, v_g, table, share=share, out=out)
        kinetic_blocks(cell, edge_index, cell_shift, ptr, share, out)
        nonlocal_blocks(cell, table, share=share, out=out)

    return summed(job, int(ptr[-1]), workers)
