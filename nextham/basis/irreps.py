"""Orbitals and orbital products as irreducible representations of O(3).

A real spherical-harmonic shell of angular momentum l spans the irrep ``l`` with parity
(−1)^l. The block H_ij between a shell l1 of atom i and a shell l2 of atom j transforms as
l1 ⊗ l2 = ⊕_{L=|l1−l2|}^{l1+l2} L, every L with parity (−1)^(l1+l2). A spin-1 (Pauli vector)
part transforms like an axial vector (1e), so coupling it to an orbital irrep L of parity p
gives ⊕_{J=|L−1|}^{L+1} J with the same parity p.
"""

from __future__ import annotations

from collections.abc import Sequence

from e3nn import o3


def orbital_irrep(l: int) -> o3.Irrep:
    """Irrep of a real spherical-harmonic shell: ``l`` with parity (−1)^l."""
    return o3.Irrep(l, (-1) ** l)


def shell_irreps(shell_ls: Sequence[int]) -> o3.Irreps:
    """Irreps of an atom's orbitals, one irrep per shell in basis order (not simplified)."""
    return o3.Irreps([(1, orbital_irrep(l)) for l in shell_ls])


def product_irreps(l1: int, l2: int) -> list[o3.Irrep]:
    """Irreps of an (l1, l2) block: L = |l1 − l2| … l1 + l2, parity (−1)^(l1 + l2)."""
    p = (-1) ** (l1 + l2)
    return [o3.Irrep(L, p) for L in range(abs(l1 - l2), l1 + l2 + 1)]


def spin_vector_irreps(ir: o3.Irrep) -> list[o3.Irrep]:
    """Irreps of an orbital irrep coupled with a spin-1 axial vector (1e): J = |L−1| … L+1."""
    return [o3.Irrep(j, ir.p) for j in range(abs(ir.l - 1), ir.l + 2)]
