"""DeepH and DeePTB layouts: round trip, key format and the stated orbital mapping."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from records import assert_records_equal, random_record

from nextham.formats import deeph, deeptb
from nextham.record import keys as K
from nextham.record.layout import iter_blocks


@pytest.mark.parametrize("fmt", [deeph, deeptb])
@pytest.mark.parametrize("spinor", [False, True])
def test_roundtrip(tmp_path, fmt, spinor):
    rec = random_record(spinor=spinor)
    fmt.write(rec, tmp_path / "x")
    assert_records_equal(rec, fmt.read(tmp_path / "x"))


def test_deeph_layout_and_mapping(tmp_path):
    rec = random_record(basis_ls={14: (0, 1, 2), 8: (0, 0, 1, 3)})
    deeph.write(rec, tmp_path)
    info = json.loads((tmp_path / "info.json").read_text())
    assert info == {"nsites": 2, "isorthogonal": False, "isspinful": False, "norbits": 9 + 12,
                    "fermi_level": 1.5, "occupation": 8.0}  # fmt: skip
    assert np.allclose(np.loadtxt(tmp_path / "lat.dat"), rec[K.CELL].T)
    assert (tmp_path / "orbital_types.dat").read_text() == "0 1 2\n0 0 1 3\n"
    with h5py.File(tmp_path / "hamiltonians.h5") as f:
        blk = f["[0, 0, 0, 1, 1]"][()]  # Si on-site, DeepH order
    ours = dict(iter_blocks(rec, K.HT))[(0, 0, 0, 0, 0)]
    # d shell (rows 4..8): nextham dxy,dyz,dz2,dxz,dx2-y2 → DeepH dz2,dx2-y2,dxy,dxz,dyz
    order = [4 + 2, 4 + 4, 4 + 0, 4 + 3, 4 + 1]
    assert np.allclose(blk[4:9, 4:9], ours[np.ix_(order, order)])
    assert np.allclose(blk[1:4, 1:4], ours[1:4, 1:4])  # p: x, y, z in both


def test_deeptb_layout_and_mapping(tmp_path):
    rec = random_record(basis_ls={14: (1, 0, 2), 8: (0,)}, numbers=(14, 8))
    deeptb.write(rec, tmp_path)
    assert (tmp_path / "basis.dat").read_text() == "1s1p1d\n1s\n"
    with h5py.File(tmp_path / "overlaps.h5") as f:
        blk = f["0"]["0_0_0_0_0"][()]
    ours = dict(iter_blocks(rec, K.S))[(0, 0, 0, 0, 0)]
    # nextham order p(x,y,z) s d → DeePTB s, p(y,z,x), d
    order = [3, 1, 2, 0, 4, 5, 6, 7, 8]
    assert np.allclose(blk, ours[np.ix_(order, order)])
