"""Spinor blocks as real irreps: Pauli decomposition, time reversal and hermitian partners.

A spinor block (spin-major, see :mod:`nextham.conventions`) is written

    H = Σ_{s=0}^{3} H_s ⊗ σ_s,        H_s = ½ Σ_{στ} (σ_s)_{τσ} H^{στ},

with σ_0 = 1 and the Pauli matrices σ_x, σ_y, σ_z. A rotation R acts on spinor orbitals as
D(R) ⊗ U(R) with U ∈ SU(2); since U σ_k U† = Σ_l R_lk σ_l, the components H_x, H_y, H_z
form an axial vector (irrep 1e: spin is even under inversion) and H_0 a scalar (0e). Each
H_s is complex; since rotations and inversion act by real matrices, Re H_s and Im H_s
transform alike and are encoded as separate real irreps of the same type.

Irreps order of :class:`SpinorCoupling`: [Re H_0, Im H_0] with the orbital irreps of
:class:`~nextham.basis.coupling.BlockCoupling`, then [Re H_vec, Im H_vec] with those irreps
coupled to the spin vector (:class:`~nextham.basis.coupling.SpinVectorCoupling`).

Time reversal
-------------
Θ = iσ_y K (K: complex conjugation; orbitals are real) maps H to
Θ H Θ⁻¹ = H_0* ⊗ σ_0 − Σ_k H_k* ⊗ σ_k. H is time-reversal symmetric iff H_0 is real and
H_x, H_y, H_z are imaginary, i.e. iff the Im H_0 and Re H_vec irreps vanish;
:meth:`SpinorCoupling.time_reversal_mask` marks the components that survive.
"""

from __future__ import annotations

import torch

from nextham.basis.coupling import BlockCoupling, SpinVectorCoupling
from nextham.basis.layout import OrbitalLayout


def pauli_matrices(dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    """σ_0, σ_x, σ_y, σ_z stacked, shape (4, 2, 2)."""
    return torch.tensor(
        [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
        dtype=dtype,
    )


def pauli_decompose(block: torch.Tensor) -> torch.Tensor:
    """Spinor blocks (…, 2, n, 2, m) complex → Pauli components H_s (…, 4, n, m)."""
    p = pauli_matrices(block.dtype).to(block.device)
    return 0.5 * torch.einsum("zts,...satb->...zab", p, block)


def pauli_compose(components: torch.Tensor) -> torch.Tensor:
    """Pauli components (…, 4, n, m) complex → spinor blocks (…, 2, n, 2, m)."""
    p = pauli_matrices(components.dtype).to(components.device)
    return torch.einsum("zst,...zab->...satb", p, components)


def time_reverse(block: torch.Tensor) -> torch.Tensor:
    """Θ H Θ⁻¹ of spinor blocks (…, 2, n, 2, m), Θ = iσ_y K."""
    sy = pauli_matrices(block.dtype)[2].to(block.device)
    return torch.einsum("st,...taub,uv->...savb", sy, block.conj(), sy)


def dagger(block: torch.Tensor, spinor: bool) -> torch.Tensor:
    """Conjugate transpose of blocks: (…, F, F) real or (…, 2, F, 2, F) complex."""
    if spinor:
        return block.conj().permute(*range(block.dim() - 4), -2, -1, -4, -3)
    return block.transpose(-1, -2)


class SpinorCoupling(torch.nn.Module):
    """Complex spinor blocks (…, 2, F, 2, F) ↔ real irreps (…, 8 F²).

    Parameters
    ----------
    layout
        The padded orbital layout.
    """

    def __init__(self, layout: OrbitalLayout):
        super().__init__()
        self.orbital = BlockCoupling(layout)
        self.spin = SpinVectorCoupling(self.orbital.irreps_out)
        scal, vec = self.orbital.irreps_out, self.spin.irreps_out
        self.irreps_out = scal + scal + vec + vec
        self.n_scalar, self.n_vector = scal.dim, vec.dim
        keep = torch.cat(
            [
                torch.ones(scal.dim),
                torch.zeros(scal.dim),
                torch.zeros(vec.dim),
                torch.ones(vec.dim),
            ]
        )
        self.register_buffer("tr_keep", keep.to(torch.float64), persistent=False)

    def time_reversal_mask(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """(8 F²,) with 1 on the components of a time-reversal-symmetric H (Re H_0, Im H_vec)."""
        return self.tr_keep if dtype is None else self.tr_keep.to(dtype)

    def encode(self, block: torch.Tensor) -> torch.Tensor:
        """Complex spinor blocks (…, 2, F, 2, F) → real irreps (…, 8 F²)."""
        h = pauli_decompose(block)
        enc = self.orbital.encode
        return torch.cat(
            [
                enc(h[..., 0, :, :].real),
                enc(h[..., 0, :, :].imag),
                self.spin.encode(enc(h[..., 1:, :, :].real)),
                self.spin.encode(enc(h[..., 1:, :, :].imag)),
            ],
            dim=-1,
        )

    def decode(self, irreps: torch.Tensor) -> torch.Tensor:
        """Real irreps (…, 8 F²) → complex spinor blocks (…, 2, F, 2, F)."""
        a, b = self.n_scalar, self.n_vector
        re0, im0, re1, im1 = torch.split(irreps, [a, a, b, b], dim=-1)
        dec = self.orbital.decode
        h0 = torch.complex(dec(re0), dec(im0)).unsqueeze(-3)
        h1 = torch.complex(dec(self.spin.decode(re1)), dec(self.spin.decode(im1)))
        return pauli_compose(torch.cat([h0, h1], dim=-3))
