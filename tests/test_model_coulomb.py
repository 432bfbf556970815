"""``coulomb_cutoff``: learned charges, their Wolf-summed potential, c_Z,s φ_i in the shift."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from model_kit import BASIS, CELL, TOL, crystal, predictor, tiny_model

from nextham.basis import OrbitalLayout
from nextham.model.electrostatics import (
    COULOMB_EV_ANGSTROM,
    coulomb_pairs,
    neutral_charges,
    wolf_potential,
)
from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.testing import assert_equivariant

FCC = 0.5 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])


def _madelung(cell: np.ndarray, positions: np.ndarray, nearest: float) -> float:
    """Madelung constant at site 0 of a ±1 binary from the Wolf sum (9 Å, α 0.25)."""
    pairs, length = coulomb_pairs(positions, cell, 9.0)
    q = torch.tensor([1.0, -1.0], dtype=torch.float64)
    phi = wolf_potential(q, torch.as_tensor(pairs), torch.as_tensor(length), 9.0, 0.25)
    return -float(phi[0]) * nearest / COULOMB_EV_ANGSTROM


@pytest.mark.parametrize(
    "name, cell, frac_b, nearest, constant",
    [
        ("rocksalt", 5.64 * FCC, [0.5, 0.5, 0.5], 5.64 / 2, 1.747565),
        ("CsCl", 4.12 * np.eye(3), [0.5, 0.5, 0.5], 4.12 * np.sqrt(3) / 2, 1.762675),
        ("zincblende", 5.45 * FCC, [0.25, 0.25, 0.25], 5.45 * np.sqrt(3) / 4, 1.638055),
    ],
)
def test_the_wolf_sum_gives_the_madelung_constants(name, cell, frac_b, nearest, constant):
    positions = np.array([[0.0, 0.0, 0.0], np.asarray(frac_b) @ cell])
    assert _madelung(cell, positions, nearest) == pytest.approx(constant, rel=2e-3), name


def _images(pos: np.ndarray, cell: np.ndarray, cutoff: float) -> list[tuple[int, int, float]]:
    """(i, j, |r_j + R − r_i|) of every site pair within ``cutoff``, by brute force over
    lattice translations up to 4 cells (enough for 6 Å in :data:`CELL`)."""
    out = []
    for i, j in itertools.product(range(len(pos)), repeat=2):
        for r in itertools.product(range(-4, 5), repeat=3):
            d = float(np.linalg.norm(pos[j] + np.asarray(r) @ cell - pos[i]))
            if 1e-9 < d < cutoff:
                out.append((i, j, d))
    return out


def test_the_pairs_are_every_image_within_the_cutoff():
    pos = np.array([[0.0, 0.0, 0.0], [1.2, 0.7, 1.9], [2.5, 2.9, 0.4]])
    pairs, length = coulomb_pairs(pos, CELL, 6.0)
    want = sorted((i, j, round(d, 9)) for i, j, d in _images(pos, CELL, 6.0))
    got = sorted((int(i), int(j), round(float(d), 9)) for (i, j), d in zip(pairs, length))
    assert got == want


def test_charges_are_made_neutral_per_structure():
    q = torch.tensor([0.3, 0.5, -0.1, 2.0, 1.0])
    graph = torch.tensor([0, 0, 0, 1, 1])
    out = neutral_charges(q, graph, 2)
    np.testing.assert_allclose([out[:3].sum(), out[3:].sum()], [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[3:], [0.5, -0.5], atol=1e-6)


def _coulomb_model(spinor: bool = False):
    model = tiny_model(spinor=spinor, overlap_shift=True, coulomb_cutoff=6.0)
    with torch.no_grad():  # the coupling starts at zero: give the term a size to test
        model.coulomb_coupling.copy_(torch.randn(model.coulomb_coupling.shape) * 0.3)
    return model


@pytest.mark.parametrize("spinor", [False, True])
def test_the_coulomb_shift_keeps_every_symmetry(spinor):
    record = crystal(spinor=spinor, magnetic=False)
    assert_equivariant(predictor(_coulomb_model(spinor)), record, TOL["float64"])


def test_the_term_is_half_the_couplings_times_the_potential_in_the_overlap():
    """The difference to the same model with zero coupling equals ½(c_i φ_i + c_j φ_j) S per
    shell, φ computed here by a brute-force image sum of the model's neutral charges."""
    record = crystal()
    model = _coulomb_model()
    with torch.no_grad():
        out = model(model.make_batch([record]))
    q = out["charges"].numpy()
    assert abs(q.sum()) < 1e-10 and np.abs(q).max() > 1e-3
    pos, cell = np.asarray(record[K.POSITIONS]), np.asarray(record[K.CELL])
    phi, (rc, a) = np.zeros(len(q)), (6.0, 0.25)
    shift = math.erfc(a * rc) / rc
    for i, j, d in _images(pos, cell, rc):
        phi[i] += q[j] * (math.erfc(a * d) / d - shift)
    phi = COULOMB_EV_ANGSTROM * (phi - (shift + 2 * a / np.sqrt(np.pi)) * q)
    np.testing.assert_allclose(out["potential"].numpy(), phi, atol=1e-9)
    with_term = predictor(model)(record)
    coupling = model.coulomb_coupling.detach().clone()
    with torch.no_grad():
        model.coulomb_coupling.zero_()
    without = predictor(model)(record)
    layout = OrbitalLayout(BASIS)
    sp = layout.species_index(record[K.NUMBERS])
    base = np.concatenate([[0], np.cumsum(layout.slots)])
    per_orbital = []
    for a, z in enumerate(record[K.NUMBERS]):
        seen: dict[int, int] = {}
        slots = []
        for l in BASIS[int(z)]:  # PySCF order: shells of each l, 2l + 1 orbitals each
            slots += [base[l] + seen.get(l, 0)] * (2 * l + 1)
            seen[l] = seen.get(l, 0) + 1
        per_orbital.append(coupling[sp[a]].numpy()[slots] * phi[a])
    diff = dict(iter_blocks({**record, K.HT: with_term - without}, K.HT))
    for key, s in iter_blocks(record, K.S):
        i, j = key[:2]
        want = 0.5 * (per_orbital[i][:, None] + per_orbital[j][None, :]) * s
        np.testing.assert_allclose(diff[key], want, atol=1e-10, err_msg=str(key))


def test_the_option_needs_the_overlap_shift_and_survives_the_file(tmp_path):
    from nextham.model.files import load_model, save_model

    with pytest.raises(ValueError, match="overlap_shift"):
        tiny_model(coulomb_cutoff=6.0)
    model = _coulomb_model()
    save_model(model, tmp_path / "m.safetensors", {})
    again, _ = load_model(tmp_path / "m.safetensors")
    assert again.config.coulomb_cutoff == 6.0
    record = crystal()
    np.testing.assert_array_equal(predictor(again)(record), predictor(model)(record))
