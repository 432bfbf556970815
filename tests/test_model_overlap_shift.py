"""``overlap_shift``: ΔH gains ½(v_i,s + v_j,s') S_ij(R), per-atom per-shell invariants v."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_kit import BASIS, TOL, crystal, predictor, tiny_model

from nextham.basis import OrbitalLayout
from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.testing import assert_equivariant


@pytest.mark.parametrize("spinor", [False, True])
def test_overlap_shift_keeps_every_symmetry(spinor):
    record = crystal(spinor=spinor, magnetic=False)
    model = tiny_model(spinor=spinor, overlap_shift=True, pair_scales={"8": 3.0, "1": 0.5})
    assert_equivariant(predictor(model), record, TOL["float64"])


def _shells(z: int) -> list[tuple[int, int]]:
    """(l, k-th shell of that l) of each orbital of element ``z`` (PySCF order)."""
    seen: dict[int, int] = {}
    out = []
    for l in BASIS[z]:
        out += [(l, seen.get(l, 0))] * (2 * l + 1)
        seen[l] = seen.get(l, 0) + 1
    return out


@pytest.mark.parametrize("spinor", [False, True])
def test_the_shift_is_half_the_sum_of_both_atoms_shell_values_times_s(spinor):
    """The difference to the same model without the shift, block by block, equals
    ½(v_i + v_j) S computed here from the record's S and the captured v (and is spin-diagonal)."""
    record = crystal(spinor=spinor, magnetic=False)
    scales = {"8": 3.0, "83": 0.2}
    model = tiny_model(spinor=spinor, overlap_shift=True, delta_scale=2.0, pair_scales=scales)
    captured = {}
    model.nets[0].shift.register_forward_hook(lambda m, a, out: captured.update(v=out))
    with_shift = predictor(model)(record)
    v = captured["v"].detach().numpy()
    head, model.nets[0].shift = model.nets[0].shift, None
    without = predictor(model)(record)
    model.nets[0].shift = head
    layout = OrbitalLayout(BASIS)
    slot_base = np.concatenate([[0], np.cumsum(layout.slots)])
    z = record[K.NUMBERS]
    per_orbital = []
    for a, za in enumerate(z):
        scale = scales.get(str(int(za)), 2.0)
        per_orbital.append(np.array([v[a, slot_base[l] + k] * scale for l, k in _shells(za)]))
    diff = {key: b for key, b in iter_blocks({**record, K.HT: with_shift - without}, K.HT)}
    assert max(np.abs(b).max() for b in diff.values()) > 1e-6
    for key, s in iter_blocks(record, K.S):
        i, j = key[:2]
        want = 0.5 * (per_orbital[i][:, None] + per_orbital[j][None, :]) * s
        if spinor:
            want = np.kron(np.eye(2), want)  # spin-major blocks: (2 n_i, 2 n_j)
        np.testing.assert_allclose(diff[key], want, atol=1e-10, err_msg=str(key))


def test_overlap_shift_needs_one_network_and_s():
    with pytest.raises(ValueError, match="single network"):
        tiny_model(overlap_shift=True, ensemble_bounds=[0.0, 2.5])
    model = tiny_model(overlap_shift=True)
    record = {k: v for k, v in crystal().items() if k != K.S}
    with pytest.raises(ValueError, match="no overlap S"):
        model.make_batch([record])


def test_models_without_the_option_do_not_read_s():
    model = tiny_model()
    record = {k: v for k, v in crystal().items() if k != K.S}
    with torch.no_grad():
        out = model(model.make_batch([record]))["delta_flat"]
    assert torch.isfinite(out).all()


def test_a_model_file_keeps_the_shift(tmp_path):
    from nextham.model.files import load_model, save_model

    model = tiny_model(overlap_shift=True, dtype="float64")
    save_model(model, tmp_path / "m.safetensors", {})
    again, _ = load_model(tmp_path / "m.safetensors")
    assert again.config.overlap_shift and again.nets[0].shift is not None
    record = crystal()
    np.testing.assert_array_equal(predictor(again)(record), predictor(model)(record))
