"""k-space loss against a brute-force numpy computation; gradients; near-singular S."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from test_loss_records import make_record
from test_spectra_bloch import loop_bloch

from nextham.loss.kspace import (
    kspace_loss,
    projected_terms,
    reference_states,
    rms_residual,
    sample_kpoints,
)
from nextham.record import keys as K
from nextham.record.layout import BlockLayout

KPTS = np.array([[0.1, 0.2, 0.0], [0.45, -0.3, 0.25]])


def brute_terms(h_pred_k, h_ref_k, s_k, fermi, window):
    """pp, qq, pq with scipy's generalized eigh and explicit loops."""
    acc = {"pp": [], "qq": [], "pq": [], "ghost": []}
    for hp, hr, s in zip(h_pred_k, h_ref_k, s_k):
        eps, c = scipy.linalg.eigh(hr, s)
        ht = c.conj().T @ hp @ c
        p = [a for a in range(len(eps)) if eps[a] < fermi + window]
        q = [a for a in range(len(eps)) if a not in p]
        sums = {"pp": 0.0, "qq": 0.0, "pq": 0.0}
        for name, rows, cols in (("pp", p, p), ("qq", q, q), ("pq", p, q)):
            for a in rows:
                for b in cols:
                    err = ht[a, b] - (eps[a] if a == b else 0.0)
                    sums[name] += abs(err) ** 2
        acc["pp"].append(sums["pp"] / len(p) if p else 0.0)
        acc["qq"].append(sums["qq"] / len(q) if q else 0.0)
        acc["pq"].append(sums["pq"] / len(p) if p else 0.0)
        fall = [max(0.0, fermi + window - ht[a, a].real) ** 2 for a in q]
        acc["ghost"].append(sum(fall) / len(q) if q else 0.0)
    return {k: float(np.mean(v)) for k, v in acc.items()}


def layout(rec):
    return BlockLayout.of(rec), KPTS


@pytest.mark.parametrize("spinor", [False, True])
def test_kspace_terms_match_brute_force(spinor):
    rec = make_record(11, spinor=spinor)
    got = kspace_loss(
        torch.as_tensor(rec[K.H0]),
        rec[K.HT],
        rec[K.S],
        *layout(rec),
        fermi_level=0.0,
        window=0.3,
    )
    s_k = loop_bloch(rec, K.S, KPTS)
    if spinor:
        s_k = np.stack([np.kron(np.eye(2), s) for s in s_k])
    want = brute_terms(loop_bloch(rec, K.H0, KPTS), loop_bloch(rec, K.HT, KPTS), s_k, 0.0, 0.3)
    for name in ("pp", "qq", "pq"):
        assert want[name] > 1e-3
        assert got[name].item() == pytest.approx(want[name], rel=1e-9)
    assert got["ghost"].item() == pytest.approx(want["ghost"], rel=1e-9, abs=1e-12)


def test_ghost_term_counts_only_states_pulled_into_the_window():
    """Lowering one high-energy reference state by Δ (H − Δ·S c c† S) gives exactly
    (E_F + window − ε + Δ)² / n_Q once it crosses E_F + window, and nothing before."""
    rng = np.random.default_rng(5)
    n = 6
    a = rng.standard_normal((n, n))
    s = a @ a.T + n * np.eye(n)
    h = rng.standard_normal((n, n))
    h = h + h.T
    eps, c = scipy.linalg.eigh(h, s)
    fermi, window = float(eps[1]), 0.5  # P: ε < eps[1] + 0.5
    st = reference_states(torch.as_tensor(h[None] + 0j), torch.as_tensor(s[None] + 0j))
    top = n - 1
    q = [i for i in range(n) if eps[i] >= fermi + window]
    sc = s @ c[:, top]
    for delta in (0.0, 0.5 * (eps[top] - fermi - window), eps[top] - fermi - window + 0.7):
        h_pred = torch.as_tensor((h - delta * np.outer(sc, sc))[None] + 0j)
        got = projected_terms(h_pred, st, fermi, window)["ghost"].item()
        want = max(0.0, fermi + window - eps[top] + delta) ** 2 / len(q)
        assert got == pytest.approx(want, abs=1e-10)
    assert want == pytest.approx(0.49 / len(q))


def test_exact_prediction_gives_zero():
    rec = make_record(12, spinor=True)
    got = kspace_loss(
        torch.as_tensor(rec[K.HT]),
        rec[K.HT],
        rec[K.S],
        *layout(rec),
        fermi_level=0.0,
    )
    assert max(v.item() for v in got.values()) < 1e-20


@pytest.mark.parametrize("spinor", [False, True])
def test_gradcheck_float64(spinor):
    rec = make_record(13, spinor=spinor, numbers=(1, 8))
    h0 = np.asarray(rec[K.H0])
    re = torch.tensor(h0.real.copy(), requires_grad=True)
    im = torch.tensor(h0.imag.copy(), requires_grad=True)

    def fn(re_, im_):
        pred = torch.complex(re_, im_) if spinor else re_
        t = kspace_loss(
            pred,
            rec[K.HT],
            rec[K.S],
            *layout(rec),
            fermi_level=0.0,
            window=0.3,
        )
        return t["pp"] + 2.0 * t["qq"] + 3.0 * t["pq"]

    inputs = (re, im) if spinor else (re,)
    call = fn if spinor else (lambda r: fn(r, im.detach()))
    assert torch.autograd.gradcheck(call, inputs, eps=1e-6, atol=1e-6)


def test_rms_residual_is_root_of_pp_plus_pq_with_a_gradient_of_fixed_size():
    """k_rms = √(pp + pq) (brute force); scaling the error by 100 scales the term by 100 and
    leaves the size of its gradient unchanged (the squared terms' grows 100-fold)."""
    rec = make_record(14, numbers=(1, 8))
    h0, ht = np.asarray(rec[K.H0]), np.asarray(rec[K.HT])
    s_k = loop_bloch(rec, K.S, KPTS)
    want = brute_terms(loop_bloch(rec, K.H0, KPTS), loop_bloch(rec, K.HT, KPTS), s_k, 0.0, 0.3)
    values, norms, sq_norms = [], [], []
    for scale in (1.0, 100.0):
        pred = torch.tensor(ht + scale * (h0 - ht), requires_grad=True)
        t = kspace_loss(pred, rec[K.HT], rec[K.S], *layout(rec), fermi_level=0.0, window=0.3)
        rms = rms_residual(t)
        values.append(rms.item())
        norms.append(torch.autograd.grad(rms, pred, retain_graph=True)[0].norm().item())
        sq_norms.append(torch.autograd.grad(t["pp"] + t["pq"], pred)[0].norm().item())
    assert values[0] == pytest.approx(np.sqrt(want["pp"] + want["pq"]), rel=1e-6)
    assert values[1] == pytest.approx(100.0 * values[0], rel=1e-6)
    assert norms[1] == pytest.approx(norms[0], rel=1e-6)
    assert sq_norms[1] == pytest.approx(100.0 * sq_norms[0], rel=1e-6)


def test_near_singular_overlap_is_regularized():
    rng = np.random.default_rng(3)
    m, n = 4, 5  # n basis functions spanning an m-dimensional space (+ a tiny extra part)
    b = rng.standard_normal((m, n))
    b = np.vstack([b, 1e-7 * rng.standard_normal((1, n))])  # smallest S eigenvalue ~1e-14
    h_small = rng.standard_normal((m + 1, m + 1))
    h_small = h_small + h_small.T
    s = b.T @ b
    h = b.T @ h_small @ b
    assert np.linalg.eigvalsh(s)[0] < 1e-12
    st = reference_states(torch.as_tensor(h[None] + 0j), torch.as_tensor(s[None] + 0j))
    assert st[0].vectors.shape == (n, m)
    c = st[0].vectors.numpy()
    np.testing.assert_allclose(c.conj().T @ s @ c, np.eye(m), atol=1e-8)
    h_pred = torch.tensor(h[None] + 0j, requires_grad=True)
    exact = projected_terms(h_pred, st, fermi_level=0.0, window=0.0)
    assert sum(v.item() for v in exact.values()) < 1e-16
    noisy = projected_terms(h_pred + 0.01, st, fermi_level=0.0, window=0.0)
    total = sum(noisy.values())
    total.backward()
    grad = torch.view_as_real(h_pred.grad)
    assert torch.isfinite(grad).all() and grad.abs().max() < 1e3
    assert 0.0 < total.item() < 1e3


def test_sample_kpoints_seeded_shifted_grid():
    mesh = (4, 3, 2)
    k1 = sample_kpoints(mesh, 5, torch.Generator().manual_seed(7))
    k2 = sample_kpoints(mesh, 5, torch.Generator().manual_seed(7))
    k3 = sample_kpoints(mesh, 5, torch.Generator().manual_seed(8))
    np.testing.assert_array_equal(k1, k2)
    assert not np.array_equal(k1, k3)
    assert k1.shape == (5, 3) and (k1 >= 0).all() and (k1 < 1).all()
    scaled = k1 * np.array(mesh)
    frac = scaled - np.floor(scaled)
    np.testing.assert_allclose(frac, np.broadcast_to(frac[0], frac.shape), atol=1e-12)
    assert len({tuple(np.floor(x)) for x in scaled}) == 5
    assert sample_kpoints(mesh, 100, torch.Generator().manual_seed(0)).shape == (24, 3)


def test_training_step_adds_k_rms_only_when_weighted():
    """The step computes the k-space terms when only ``k_rms`` is weighted and adds
    √(k_pp + k_pq); without the weight there is no such term."""
    from nextham.loss.total import LossWeights
    from nextham.train.config import KSpaceConfig
    from nextham.train.step import _structure_terms

    rec = make_record(15, numbers=(1, 8))
    rec[K.META] = {**rec.get(K.META, {}), "fermi_level": 0.0}
    pred = torch.as_tensor(np.asarray(rec[K.H0]) - np.asarray(rec[K.HT])) * 0.5
    target = torch.zeros_like(pred)
    kcfg = KSpaceConfig(n_k=1, mesh=(2, 2, 2), window=0.3)
    args = (kcfg, 0, 0, 1.0, False)
    with_rms = _structure_terms(rec, 0, pred, target, None, LossWeights(k_pp=0, k_qq=0, k_pq=0,
                                k_rms=1.0, tracegrad=0), *args)  # fmt: skip
    assert with_rms["k_rms"].item() == pytest.approx(
        np.sqrt(with_rms["k_pp"].item() + with_rms["k_pq"].item()), rel=1e-6
    )
    assert with_rms["k_rms"].item() > 1e-3
    without = _structure_terms(rec, 0, pred, target, None, LossWeights(k_rms=0.0), *args)
    assert "k_rms" not in without and "k_pp" in without
