"""Units, orbital order, spin order and the basis-change matrices between conventions.

This is the single place that states how nextham orders and signs its basis functions.

Units
-----
Å and eV at every public boundary. Hartree and Bohr appear only inside
:mod:`nextham.dft` (the PySCF adapter), which converts with :data:`HARTREE_EV` and
:data:`BOHR_ANGSTROM` once.

Orbital order (nextham = PySCF)
-------------------------------
Inside an atom, basis functions follow the shells of the basis in PySCF's order; inside a
shell of angular momentum l the real spherical harmonics are ordered

======  ==================================================================
l       order (all with positive sign, no Condon–Shortley phase)
======  ==================================================================
0       s
1       px, py, pz                          (PySCF's special case for l = 1)
2       dxy, dyz, dz², dxz, dx²−y²          (m = −2 … 2)
3       f(−3) … f(+3)                       (m = −3 … 3)
======  ==================================================================

A *mapping matrix* ``U`` of convention X for shell l is the (2l+1, 2l+1) matrix with
``v_X = U @ v_nextham`` for coefficient vectors, so blocks transform as
``H_X = U_i @ H @ U_j.T`` (see :func:`transform_block`).

Spin order
----------
Spinor blocks are spin-major: rows are [orbitals of the atom with spin ↑, the same orbitals
with spin ↓]; a (2 n_i, 2 n_j) block is ``[[H↑↑, H↑↓], [H↓↑, H↓↓]]``. This is also PySCF's
GHF order restricted to one atom pair, and the order of the DeepH, DeepX and DeePTB layouts.
ABACUS (nspin = 4) interleaves spin instead: row ``2 a + s`` of its 2N × 2N matrix is orbital
``a`` (over all atoms, in order) with spin ``s`` (0 = ↑, 1 = ↓); :func:`interleaved_to_spin_major`
gives the reordering of one atom's block.
A scalar level holds two electrons, a spinor level one (:func:`electrons_per_level`).
Time reversal Θ = iσ_y K (real orbitals) acts on such a block as
Θ B Θ⁻¹ = σ_y B* σ_y = [[H↓↓*, −H↓↑*], [−H↑↓*, H↑↑*]] (:func:`time_reverse_spinor`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg

HARTREE_EV = 27.211386245988
"""One Hartree in eV (CODATA 2018, as PySCF)."""
BOHR_ANGSTROM = 0.529177210903
"""One Bohr in Å (CODATA 2018, as PySCF)."""

L_LETTERS = "spdfgh"
SPIN_LABELS = ("up", "down")

_S3 = np.sqrt(3.0)
_S15 = np.sqrt(15.0)
_S58 = np.sqrt(5.0 / 8.0)
_S38 = np.sqrt(3.0 / 8.0)


def _perm(order: Sequence[int]) -> np.ndarray:
    """Permutation matrix U with (U @ v)[a] = v[order[a]]."""
    return np.eye(len(order))[list(order)]


PYSCF_TO_E3NN: dict[int, np.ndarray] = {
    0: np.eye(1),
    1: np.eye(3),
    2: np.array(
        [
            [0, 0, 0, 1, 0],
            [1, 0, 0, 0, 0],
            [0, 0, -0.5, 0, -_S3 / 2],
            [0, 1, 0, 0, 0],
            [0, 0, _S3 / 2, 0, -0.5],
        ]
    ),
    3: np.array(
        [
            [0, 0, 0, 0, _S15 / 4, 0, -0.25],
            [0, 1, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, -0.25, 0, -_S15 / 4],
            [-_S58, 0, -_S38, 0, 0, 0, 0],
            [0, 0, 0, -_S38, 0, -_S58, 0],
            [-_S38, 0, _S58, 0, 0, 0, 0],
            [0, 0, 0, _S58, 0, -_S38, 0],
        ]
    ),
}
"""nextham (PySCF) real harmonics → e3nn's real harmonics (``o3.spherical_harmonics`` with
``normalization='integral'``; e3nn's polar axis is y). Orthogonal, not a permutation for l ≥ 2."""

PYSCF_TO_DEEPH: dict[int, np.ndarray] = {
    0: np.eye(1),
    1: _perm([0, 1, 2]),  # px, py, pz
    2: _perm([2, 4, 0, 3, 1]),  # dz², dx²−y², dxy, dxz, dyz
    3: _perm([3, 4, 2, 5, 1, 6, 0]),  # m = 0, +1, −1, +2, −2, +3, −3
}
"""nextham (PySCF) → DeepH (OpenMX order, positive real harmonics)."""

PYSCF_TO_DEEPTB: dict[int, np.ndarray] = {
    0: np.eye(1),
    1: _perm([1, 2, 0]),  # py, pz, px  (m = −1, 0, +1)
    2: np.eye(5),  # m = −2 … 2
    3: np.eye(7),  # m = −3 … 3
}
"""nextham (PySCF) → DeePTB (m = −l … l, positive real harmonics)."""

PYSCF_TO_DEEPX: dict[int, np.ndarray] = PYSCF_TO_DEEPTB
"""nextham (PySCF) → DeepX (DeepH-pack 1.0 / DeepH-dock): the real harmonics of the Wikipedia
table, m = −l … l, positive sign (p = y, z, x) — the same matrices as DeePTB's, shells kept in
the order of the basis."""


def _signed_perm(order: Sequence[int], signs: Sequence[float]) -> np.ndarray:
    """Signed permutation U with (U @ v)[a] = signs[a] * v[order[a]]."""
    return np.asarray(signs, dtype=float)[:, None] * _perm(order)


PYSCF_TO_ABACUS: dict[int, np.ndarray] = {
    0: np.eye(1),
    1: _signed_perm([2, 0, 1], [1, -1, -1]),  # z, −x, −y         (m = 0, +1, −1)
    2: _signed_perm([2, 3, 1, 4, 0], [1, -1, -1, 1, 1]),  # z², −xz, −yz, x²−y², xy
    3: _signed_perm([3, 4, 2, 5, 1, 6, 0], [1, -1, -1, 1, 1, -1, -1]),  # m = 0, ±1, ±2, ±3
}
"""nextham (PySCF) → ABACUS: m ordered 0, +1, −1, +2, −2, +3, −3 and ABACUS's functions are the
positive real harmonics times (−1)^m, so odd |m| change sign (DeepH-dock's
``translate_abacus_to_deeph.py`` states the same: "abacus basis: wiki basis * (-1)**m"). Shells
of an ABACUS atom are ordered by l, zeta inside l (see :mod:`nextham.formats.abacus`)."""

CONVENTIONS: dict[str, dict[int, np.ndarray]] = {
    "e3nn": PYSCF_TO_E3NN,
    "deeph": PYSCF_TO_DEEPH,
    "deeptb": PYSCF_TO_DEEPTB,
    "deepx": PYSCF_TO_DEEPX,
    "abacus": PYSCF_TO_ABACUS,
}


def electrons_per_level(spinor: bool) -> float:
    """Electrons per eigenstate: 1 for a spinor Hamiltonian, 2 (both spins) for a scalar one."""
    return 1.0 if spinor else 2.0


def interleaved_to_spin_major(n: int) -> np.ndarray:
    """Indices p (2n,) with ``B_spin_major = B_interleaved[np.ix_(p, q)]`` (q of the column atom):
    spin-major row ``s n + a`` is interleaved row ``2 a + s``."""
    return np.concatenate([np.arange(0, 2 * n, 2), np.arange(1, 2 * n, 2)])


def n_orbitals(shell_ls: Sequence[int]) -> int:
    """Number of spatial basis functions of an atom with shells of angular momenta ``shell_ls``."""
    return int(sum(2 * int(l) + 1 for l in shell_ls))


def atom_matrix(shell_ls: Sequence[int], convention: str, spinor: bool = False) -> np.ndarray:
    """Block-diagonal mapping matrix of one atom, shape (n, n) or (2n, 2n) for spinors.

    Parameters
    ----------
    shell_ls
        Angular momentum of each shell of the atom, in PySCF order.
    convention
        One of :data:`CONVENTIONS` (``"e3nn"``, ``"deeph"``, ``"deeptb"``, ``"deepx"``,
        ``"abacus"``).
    spinor
        If True, the same matrix acts on both spin blocks (spin-major order).
    """
    try:
        table = CONVENTIONS[convention]
    except KeyError:
        raise ValueError(
            f"unknown convention {convention!r}; choose one of {sorted(CONVENTIONS)}"
        ) from None
    for l in shell_ls:
        if int(l) not in table:
            raise ValueError(f"l = {l} is not supported by the {convention} mapping (l ≤ 3)")
    u = scipy.linalg.block_diag(*[table[int(l)] for l in shell_ls])
    return np.kron(np.eye(2), u) if spinor else u


def transform_block(
    block: np.ndarray,
    ls_i: Sequence[int],
    ls_j: Sequence[int],
    convention: str,
    inverse: bool = False,
) -> np.ndarray:
    """Express an (i, j) block in another convention: ``U_i @ block @ U_j.T``.

    The block may be scalar (n_i, n_j) or spinor (2 n_i, 2 n_j); ``inverse=True`` maps back
    to nextham's convention (the matrices are orthogonal).
    """
    spinor = block.shape[0] == 2 * n_orbitals(ls_i)
    ui = atom_matrix(ls_i, convention, spinor)
    uj = atom_matrix(ls_j, convention, spinor)
    if inverse:
        return ui.T @ block @ uj
    return ui @ block @ uj.T


def time_reverse_spinor(block: np.ndarray) -> np.ndarray:
    """Θ B Θ⁻¹ = σ_y B* σ_y of spin-major spinor blocks, shape (…, 2 n, 2 m), Θ = iσ_y K.

    With B = [[A, B], [C, D]] in spin blocks the result is [[D*, −C*], [−B*, A*]]. A whole
    PySCF GHF matrix (all α AOs, then all β AOs) is one such block: for a non-magnetic
    Hamiltonian, H(−k) = Θ H(k) Θ⁻¹.
    """
    n, m = block.shape[-2] // 2, block.shape[-1] // 2
    a, b = block[..., :n, :m], block[..., :n, m:]
    c, d = block[..., n:, :m], block[..., n:, m:]
    top = np.concatenate([d, -c], axis=-1)
    bottom = np.concatenate([-b, a], axis=-1)
    return np.concatenate([top, bottom], axis=-2).conj()
