"""Block ↔ irreps through Clebsch–Gordan coefficients, in the padded orbital layout.

For a pair of shells (l1, l2) with coefficient block B (PySCF order), the coupled
components are

    c_L[M] = √(2L+1) Σ_{a,b} W^{l1 l2 L}[a, b, M] (U_{l1} B U_{l2}ᵀ)[a, b],

with W = ``e3nn.o3.wigner_3j`` and U the PySCF → e3nn matrices of
:mod:`nextham.conventions`. For each (l1, l2) the map B ↦ (c_L)_L is an orthogonal
(2l1+1)(2l2+1) square matrix, so the inverse is its transpose and the round trip is exact to
rounding. The spin-vector variant couples a further index k = x, y, z (e3nn's l = 1 order)
with each c_L into J = |L−1| … L+1 the same way.

Irreps order: one group per (l1, l2) in :meth:`OrbitalLayout.shell_pairs` order and L
ascending, multiplicity n1·n2 (padded shells of l1 times those of l2), channel index
``a·n2 + b`` for shell slots a (of l1) and b (of l2).
"""

from __future__ import annotations

import math

import torch
from e3nn import o3

from nextham.basis.irreps import product_irreps, spin_vector_irreps
from nextham.basis.layout import OrbitalLayout
from nextham.conventions import PYSCF_TO_E3NN


def coupling_matrix(l1: int, l2: int, from_pyscf: bool = True) -> torch.Tensor:
    """Orthogonal coupling tensor K of shape (2l1+1, 2l2+1, (2l1+1)(2l2+1)), float64.

    ``c = einsum('ab,abk->k', B, K)`` with c the concatenated c_L, L ascending. With
    ``from_pyscf`` the PySCF → e3nn change of basis is folded in.
    """
    w = torch.cat(
        [
            o3.wigner_3j(l1, l2, L, dtype=torch.float64) * math.sqrt(2 * L + 1)
            for L in range(abs(l1 - l2), l1 + l2 + 1)
        ],
        dim=-1,
    )
    if from_pyscf:
        u1 = torch.as_tensor(PYSCF_TO_E3NN[l1], dtype=torch.float64)
        u2 = torch.as_tensor(PYSCF_TO_E3NN[l2], dtype=torch.float64)
        w = torch.einsum("am,bn,abk->mnk", u1, u2, w)
    return w


def spin_coupling_matrix(L: int) -> torch.Tensor:
    """Orthogonal tensor of shape (2L+1, 3, 3(2L+1)) coupling L ⊗ 1 → J, J ascending."""
    return torch.cat(
        [
            o3.wigner_3j(L, 1, J, dtype=torch.float64) * math.sqrt(2 * J + 1)
            for J in range(abs(L - 1), L + 2)
        ],
        dim=-1,
    )


class BlockCoupling(torch.nn.Module):
    """Real (…, F, F) blocks in the padded layout ↔ real irreps vectors (…, F²).

    The coefficients are kept in float64 and cast to the data's dtype when used.

    Parameters
    ----------
    layout
        The padded orbital layout (defines F and the groups).
    """

    def __init__(self, layout: OrbitalLayout):
        super().__init__()
        self.layout = layout
        self.pairs = layout.shell_pairs()
        irreps = []
        for i, (l1, l2) in enumerate(self.pairs):
            n12 = layout.slots[l1] * layout.slots[l2]
            irreps += [(n12, ir) for ir in product_irreps(l1, l2)]
            self.register_buffer(f"k{i}", coupling_matrix(l1, l2).contiguous(), persistent=False)
        self.irreps_out = o3.Irreps(irreps)

    def _rows(self, l: int) -> slice:
        start = self.layout.offsets[l]
        return slice(start, start + self.layout.slots[l] * (2 * l + 1))

    def encode(self, block: torch.Tensor) -> torch.Tensor:
        """Blocks (…, F, F) → irreps (…, F²) in :attr:`irreps_out` order."""
        lead = block.shape[:-2]
        out = []
        for i, (l1, l2) in enumerate(self.pairs):
            n1, n2 = self.layout.slots[l1], self.layout.slots[l2]
            b = block[..., self._rows(l1), self._rows(l2)]
            b = b.reshape(*lead, n1, 2 * l1 + 1, n2, 2 * l2 + 1)
            c = torch.einsum("...xmyn,mnk->...xyk", b, getattr(self, f"k{i}").to(b.dtype))
            start = 0
            for ir in product_irreps(l1, l2):
                part = c[..., start : start + ir.dim]
                out.append(part.reshape(*lead, n1 * n2 * ir.dim))
                start += ir.dim
        return torch.cat(out, dim=-1)

    def decode(self, irreps: torch.Tensor) -> torch.Tensor:
        """Irreps (…, F²) → blocks (…, F, F); the exact inverse of :meth:`encode`."""
        lead = irreps.shape[:-1]
        f = self.layout.dim
        block = irreps.new_zeros(*lead, f, f)
        pos = 0
        for i, (l1, l2) in enumerate(self.pairs):
            n1, n2 = self.layout.slots[l1], self.layout.slots[l2]
            parts = []
            for ir in product_irreps(l1, l2):
                size = n1 * n2 * ir.dim
                parts.append(irreps[..., pos : pos + size].reshape(*lead, n1, n2, ir.dim))
                pos += size
            c = torch.cat(parts, dim=-1)
            b = torch.einsum("...xyk,mnk->...xmyn", c, getattr(self, f"k{i}").to(c.dtype))
            b = b.reshape(*lead, n1 * (2 * l1 + 1), n2 * (2 * l2 + 1))
            block[..., self._rows(l1), self._rows(l2)] = b
        return block


class SpinVectorCoupling(torch.nn.Module):
    """Couple an orbital irreps vector carrying a spin-1 index with that index.

    Input (…, 3, dim) with k = x, y, z; output (…, 3·dim) with every orbital irrep
    (mul, L, p) replaced by (mul, J, p) for J = |L−1| … L+1.

    Parameters
    ----------
    irreps_in
        The orbital irreps (e.g. :attr:`BlockCoupling.irreps_out`).
    """

    def __init__(self, irreps_in: o3.Irreps):
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        ls = sorted({ir.l for _, ir in self.irreps_in})
        self.ls = ls
        for L in ls:
            self.register_buffer(f"w{L}", spin_coupling_matrix(L).contiguous(), persistent=False)
        self.irreps_out = o3.Irreps(
            [(mul, j) for mul, ir in self.irreps_in for j in spin_vector_irreps(ir)]
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(…, 3, dim_in) → (…, 3·dim_in)."""
        lead = x.shape[:-2]
        out = []
        for (mul, ir), sl in zip(self.irreps_in, self.irreps_in.slices()):
            part = x[..., sl].reshape(*lead, 3, mul, ir.dim)
            w = getattr(self, f"w{ir.l}").to(part.dtype)
            out.append(torch.einsum("...kam,mkj->...aj", part, w))
            out[-1] = self._split(out[-1], ir, lead, mul)
        return torch.cat(out, dim=-1)

    @staticmethod
    def _split(c: torch.Tensor, ir: o3.Irrep, lead: tuple, mul: int) -> torch.Tensor:
        """(…, mul, 3(2L+1)) with J-blocks concatenated → J-major flat (…, 3·mul·(2L+1))."""
        parts, start = [], 0
        for j in spin_vector_irreps(ir):
            parts.append(c[..., start : start + j.dim].reshape(*lead, mul * j.dim))
            start += j.dim
        return torch.cat(parts, dim=-1)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """(…, 3·dim_in) → (…, 3, dim_in); the exact inverse of :meth:`encode`."""
        lead = y.shape[:-1]
        out, pos = [], 0
        for mul, ir in self.irreps_in:
            parts = []
            for j in spin_vector_irreps(ir):
                parts.append(y[..., pos : pos + mul * j.dim].reshape(*lead, mul, j.dim))
                pos += mul * j.dim
            c = torch.cat(parts, dim=-1)
            w = getattr(self, f"w{ir.l}").to(c.dtype)
            part = torch.einsum("...aj,mkj->...kam", c, w)
            out.append(part.reshape(*lead, 3, mul * ir.dim))
        return torch.cat(out, dim=-1)
