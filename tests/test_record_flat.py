"""flat_index against an entry-by-entry reference, on layouts with mixed block shapes."""

from __future__ import annotations

import numpy as np
import pytest

from nextham.record.flat import flat_index
from nextham.record.layout import BlockLayout, atom_offsets, block_pointers


def _layout(n_orb: list[int], spinor: bool, seed: int = 0) -> BlockLayout:
    rng = np.random.default_rng(seed)
    n = len(n_orb)
    edges = rng.integers(0, n, size=(23, 2))
    return BlockLayout(
        block_ptr=block_pointers(edges, np.array(n_orb)),
        edge_index=edges,
        cell_shift=rng.integers(-1, 2, size=(23, 3)),
        n_orb=np.array(n_orb, dtype=np.int64),
        spinor=spinor,
    )


def _reference(layout: BlockLayout) -> dict[str, list[int]]:
    """Every entry's indices by walking the blocks in order (spin-major spinor blocks)."""
    f, norb = layout.spin, layout.n_orb
    off, n_tot = atom_offsets(norb), int(norb.sum())
    out = {k: [] for k in ("edge", "row", "col", "spin", "dense_row", "dense_col")}
    for e, (i, j) in enumerate(layout.edge_index):
        for r in range(f * norb[i]):
            for c in range(f * norb[j]):
                sr, sc = divmod(r, norb[i])[0], divmod(c, norb[j])[0]
                out["edge"].append(e)
                out["row"].append(r)
                out["col"].append(c)
                out["spin"].append(2 * sr + sc)
                out["dense_row"].append(sr * n_tot + off[i] + r % norb[i])
                out["dense_col"].append(sc * n_tot + off[j] + c % norb[j])
    return out


@pytest.mark.parametrize("spinor", [False, True])
@pytest.mark.parametrize("n_orb", [[4, 4, 4], [1, 4, 9, 4, 13], [5]])
def test_flat_index_matches_entry_walk(n_orb, spinor):
    layout = _layout(n_orb, spinor)
    idx = flat_index(layout)
    for name, want in _reference(layout).items():
        np.testing.assert_array_equal(getattr(idx, name), want, err_msg=name)
    assert idx.n_dense == layout.spin * sum(n_orb)
    assert len(idx.edge) == layout.n_entries


def test_flat_index_refuses_wrong_pointers():
    layout = _layout([1, 4], False)
    bad = BlockLayout(layout.block_ptr + np.arange(len(layout.block_ptr)), layout.edge_index,
                      layout.cell_shift, layout.n_orb, False)  # fmt: skip
    with pytest.raises(ValueError, match="block_ptr"):
        flat_index(bad)
