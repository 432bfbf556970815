"""End to end: PySCF's S and H0 of a rotated crystal equal the kit's Wigner-rotated blocks.

Checks the orbital conventions and the test kit's rotation of blocks (d shells included)
against real integrals, independently of the model.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from nextham.record import keys as K
from nextham.testing import block_spans, random_orthogonal, rotate_blocks


def _by_pair(record: dict, flat: np.ndarray) -> dict[tuple, np.ndarray]:
    spans = block_spans(record, flat)
    return {
        (i, j, *map(int, shift)): flat[span]
        for (i, j, span, _), shift in zip(spans, record[K.CELL_SHIFT])
    }


@pytest.mark.slow
def test_engine_blocks_rotate_with_wigner_matrices():
    from nextham.dft.label import compute_record
    from nextham.dft.settings import EngineSettings

    settings = EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-2, basis="dzvp")
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions += np.random.default_rng(0).normal(0, 0.03, atoms.positions.shape)
    rot = random_orthogonal(3)
    turned = atoms.copy()
    turned.set_cell(atoms.cell.array @ rot.T, scale_atoms=False)
    turned.positions = atoms.positions @ rot.T
    ref, got = compute_record(atoms, settings), compute_record(turned, settings)
    assert 2 in ref[K.BASIS_LS][14], "the basis must have d shells"
    for key in (K.S, K.H0):
        expected = _by_pair(ref, rotate_blocks(ref, ref[key], rot))
        actual = _by_pair(got, got[key])
        common = set(expected) & set(actual)
        assert len(common) >= 0.8 * len(expected)
        err = max(np.abs(actual[k] - expected[k]).max() for k in common)
        assert err <= 1e-9 * np.abs(ref[key]).max()
