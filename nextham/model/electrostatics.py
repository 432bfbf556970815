"""Long-range charge transfer: the electrostatic potential of learned atomic charges.

Charge transfer in an ionic crystal moves every level of an atom by the Madelung potential of
all the other atoms' charges, a 1/r sum that no finite message-passing range holds. The
model's ``coulomb_cutoff`` option predicts one charge per atom from its final node features,
makes each structure neutral, and sums the potential at every atom with the damped, shifted
pair kernel of Wolf et al. (J. Chem. Phys. 110, 8254 (1999)):

    φ_i = k_e [ Σ_{j, 0 < r_ij < R_c} q_j (erfc(α r_ij)/r_ij − erfc(α R_c)/R_c)
                − (erfc(α R_c)/R_c + 2α/√π) q_i ]

(k_e = e²/4πε₀ = :data:`COULOMB_EV_ANGSTROM`; φ in eV per unit charge, R_c in Å, α in Å⁻¹).
For a neutral structure it converges to the Ewald (Madelung) potential as R_c grows at fixed
α R_c, with linear cost in the number of pairs. The pairs within R_c are their own list,
independent of the basis's overlap range (:func:`coulomb_pairs`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from ase.neighborlist import primitive_neighbor_list

from nextham.model.layers import structure_mean

COULOMB_EV_ANGSTROM = 14.399645478425668
"""e²/(4πε₀) in eV·Å (CODATA 2018)."""


def coulomb_pairs(
    positions: np.ndarray, cell: np.ndarray, cutoff: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair of distinct sites (i, j + R) closer than ``cutoff`` (Å) in a
    periodic cell: ((P, 2) int64 atom indices, (P,) float64 lengths in Å)."""
    i, j, d = primitive_neighbor_list(
        "ijd", (True, True, True), np.asarray(cell, float), np.asarray(positions, float), cutoff
    )
    return np.stack([i, j], axis=1).astype(np.int64), d.astype(np.float64)


def neutral_charges(q: torch.Tensor, node_graph: torch.Tensor, num_graphs: int) -> torch.Tensor:
    """q (N,) minus the mean charge of each atom's structure: every structure neutral."""
    return q - structure_mean(q, node_graph, num_graphs)[node_graph]


def wolf_potential(
    q: torch.Tensor, pairs: torch.Tensor, length: torch.Tensor, cutoff: float, alpha: float
) -> torch.Tensor:
    """Electrostatic potential energy per unit charge at every atom (N,), eV, from the
    charges q (N,) (units of e) over ``pairs`` (P, 2) of ``length`` (P,) Å < ``cutoff``."""
    shift = math.erfc(alpha * cutoff) / cutoff
    kernel = torch.special.erfc(alpha * length) / length - shift
    phi = q.new_zeros(q.shape[0]).index_add(0, pairs[:, 0], kernel.to(q.dtype) * q[pairs[:, 1]])
    phi = phi - (shift + 2.0 * alpha / math.sqrt(math.pi)) * q
    return COULOMB_EV_ANGSTROM * phi
