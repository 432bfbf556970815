"""Bloch sums against explicit loops; Hermiticity; spinor overlap; layout checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from test_loss_records import blocks_of, make_record

from nextham.record import keys as K
from nextham.record.flat import flat_index, spin_diagonal_flat
from nextham.record.layout import BlockLayout, orbital_counts
from nextham.spectra.bloch import bloch_sum, record_bloch

KPTS = np.array([[0.0, 0.0, 0.0], [0.13, -0.27, 0.4], [0.5, 0.5, 0.0]])


def loop_bloch(record, key, kpts):
    """Dense H(k) by explicit loops; spinor rows are global spin-major."""
    norb = orbital_counts(record)
    off = np.concatenate([[0], np.cumsum(norb)])
    n = int(norb.sum())
    spinor = bool(record[K.SPINOR]) and key != K.S
    f = 2 if spinor else 1
    out = np.zeros((len(kpts), f * n, f * n), dtype=complex)
    blocks = blocks_of(record, key)
    for q, k in enumerate(kpts):
        for e, (i, j) in enumerate(record[K.EDGE_INDEX]):
            phase = np.exp(2j * np.pi * np.dot(k, record[K.CELL_SHIFT][e]))
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
    got = record_bloch(rec, K.HT, KPTS).numpy()
    want = loop_bloch(rec, K.HT, KPTS)
    np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(got, got.conj().transpose(0, 2, 1), atol=1e-12)
    assert got.shape == (3, 10 if spinor else 5, 10 if spinor else 5)


def test_spinor_overlap_two_routes_agree():
    rec = make_record(2, spinor=True)
    s_sp = spin_diagonal_flat(rec[K.S], BlockLayout.of(rec, K.S))
    assert s_sp.shape == rec[K.HT].shape
    via_flat = bloch_sum(s_sp, BlockLayout.of(rec), KPTS)
    via_kron = record_bloch(rec, K.S, KPTS)
    np.testing.assert_allclose(via_flat.numpy(), via_kron.numpy(), atol=1e-12)
    scalar = loop_bloch(rec, K.S, KPTS)
    np.testing.assert_allclose(via_kron.numpy()[:, 5:, 5:], scalar, atol=1e-12)
    np.testing.assert_allclose(via_kron.numpy()[:, :5, 5:], 0.0)


def test_bloch_sum_dtype_and_gradient():
    rec = make_record(4)
    vals = torch.tensor(rec[K.HT], dtype=torch.float32, requires_grad=True)
    hk = record_bloch(rec, K.HT, KPTS, values=vals)
    assert hk.dtype == torch.complex64
    hk.abs().square().sum().backward()
    assert torch.isfinite(vals.grad).all() and vals.grad.abs().sum() > 0


def test_flat_index_rejects_inconsistent_pointer():
    rec = make_record(0)
    ptr = rec[K.BLOCK_PTR].copy()
    ptr[1] += 1
    with pytest.raises(ValueError, match="block_ptr"):
        flat_index(dataclasses.replace(BlockLayout.of(rec), block_ptr=ptr))
