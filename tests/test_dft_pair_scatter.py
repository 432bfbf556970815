"""add_centre_blocks against the numpy path: image_pair_blocks, PairTable.find, np.add.at."""

from __future__ import annotations

import numpy as np

from nextham.dft.grid_pairs import SPAN, PairTable
from nextham.dft.pair_scatter import add_centre_blocks
from nextham.dft.projectors import image_pair_blocks
from nextham.record.layout import block_pointers


def _table(rng, natm: int, width: np.ndarray) -> PairTable:
    """Every pair (i, j, R) with R in {−1, 0, 1}³ but a random fifth left out."""
    grid = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    ii, jj, rr = np.meshgrid(np.arange(natm), np.arange(natm), np.arange(27), indexing="ij")
    keep = rng.random(ii.size) > 0.2
    ei = np.column_stack([ii.ravel(), jj.ravel()])[keep]
    cs = grid[rr.ravel()][keep]
    order = np.argsort(ei[:, 0], kind="stable")  # sorted by i, as records store them
    ei, cs = ei[order], cs[order]
    ends = np.cumsum(width)
    return PairTable(ei, cs, np.column_stack([ends - width, ends]), block_pointers(ei, width))


def test_centre_blocks_equal_the_numpy_path():
    rng = np.random.default_rng(0)
    width = np.array([1, 4, 4, 9, 1, 4])
    table = _table(rng, len(width), width)
    # images near one centre: atoms (one twice, in two cells), ordered by orbital count
    ids = np.array([0, 4, 1, 2, 5, 2, 3])
    shifts = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, -1], [0, 0, 0],
                       [1, 1, 0]])  # fmt: skip
    w = width[ids]
    cols = np.column_stack([np.cumsum(w) - w, np.cumsum(w)])
    a = rng.normal(size=(5, int(w.sum())))
    m = a.T @ a
    bound = np.array([1.0, 1e-3, 0.5, 1e-7, 0.2, 0.3, 1e-6])
    threshold = 1e-9
    got = np.zeros(int(table.ptr[-1]))
    add_centre_blocks(got, m, ids, shifts, cols, bound, threshold, table.keys, table.order,
                      table.row_start, table.ptr, table.natm, SPAN)  # fmt: skip
    want = np.zeros_like(got)
    hits = 0
    for i, j, shift, sub in image_pair_blocks((ids, shifts, cols, m, bound), width, threshold):
        hit, e = table.find(i, j, shift)
        at = table.ptr[e][:, None] + np.arange(sub[0].size)
        np.add.at(want, at, sub[hit].reshape(len(e), -1))
        hits += len(e)
    assert hits > 10 and np.count_nonzero(want) > 100
    np.testing.assert_array_equal(got, want)


def test_table_rows_start_where_each_atoms_pairs_do():
    rng = np.random.default_rng(1)
    table = _table(rng, 5, np.array([4, 1, 4, 9, 4]))
    first_atom = table.keys // (table.natm * SPAN**3)
    for i in range(table.natm):
        rows = first_atom[table.row_start[i] : table.row_start[i + 1]]
        assert len(rows) and np.all(rows == i)
    assert table.row_start[-1] == len(table.keys)
