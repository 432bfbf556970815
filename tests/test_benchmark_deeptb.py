"""The DeePTB-E3 baseline's data path (no ``dptb`` needed): export → DeePTB blocks → nextham
flat layout is the identity, either block orientation suffices, cutoffs cover every pair."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from records import random_record

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from suite import deeptb

from nextham.record import keys as K


def _blocks(folder: Path) -> dict[tuple, np.ndarray]:
    with h5py.File(folder / "hamiltonians.h5", "r") as f:
        return {tuple(int(x) for x in k.split("_")): f["0"][k][()] for k in f["0"]}


def test_export_then_to_flat_is_identity(tmp_path):
    recs = [random_record(seed=s) for s in (0, 1)]
    names = deeptb.export(recs, tmp_path / "root")
    assert names == ["set.0000", "set.0001"]
    info = json.loads((tmp_path / "root" / "set.0000" / "info.json").read_text())
    assert set(info) == {"nframes", "natoms", "pos_type", "pbc"}  # dptb's strict check
    assert not (tmp_path / "root" / "set.0000" / "h0.h5").exists()
    for name, rec in zip(names, recs, strict=True):
        flat, missing = deeptb.to_flat(rec, _blocks(tmp_path / "root" / name))
        assert missing == 0
        np.testing.assert_allclose(flat, rec[K.HT], atol=1e-12)


def test_to_flat_fills_the_partner_orientation_and_counts_missing(tmp_path):
    rec = random_record(seed=2)
    deeptb.export([rec], tmp_path)
    blocks = _blocks(tmp_path / "set.0000")
    one_side = {k: b for k, b in blocks.items() if (k[0], *k[2:]) <= (k[1], *(-np.array(k[2:])))}
    assert len(one_side) < len(blocks)
    flat, missing = deeptb.to_flat(rec, one_side)
    assert missing == 0
    np.testing.assert_allclose(flat, rec[K.HT], atol=1e-12)
    dropped = next(iter(one_side))
    partial = {k: b for k, b in one_side.items() if k != dropped}
    _, missing = deeptb.to_flat(rec, partial)
    assert missing == (1 if dropped[0] == dropped[1] and not any(dropped[2:]) else 2)


def test_cutoffs_cover_every_stored_pair():
    rec = random_record(seed=3)
    r_max = deeptb.cutoffs([rec], margin=0.2)
    d = deeptb.pair_lengths(rec)
    sym = {14: "Si", 8: "O"}
    z = rec[K.NUMBERS][rec[K.EDGE_INDEX]]
    need = np.array([0.5 * (r_max[sym[a]] + r_max[sym[b]]) for a, b in z])
    assert np.all(need >= d + 0.2 - 1e-9)  # dptb keeps an A–B pair within ½(r_A + r_B)


def test_basis_and_config_and_scalar_only():
    rec = random_record(basis_ls={14: (0, 1, 2), 8: (0, 0, 1)})
    basis = deeptb.dptb_basis([rec])
    assert basis == {"O": "2s1p", "Si": "1s1p1d"}
    cfg = deeptb.input_config(basis, {"O": 5.0, "Si": 6.0}, 10.0,
                              {"train": Path("t")}, 4, deeptb.DEFAULT_BUDGET)  # fmt: skip
    assert cfg["model_options"]["embedding"]["irreps_hidden"].endswith("x4e")  # 2 · l_max(d)
    with pytest.raises(ValueError, match="scalar records only"):
        deeptb.dptb_basis([random_record(spinor=True)])
