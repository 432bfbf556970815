"""Bloch sums against explicit loops; Hermiticity; spinor overlap; layout checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_loss_records import blocks_of, make_record

from nextham.loss.bloch import bloch_sum, record_bloch
from nextham.loss.layout import flat_index, record_orbitals, spinor_overlap_flat
from nextham.store import schema

KPTS = np.array([[0.0, 0.0, 0.0], [0.13, -0.27, 0.4], [0.5, 0.5, 0.0]])


def loop_bloch(record, key, kpts):
    """Dense H(k) by explicit loops; spinor rows are global spin-major."""
    norb = record_orbitals(record)
    off = np.concatenate([[0], np.cumsum(norb)])
    n = int(norb.sum())
    spinor = bool(record[schema.SPINOR]) and key != schema.S
    f = 2 if spinor else 1
    out = np.zeros((len(kpts), f * n, f * n), dtype=complex)
    blocks = blocks_of(record, key)
    for q, k in enumerate(kpts):
        for e, (i, j) in enumerate(record[schema.EDGE_INDEX]):
            phase = np.exp(2j * np.pi * np.dot(k, record[schema.CELL_SHIFT][e]))
            b = blocks[e]
            for a in range(b.shape[0]):
                for c in range(b.shape[1]):
                    sa, oa = divmod(a, norb[i])
                    sc, oc = divmod(c, norb[j])
                    out[q, sa * n + off[i] + oa, sc * n + off[j] + oc] += phase * b[a, c]
    return out


@pytest.mark.parametrize("spinor", [False, True])
def test_bloch_sum_matches_loops_and_is_hermitian(spinor):
    rec = make_record(1, spinor=spinor)
    got = record_bloch(rec, schema.HT, KPTS).numpy()
    want = loop_bloch(rec, schema.HT, KPTS)
    np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(got, got.conj().transpose(0, 2, 1), atol=1e-12)
    assert got.shape == (3, 10 if spinor else 5, 10 if spinor else 5)


def test_spinor_overlap_two_routes_agree():
    rec = make_record(2, spinor=True)
    s_sp = spinor_overlap_flat(
        rec[schema.S], rec[schema.BLOCK_PTR], rec[schema.EDGE_INDEX], record_orbitals(rec)
    )
    assert s_sp.shape == rec[schema.HT].shape
    via_flat = bloch_sum(
        s_sp,
        rec[schema.BLOCK_PTR],
        rec[schema.EDGE_INDEX],
        rec[schema.CELL_SHIFT],
        record_orbitals(rec),
        KPTS,
        spinor=True,
    )
    via_kron = record_bloch(rec, schema.S, KPTS)
    np.testing.assert_allclose(via_flat.numpy(), via_kron.numpy(), atol=1e-12)
    scalar = loop_bloch(rec, schema.S, KPTS)
    np.testing.assert_allclose(via_kron.numpy()[:, 5:, 5:], scalar, atol=1e-12)
    np.testing.assert_allclose(via_kron.numpy()[:, :5, 5:], 0.0)


def test_bloch_sum_dtype_and_gradient():
    rec = make_record(4)
    vals = torch.tensor(rec[schema.HT], dtype=torch.float32, requires_grad=True)
    hk = record_bloch(rec, schema.HT, KPTS, values=vals)
    assert hk.dtype == torch.complex64
    hk.abs().square().sum().backward()
    assert torch.isfinite(vals.grad).all() and vals.grad.abs().sum() > 0


def test_flat_index_rejects_inconsistent_pointer():
    rec = make_record(0)
    ptr = rec[schema.BLOCK_PTR].copy()
    ptr[1] += 1
    with pytest.raises(ValueError, match="block_ptr"):
        flat_index(ptr, rec[schema.EDGE_INDEX], record_orbitals(rec), spinor=False)
