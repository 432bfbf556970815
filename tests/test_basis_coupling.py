"""Block ↔ irreps: exact round trip, isometry, equivariance (scalar and spinor)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nextham.basis import (
    BlockCoupling,
    OrbitalLayout,
    SpinorCoupling,
    pauli_compose,
    pauli_decompose,
    time_reverse,
)
from nextham.testing import (
    irreps_rotation,
    orbital_rotation,
    random_orthogonal,
    time_reverse_block,
)

BASIS = {8: (0, 0, 1, 1, 2), 83: (0, 1, 2, 3, 3), 1: (0, 1)}
TOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def _layout() -> OrbitalLayout:
    return OrbitalLayout(BASIS)


def _full_rotation(layout: OrbitalLayout, rot: np.ndarray, spinor: bool) -> np.ndarray:
    """Rotation of the padded orbitals (all slots used): one shell per slot, PySCF order."""
    ls = [l for l, n in enumerate(layout.slots) for _ in range(n)]
    return orbital_rotation(ls, rot, spinor)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scalar_round_trip_and_isometry(dtype):
    coupling = BlockCoupling(_layout())
    block = torch.randn(7, _layout().dim, _layout().dim, dtype=dtype)
    irreps = coupling.encode(block)
    assert irreps.shape == (7, coupling.irreps_out.dim) == (7, _layout().dim ** 2)
    scale = block.abs().max()
    assert (coupling.decode(irreps) - block).abs().max() <= TOL[dtype] * scale
    assert torch.allclose(irreps.norm(dim=-1), block.flatten(1).norm(dim=-1), rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spinor_round_trip(dtype):
    layout = _layout()
    coupling = SpinorCoupling(layout)
    cdtype = torch.complex64 if dtype == torch.float32 else torch.complex128
    block = torch.randn(5, 2, layout.dim, 2, layout.dim, dtype=cdtype)
    irreps = coupling.encode(block)
    assert irreps.dtype == dtype and irreps.shape[-1] == coupling.irreps_out.dim
    assert (coupling.decode(irreps) - block).abs().max() <= TOL[dtype] * block.abs().max()


@pytest.mark.parametrize("improper", [False, True])
def test_scalar_encode_is_equivariant(improper):
    layout = _layout()
    coupling = BlockCoupling(layout)
    rot = random_orthogonal(3, improper)
    d = _full_rotation(layout, rot, spinor=False)
    block = np.random.default_rng(0).normal(size=(layout.dim, layout.dim))
    lhs = coupling.encode(torch.as_tensor(d @ block @ d.T)).numpy()
    encoded = coupling.encode(torch.as_tensor(block)).numpy()
    rhs = irreps_rotation(coupling.irreps_out, rot) @ encoded
    np.testing.assert_allclose(lhs, rhs, atol=1e-11)


@pytest.mark.parametrize("improper", [False, True])
def test_spinor_encode_is_equivariant(improper):
    """(D ⊗ S) H (D ⊗ S)† ↦ real irreps rotated by the matching Wigner matrices (SU(2))."""
    layout = _layout()
    coupling = SpinorCoupling(layout)
    rot = random_orthogonal(4, improper)
    d = _full_rotation(layout, rot, spinor=True)
    rng = np.random.default_rng(1)
    f = layout.dim
    h = rng.normal(size=(2 * f, 2 * f)) + 1j * rng.normal(size=(2 * f, 2 * f))

    def enc(m: np.ndarray) -> np.ndarray:
        return coupling.encode(torch.as_tensor(m.reshape(2, f, 2, f))).numpy()

    rhs = irreps_rotation(coupling.irreps_out, rot) @ enc(h)
    np.testing.assert_allclose(enc(d @ h @ d.conj().T), rhs, atol=1e-11)


def test_pauli_and_time_reversal():
    rng = np.random.default_rng(2)
    h = rng.normal(size=(3, 4, 6)) + 1j * rng.normal(size=(3, 4, 6))
    h = torch.as_tensor(h).reshape(3, 2, 2, 2, 3)
    assert torch.allclose(pauli_compose(pauli_decompose(h)), h)
    dense = h.reshape(3, 4, 6).numpy()
    expected = np.stack([time_reverse_block(b) for b in dense])
    np.testing.assert_allclose(time_reverse(h).reshape(3, 4, 6).numpy(), expected, atol=1e-14)


def test_time_reversal_mask_selects_symmetric_part():
    layout = _layout()
    coupling = SpinorCoupling(layout)
    f = layout.dim
    h = torch.randn(2, 2, f, 2, f, dtype=torch.complex128)
    keep = coupling.time_reversal_mask()
    sym = 0.5 * (h + time_reverse(h))
    assert (coupling.encode(sym) * (1 - keep)).abs().max() < 1e-13
    assert (coupling.encode(h) * (1 - keep)).abs().max() > 0.1
    projected = coupling.decode(coupling.encode(h) * keep)
    assert torch.allclose(projected, sym, atol=1e-13)
