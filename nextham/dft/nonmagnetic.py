"""The Kohn–Sham potential of a non-magnetic spinor density, from the scalar machinery.

The engine's spin–orbit runs (``KGKS``) start from a spin-unpolarized density and sample a
time-reversal-symmetric k-mesh, so the density stays non-magnetic: the spin density
m(r) = Σ_k ψ†σψ vanishes and, for a semi-local functional, the Hartree and exchange–correlation
potential is the scalar one of the total density on both spins,

    V_eff[D] = V_eff^scalar[D↑↑ + D↓↓] ⊗ 1₂,

with D the spinor density matrix (PySCF's GHF order: all ↑ orbitals, then all ↓). The spinor
Fock matrix is then F = h_core + V_eff, with all of the spin–orbit coupling in the core
Hamiltonian (SO-ECP or GTH projectors).

PySCF's ``KGKS.get_veff`` evaluates the collinear functional on the 2n-orbital spinor density at
every SCF cycle (several times the scalar cost) and cannot use multigrid integration; here each
cycle costs one scalar ``KRKS`` potential of a *scalar twin* (:func:`scalar_twin`: same cell,
k-points, functional, grids and density fitting), which also lets the label fold the spinor
Fock matrices at every k of the transform mesh through :mod:`nextham.dft.mesh_fock`
(:func:`nextham.dft.kspace_fock.mesh_blocks`). Same SCF as PySCF's to its convergence
threshold (``tests/test_dft_nonmagnetic.py``).
"""

from __future__ import annotations

import numpy as np
from pyscf import lib
from pyscf.pbc import dft as pbcdft
from pyscf.pbc.dft import multigrid


def total_density(dm: np.ndarray) -> np.ndarray:
    """D↑↑ + D↓↓ of spinor density matrices (..., 2n, 2n) → (..., n, n)."""
    dm = np.asarray(dm)
    n = dm.shape[-1] // 2
    return dm[..., :n, :n] + dm[..., n:, n:]


def spin_diagonal(v: np.ndarray) -> np.ndarray:
    """V ⊗ 1₂ in PySCF's GHF order (or a spin-major pair block): (..., m, n) → (..., 2m, 2n),
    ``v`` on both spin blocks."""
    v = np.asarray(v)
    m, n = v.shape[-2:]
    out = np.zeros((*v.shape[:-2], 2 * m, 2 * n), dtype=v.dtype)
    out[..., :m, :n] = v
    out[..., m:, n:] = v
    return out


def scalar_twin(mf):
    """A ``KRKS`` object with ``mf``'s cell and k-points whose functional, integration grids,
    density fitting and (multigrid) integrator follow ``mf``'s at every use
    (:func:`twin_of`): its Fock matrix of D↑↑ + D↓↓ is the spin block of ``mf``'s for a
    non-magnetic density, without ``mf``'s spin–orbit term."""
    twin = pbcdft.KRKS(mf.cell, kpts=mf.kpts)
    twin.verbose = mf.verbose
    return _follow(twin, mf)


def _follow(twin, mf):
    twin.xc, twin.grids, twin.with_df = mf.xc, mf.grids, mf.with_df
    twin.max_memory = mf.max_memory
    if isinstance(mf._numint, multigrid.MultiGridNumInt):  # the label's multigrid SCF
        twin._numint = mf._numint
    elif isinstance(twin._numint, multigrid.MultiGridNumInt):
        twin._numint = pbcdft.numint.KNumInt()
    return twin


def is_nonmagnetic(mf) -> bool:
    """Whether :func:`make_nonmagnetic` was applied to ``mf``."""
    return getattr(mf, "nextham_twin", None) is not None


def twin_of(mf):
    """The scalar twin of a :func:`make_nonmagnetic` object, set up as ``mf`` is now."""
    return _follow(mf.nextham_twin, mf)


def make_nonmagnetic(mf) -> None:
    """Make the ``KGKS`` object ``mf`` build V_eff of the total density only (module docstring):
    ``mf.get_veff`` → the scalar twin's potential ⊗ 1₂, with PySCF's ``ecoul``/``exc`` tags so
    that the SCF energy is unchanged. The twin is kept as ``mf.nextham_twin``."""
    mf.nextham_twin = scalar_twin(mf)

    def get_veff(cell=None, dm=None, dm_last=None, vhf_last=None, hermi=1, kpts=None,
                 kpts_band=None):  # fmt: skip
        dm = mf.make_rdm1() if dm is None else dm
        v = twin_of(mf).get_veff(
            cell, total_density(dm), hermi=hermi, kpts=kpts, kpts_band=kpts_band
        )
        return lib.tag_array(
            spin_diagonal(np.asarray(v)),
            ecoul=getattr(v, "ecoul", None),
            exc=getattr(v, "exc", None),
            vj=None,
            vk=None,
        )

    mf.get_veff = get_veff
