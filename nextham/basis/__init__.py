"""Orbital algebra: element bases as irreps, padded layout, block ↔ irreps, spinor blocks."""

from nextham.basis.coupling import BlockCoupling, SpinVectorCoupling, coupling_matrix
from nextham.basis.irreps import orbital_irrep, product_irreps, shell_irreps, spin_vector_irreps
from nextham.basis.layout import OrbitalLayout
from nextham.basis.spinor import (
    SpinorCoupling,
    dagger,
    pauli_compose,
    pauli_decompose,
    time_reverse,
)

__all__ = [
    "BlockCoupling",
    "OrbitalLayout",
    "SpinVectorCoupling",
    "SpinorCoupling",
    "coupling_matrix",
    "dagger",
    "orbital_irrep",
    "pauli_compose",
    "pauli_decompose",
    "product_irreps",
    "shell_irreps",
    "spin_vector_irreps",
    "time_reverse",
]
