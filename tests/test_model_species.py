"""``species_descriptors``: period, group, electronegativity, radius per element, in the code."""

from __future__ import annotations

import numpy as np
import pytest
from model_kit import TOL, crystal, predictor, tiny_model

from nextham.model.species import period_group, species_descriptors
from nextham.testing import assert_equivariant


@pytest.mark.parametrize(
    ("z", "expected"),
    [(1, (1, 1)), (2, (1, 18)), (5, (2, 13)), (11, (3, 1)), (18, (3, 18)), (21, (4, 3)),
     (31, (4, 13)), (46, (5, 10)), (56, (6, 2)), (57, (6, 3)), (71, (6, 3)), (72, (6, 4)),
     (79, (6, 11)), (83, (6, 15)), (86, (6, 18))],
)  # fmt: skip
def test_period_and_group(z, expected):
    assert period_group(z) == expected


def test_descriptors_place_neighbours_of_the_table_near_each_other():
    d = species_descriptors((14, 32, 8, 83))  # Si, Ge, O, Bi
    assert d.shape == (4, 4) and np.all((d > 0) & (d <= 1.0))
    si, ge, o, bi = d
    assert np.linalg.norm(si - ge) < np.linalg.norm(si - o)
    assert np.linalg.norm(si - ge) < np.linalg.norm(si - bi)


def test_descriptors_keep_the_symmetries_and_change_delta():
    record = crystal(spinor=False)
    model = tiny_model(species_descriptors=True)
    assert_equivariant(predictor(model), record, TOL["float64"])
    plain = tiny_model()
    assert np.abs(predictor(model)(record) - predictor(plain)(record)).max() > 1e-6
