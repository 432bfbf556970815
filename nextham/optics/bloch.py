"""Dense H(k), S(k) and their k-derivatives from a record, in the atomic (bond-vector) gauge.

The phase of block (i, j, R) is e^{i k·d} with d = R·cell + τ_j − τ_i the bond vector, not
the lattice vector alone: the eigenvalues are the same, but k-derivatives then carry the
tight-binding position operator r = τ_i (the convention under which velocities, and hence
optical spectra, do not depend on the choice of unit cell). k is Cartesian in 1/Å (with 2π);
derivatives are ∂/∂k_a, a = x, y, z, in eV·Å.

When the record stores the position matrix (``K.R_MATRIX``), :meth:`DenseBloch.position` gives
its Bloch sum in the same gauge, r(k) = Σ_R e^{ik·d} <φ_i0| r − τ_i |φ_jR> (Å): the position
measured from atom i, so that the Berry connection is that of the atomic gauge.
"""

from __future__ import annotations

import numpy as np

from nextham.record import keys as K
from nextham.record.geometry import bond_vectors
from nextham.record.layout import atom_offsets, block_list, orbital_counts, position_blocks


class DenseBloch:
    """Precomputed blocks of one record for repeated Bloch sums.

    Parameters
    ----------
    record : dict
        A store record; ``key`` selects the Hamiltonian (``HT`` by default, e.g. a prediction).
    """

    def __init__(self, record: dict, key: str = K.HT):
        spin = 2 if record[K.SPINOR] else 1
        n = orbital_counts(record) * spin
        self.offsets = np.append(atom_offsets(n), n.sum())
        self.size = int(self.offsets[-1])
        self.spinor = bool(record[K.SPINOR])
        self.d = bond_vectors(record)  # (E, 3) Å
        self.pairs = np.asarray(record[K.EDGE_INDEX])
        self.h = block_list(record, key)
        eye = np.eye(spin)
        self.s = [np.kron(eye, b) for b in block_list(record, K.S)]
        self.r = None
        if K.R_MATRIX in record:
            tau = np.asarray(record[K.POSITIONS], dtype=float)[self.pairs[:, 0]]  # (E, 3)
            self.r = [
                [np.kron(eye, b[a] - t[a] * s) for a in range(3)]
                for b, t, s in zip(position_blocks(record), tau, block_list(record, K.S))
            ]

    @property
    def exact_position(self) -> bool:
        """Whether the record's position matrix is available (exact velocities)."""
        return self.r is not None

    def _sum(self, blocks, kcart: np.ndarray, deriv: bool) -> tuple[np.ndarray, np.ndarray | None]:
        nk = len(kcart)
        ph = np.exp(1j * kcart @ self.d.T)  # (nk, E)
        out = np.zeros((nk, self.size, self.size), dtype=complex)
        dout = np.zeros((3, nk, self.size, self.size), dtype=complex) if deriv else None
        o = self.offsets
        for e, (i, j) in enumerate(self.pairs):
            term = ph[:, e, None, None] * blocks[e]
            out[:, o[i] : o[i + 1], o[j] : o[j + 1]] += term
            if deriv:
                dout[:, :, o[i] : o[i + 1], o[j] : o[j + 1]] += (
                    1j * self.d[e][:, None, None, None] * term[None]
                )
        return out, dout

    def hamiltonian(self, kcart: np.ndarray, deriv: bool = False):
        """H(k) (nk, M, M) in eV and, with ``deriv``, ∂H/∂k (3, nk, M, M) in eV·Å."""
        return self._sum(self.h, np.atleast_2d(kcart), deriv)

    def overlap(self, kcart: np.ndarray, deriv: bool = False):
        """S(k) (nk, M, M) and, with ``deriv``, ∂S/∂k (3, nk, M, M) in Å."""
        return self._sum(self.s, np.atleast_2d(kcart), deriv)

    def position(self, kcart: np.ndarray) -> np.ndarray:
        """r(k) (3, nk, M, M) in Å, from atom i's centre (needs :attr:`exact_position`)."""
        if self.r is None:
            raise ValueError("the record has no position matrix (K.R_MATRIX)")
        k = np.atleast_2d(kcart)
        return np.stack([self._sum([b[a] for b in self.r], k, False)[0] for a in range(3)])


def frac_to_cart(record: dict, kfrac: np.ndarray) -> np.ndarray:
    """Fractional k (reciprocal-lattice units) → Cartesian 1/Å including 2π."""
    recip = 2 * np.pi * np.linalg.inv(np.asarray(record[K.CELL], dtype=float)).T
    return np.asarray(kfrac, dtype=float) @ recip
