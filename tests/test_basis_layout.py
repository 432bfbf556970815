"""Padded orbital layout and orbital irreps."""

from __future__ import annotations

import numpy as np
import pytest
from e3nn import o3

from nextham.basis import OrbitalLayout, product_irreps, shell_irreps, spin_vector_irreps


def test_layout_slots_and_indices():
    layout = OrbitalLayout({8: (0, 0, 1, 1, 2), 1: (0, 1, 0)})
    assert layout.species == (1, 8)
    assert layout.slots == (2, 2, 1)
    assert layout.offsets == (0, 2, 8)
    assert layout.dim == 13
    # H: s, p, s -> s slot 0, p slot 0 (2..4), s slot 1
    np.testing.assert_array_equal(layout.orbital_index(1), [0, 2, 3, 4, 1])
    np.testing.assert_array_equal(layout.orbital_index(8), [0, 1, *range(2, 13)])
    np.testing.assert_array_equal(layout.index_table[0], [0, 2, 3, 4, 1, *[-1] * 8])
    np.testing.assert_array_equal(layout.species_index([8, 1, 8]), [1, 0, 1])


def test_layout_errors():
    with pytest.raises(ValueError, match="not in the layout"):
        OrbitalLayout({1: (0,)}).species_index([6])
    with pytest.raises(ValueError, match="l ≤ 3"):
        OrbitalLayout({1: (0, 4)})


def test_irreps_of_shells_and_products():
    assert shell_irreps((0, 1, 2, 3)) == o3.Irreps("0e+1o+2e+3o")
    for l1 in range(4):
        for l2 in range(4):
            irs = product_irreps(l1, l2)
            assert sum(ir.dim for ir in irs) == (2 * l1 + 1) * (2 * l2 + 1)
            assert {ir.p for ir in irs} == {(-1) ** (l1 + l2)}
    assert spin_vector_irreps(o3.Irrep("1o")) == [o3.Irrep(j, -1) for j in (0, 1, 2)]
    assert spin_vector_irreps(o3.Irrep("0e")) == [o3.Irrep("1e")]
