"""``max_pair_length``: longer pairs keep H0 and skip the network; the others are unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import TOL, crystal, predictor, tiny_model

from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.testing import assert_equivariant


def _lengths(record: dict) -> dict:
    """Pair length (Å) of each block key."""
    pos, cell = record[K.POSITIONS], record[K.CELL]
    out = {}
    for key, _ in iter_blocks(record, K.S):
        i, j, shift = key[0], key[1], np.asarray(key[2:])
        out[key] = float(np.linalg.norm(pos[j] + shift @ cell - pos[i]))
    return out


@pytest.mark.parametrize("spinor", [False, True])
def test_longer_pairs_get_zero_and_the_others_are_unchanged(spinor):
    record = crystal(spinor=spinor, magnetic=False)
    options = dict(spinor=spinor, cutoff=2.0, pair_scales={"8": 3.0, "1": 0.5})
    full = predictor(tiny_model(**options))(record)
    limited = predictor(tiny_model(max_pair_length=2.5, **options))(record)
    lengths = _lengths(record)
    blocks_full = dict(iter_blocks({**record, K.HT: full}, K.HT))
    blocks_limited = dict(iter_blocks({**record, K.HT: limited}, K.HT))
    far = [k for k, r in lengths.items() if r > 2.5]
    assert far and len(far) < len(lengths)
    for key, r in lengths.items():
        if r > 2.5:
            assert np.abs(blocks_full[key]).max() > 1e-8
            assert np.abs(blocks_limited[key]).max() == 0
        else:
            np.testing.assert_allclose(blocks_limited[key], blocks_full[key], atol=1e-12)


@pytest.mark.parametrize("spinor", [False, True])
def test_symmetries_hold(spinor):
    record = crystal(spinor=spinor, magnetic=False)
    model = tiny_model(spinor=spinor, cutoff=2.0, max_pair_length=2.5, overlap_shift=True)
    assert_equivariant(predictor(model), record, TOL["float64"])


def test_shorter_than_the_message_cutoff_is_refused():
    with pytest.raises(ValueError, match="at least the message cutoff"):
        tiny_model(cutoff=3.0, max_pair_length=2.5)
