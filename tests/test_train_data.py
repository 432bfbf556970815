"""Output scales per kind of block, from the training records."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import crystal

from nextham.model.config import pair_scale_key
from nextham.record import keys as K
from nextham.record.layout import block_list
from nextham.train.data import pair_scales


@pytest.mark.parametrize("spinor", [False, True])
def test_pair_scales_are_the_rms_of_delta_h_per_kind(spinor):
    records = [crystal(spinor=spinor, seed=s) for s in (1, 2)]
    got = pair_scales(records, floor=0.0)
    sums: dict[str, list] = {}
    for rec in records:
        delta = {**rec, K.HT: np.asarray(rec[K.HT]) - np.asarray(rec[K.H0])}
        z, shift = rec[K.NUMBERS], rec[K.CELL_SHIFT]
        for e, ((i, j), block) in enumerate(zip(rec[K.EDGE_INDEX], block_list(delta, K.HT))):
            key = pair_scale_key(z[i], z[j], i == j and not np.any(shift[e]))
            sums.setdefault(key, []).extend(np.abs(block).ravel() ** 2)
    want = {k: float(np.sqrt(np.mean(v))) for k, v in sums.items()}
    assert set(got) == set(want) and "8" in got and "1-8" in got
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-12)
    floored = pair_scales(records, floor=10.0)
    assert all(v == 10.0 for v in floored.values())
