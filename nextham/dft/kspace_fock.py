"""Fock matrices of the engine's densities at k-points, and their transform to stored blocks.

The reference builds PySCF's ``get_hcore(k) + get_veff(dm, kpts_band=k)`` — on a Γ-centred
transform mesh from one folded sweep (:mod:`nextham.dft.mesh_fock`), at other k-points in one
pass (:func:`nextham.dft.mesh_fock.band_fock`) or by PySCF itself (ECP runs, spinor matrices at
off-mesh k) — the multigrid build by :mod:`nextham.dft.gridfock`. Non-magnetic spinor runs with
the GTH spin–orbit term fold too: their Fock matrix is the scalar one of the total density ⊗ 1₂
plus V_SO (:mod:`nextham.dft.nonmagnetic`). Time reversal (scalar H(−k) =
H(k)*, spinor H(−k) = Θ H(k) Θ⁻¹) halves the Fock builds; :func:`transform_blocks` and
:func:`mesh_blocks` take the mesh to the stored blocks, :func:`roundtrip_error` and
:func:`pyscf_levels` check them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.linalg
from pyscf.pbc import dft as pbcdft
from pyscf.pbc.dft import multigrid

from nextham.conventions import HARTREE_EV, time_reverse_spinor
from nextham.dft import bvk_ao, gridfock, mesh_fock, nonmagnetic
from nextham.dft.cell import atom_ao_slices
from nextham.dft.projectors import blocks_for_pairs
from nextham.spectra import kspace


@contextmanager
def fft_integration(mf) -> Iterator[None]:
    """Within the block, ``mf`` integrates with PySCF's FFT numerics (the reference) even when
    its SCF runs on the multigrid (whose local pseudopotential at k-points other than the SCF's
    costs ~30× more than FFT's)."""
    saved = mf._numint
    if not isinstance(saved, multigrid.MultiGridNumInt):
        yield
        return
    mf._numint = pbcdft.numint.KNumInt()  # multigrid runs are scalar (resolve_h0_method)
    try:
        yield
    finally:
        mf._numint = saved


def _veff_band(mf, dm, kband: np.ndarray) -> np.ndarray:
    return np.asarray(mf.get_veff(mf.cell, dm, kpts=mf.kpts, kpts_band=kband))


def _veff_gks_band(mf, dm, kband: np.ndarray) -> np.ndarray:
    """J + V_xc of a KGKS density at band k-points, (n_band, 2 nao, 2 nao).

    Same collinear functional as PySCF's KGKS SCF (the spin-diagonal density blocks), written
    out because ``KGKS.get_veff`` cannot yet take a band mesh of another size than ``kpts``.
    """
    cell, nao = mf.cell, dm.shape[-1] // 2
    dm = np.asarray(dm)
    dm_a, dm_b = dm[..., :nao, :nao].copy(), dm[..., nao:, nao:].copy()
    mf.initialize_grids(cell, dm, mf.kpts, False)
    ni = mf._numint._to_numint1c()
    _, _, vxc = ni.nr_uks(cell, mf.grids, mf.xc, (dm_a, dm_b), kpts=mf.kpts, kpts_band=kband)
    vj = mf.with_df.get_jk(dm_a + dm_b, hermi=1, kpts=mf.kpts, kpts_band=kband, with_k=False)[0]
    out = np.zeros((len(kband), 2 * nao, 2 * nao), dtype=complex)
    out[:, :nao, :nao] = vxc[0] + vj
    out[:, nao:, nao:] = vxc[1] + vj
    return out


def fock_on_mesh(
    mf, dm, kfrac: np.ndarray, time_reversal: bool, method: str = "reference", tmesh=None
) -> np.ndarray:
    """Fock matrices (Hartree) of density ``dm`` (on ``mf.kpts``) at fractional ``kfrac``.

    ``time_reversal``: compute one k of each pair (k, −k) and obtain the other by time
    reversal (:func:`_time_reversal_expand`; only for a non-magnetic density).
    ``method``: ``reference`` or ``multigrid`` (see :data:`H0_METHODS`). ``tmesh``: the
    Γ-centred mesh ``kfrac`` lies on, if any; the reference build then takes the Bloch sums of
    all k from one fold (:mod:`nextham.dft.mesh_fock`, the same numbers)."""
    cell = mf.cell
    spinor = isinstance(mf, pbcdft.kgks.KGKS)
    rep, todo, kabs = _irreducible(cell, kfrac, time_reversal)
    fold = method == "reference" and not spinor and tmesh is not None
    mesh = _fold_mesh(mf, kfrac[todo], tmesh) if fold else None
    if method == "multigrid":
        f = gridfock.sad_fock(cell, mf.xc, dm, mf.kpts, kabs)
    elif mesh is not None:  # the same numbers, the Bloch sums of all k from one fold
        f = mesh_fock.mesh_fock(mf, [dm], mesh, kfrac[todo])[0]
    elif not spinor and mesh_fock.applies(mf):  # the same numbers, one orbital evaluation
        f = mesh_fock.band_fock(mf, dm, kabs)
    else:
        veff = _veff_gks_band if spinor else _veff_band
        f = np.asarray(mf.get_hcore(cell, kabs)) + veff(mf, dm, kabs)
    return _time_reversal_expand(f, rep, todo, spinor) if time_reversal else f


def _fold_mesh(mf, kfrac: np.ndarray, tmesh) -> np.ndarray | None:
    """``tmesh`` when :func:`mesh_fock.mesh_fock` can build the reference Fock matrices at
    ``kfrac`` (enough k-points, all on the mesh, a scalar GTH cell), else None."""
    if len(kfrac) < bvk_ao.MIN_KPTS or not mesh_fock.applies(mf):
        return None
    return np.asarray(tmesh) if bvk_ao.on_mesh(kfrac, tmesh).all() else None


def can_fold(mf, tmesh) -> bool:
    """Whether :func:`mesh_blocks` applies to ``mf`` on the transform mesh ``tmesh``: a scalar
    GTH run, or a non-magnetic spinor one (:func:`nonmagnetic.make_nonmagnetic`) whose
    spin–orbit term, if any, is the GTH projectors' (``mf.nextham_so_blocks``)."""
    kfrac = kspace.gamma_mesh(tmesh)
    todo = _irreducible(mf.cell, kfrac, time_reversal=True)[1]
    if isinstance(mf, pbcdft.kgks.KGKS):
        if not nonmagnetic.is_nonmagnetic(mf) or len(getattr(mf.cell, "_ecpbas", ())):
            return False
        mf = nonmagnetic.twin_of(mf)
    return _fold_mesh(mf, kfrac[todo], tmesh) is not None


def mesh_blocks(
    mf, dms, tmesh, edge_index, cell_shift, spin_orbit: tuple[bool, ...] | None = None
) -> tuple[list[list], float]:
    """Blocks (eV) of the reference Fock matrix of each density of ``dms`` for the stored
    pairs, all from one folded sweep over the grid (:mod:`nextham.dft.mesh_fock`,
    :func:`can_fold`), plus the wall time.

    Spinor ``mf``: the scalar twin's blocks of D↑↑ + D↓↓ on both spins, plus the GTH
    spin–orbit blocks for the densities whose ``spin_orbit`` flag is set (default: all)."""
    t0 = time.perf_counter()
    if isinstance(mf, pbcdft.kgks.KGKS):
        out = _spinor_mesh_blocks(mf, dms, tmesh, edge_index, cell_shift, spin_orbit)
        return out, time.perf_counter() - t0
    kfrac = kspace.gamma_mesh(tmesh)
    rep, todo, _ = _irreducible(mf.cell, kfrac, time_reversal=True)
    slices = _ao_slices(mf.cell, False)
    out = []
    for f in mesh_fock.mesh_fock(mf, dms, np.asarray(tmesh), kfrac[todo]):
        blocks = kspace.blocks_from_k(
            _time_reversal_expand(f, rep, todo), kfrac, edge_index, cell_shift, slices
        )
        out.append([b.real * HARTREE_EV for b in blocks])
    return out, time.perf_counter() - t0


def _spinor_mesh_blocks(mf, dms, tmesh, edge_index, cell_shift, spin_orbit) -> list[list]:
    """:func:`mesh_blocks` of a non-magnetic spinor run: (2n_i, 2n_j) complex blocks."""
    totals = [nonmagnetic.total_density(d) for d in dms]
    scalar, _ = mesh_blocks(nonmagnetic.twin_of(mf), totals, tmesh, edge_index, cell_shift)
    so_terms = getattr(mf, "nextham_so_blocks", None) or {}
    sizes = np.diff(atom_ao_slices(mf.cell), axis=1).ravel()
    so = blocks_for_pairs(
        so_terms, edge_index, cell_shift, lambda i, j: (2 * sizes[i], 2 * sizes[j])
    )
    flags = (True,) * len(dms) if spin_orbit is None else spin_orbit
    out = []
    for blocks, with_so in zip(scalar, flags, strict=True):
        spinor = [nonmagnetic.spin_diagonal(b).astype(complex) for b in blocks]
        out.append([b + v * HARTREE_EV for b, v in zip(spinor, so)] if with_so else spinor)
    return out


def _irreducible(cell, kfrac: np.ndarray, time_reversal: bool) -> tuple:
    """(each k's time-reversal representative, the k to compute, their absolute k-points);
    without ``time_reversal`` every k is its own representative (any set of k-points, e.g. a
    band path, which need not hold −k)."""
    if not time_reversal:
        every = np.arange(len(kfrac))
        return every, every, cell.get_abs_kpts(kfrac)
    rep, _partner = kspace.time_reversal_pairs(kfrac)
    todo = np.unique(rep)
    return rep, todo, cell.get_abs_kpts(kfrac[todo])


def _time_reversal_expand(
    f: np.ndarray, rep: np.ndarray, todo: np.ndarray, spinor: bool = False
) -> np.ndarray:
    """Matrices at every k from those at ``todo`` (``rep``: each k's time-reversal partner).

    Scalar: H(−k) = H(k)*. Spinor (PySCF's GHF layout, one spin-major block): H(−k) =
    Θ H(k) Θ⁻¹ (:func:`nextham.conventions.time_reverse_spinor`), exact for a non-magnetic
    density.
    """
    where = {q: n for n, q in enumerate(todo)}
    full = np.asarray(f)[[where[r] for r in rep]].astype(complex)
    partner = rep != np.arange(len(rep))
    full[partner] = time_reverse_spinor(full[partner]) if spinor else full[partner].conj()
    return full


def _ao_slices(cell, spinor: bool) -> np.ndarray:
    sl = atom_ao_slices(cell)
    if not spinor:
        return sl
    return np.stack([sl, sl + cell.nao_nr()], axis=1)  # (natm, 2 spins, 2)


def transform_blocks(mf, dm, tmesh, edge_index, cell_shift, spinor, method="reference"):
    """Blocks (eV) of the Fock matrix of ``dm`` for the stored pairs, from the Γ-centred
    transform mesh ``tmesh``, plus its wall time. Time reversal halves the Fock builds, for
    spinor densities too: the engine's densities are non-magnetic (SAD, and the SCF that
    starts from it keeps Kramers pairs equally occupied)."""
    t0 = time.perf_counter()
    kfrac = kspace.gamma_mesh(tmesh)
    slices = _ao_slices(mf.cell, spinor)
    if method == "multigrid":  # local potential straight to real space (scalar runs only)
        rep, todo, kabs = _irreducible(mf.cell, kfrac, time_reversal=True)
        fk, by_shift = gridfock.sad_fock_split(mf.cell, mf.xc, dm, mf.kpts, kabs)
        blocks = kspace.blocks_from_k(
            _time_reversal_expand(fk, rep, todo), kfrac, edge_index, cell_shift, slices
        )
        gridfock.add_shift_blocks(blocks, by_shift, edge_index, cell_shift, slices, tmesh)
    else:
        fk = fock_on_mesh(mf, dm, kfrac, time_reversal=True, method=method, tmesh=tmesh)
        blocks = kspace.blocks_from_k(fk, kfrac, edge_index, cell_shift, slices)
    blocks = [b * HARTREE_EV if spinor else b.real * HARTREE_EV for b in blocks]
    return blocks, time.perf_counter() - t0


def flat_blocks(blocks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([b.ravel() for b in blocks]) if blocks else np.zeros(0)


def bloch_assemble(
    cell, blocks, kfrac: np.ndarray, edge_index, cell_shift, spinor: bool
) -> np.ndarray:
    """Σ_R e^{ik·R} H_ij(R) into PySCF's full AO matrices at fractional ``kfrac``.

    ``blocks``: one (n_i, n_j) block per pair, or (2 n_i, 2 n_j) spin-major spinor blocks, any
    unit. Returns (nk, M, M) complex with M = nao (scalar) or 2 nao (spinor, PySCF's GHF order:
    all α AOs, then all β AOs).
    """
    sl = _ao_slices(cell, spinor)
    rows = [kspace.atom_rows(s) for s in sl]
    size = cell.nao_nr() * (2 if spinor else 1)
    out = np.zeros((len(kfrac), size, size), dtype=complex)
    ph = kspace.phases(kfrac, cell_shift)
    for e, (i, j) in enumerate(edge_index):
        out[:, rows[i][:, None], rows[j][None, :]] += ph[:, e, None, None] * blocks[e]
    return out


def roundtrip_error(mf, dm, blocks, edge_index, cell_shift, spinor) -> float:
    """Max |H(k) from stored blocks − PySCF Fock(k)| over the SCF k-points, in eV."""
    cell = mf.cell
    fk = np.asarray(mf.get_fock(dm=dm)) * HARTREE_EV
    kfrac = cell.get_scaled_kpts(mf.kpts)
    rec = bloch_assemble(cell, blocks, kfrac, edge_index, cell_shift, spinor)
    return float(np.abs(rec - fk).max())


def pyscf_levels(mf, kfrac: np.ndarray) -> np.ndarray:
    """PySCF's levels (nk, m) in eV of ``mf``'s converged density at fractional ``kfrac`` (any
    k set): ``get_hcore(k) + get_veff(dm, kpts_band=k)`` with the AO overlap, as ``get_bands``
    does, for scalar and spinor (KGKS) runs alike, with FFT integration (the reference) also
    after a multigrid SCF."""
    cell = mf.cell
    kfrac = np.asarray(kfrac, dtype=float)
    with fft_integration(mf):
        fk = fock_on_mesh(mf, mf.make_rdm1(), kfrac, time_reversal=False)
    sk = cell.pbc_intor("int1e_ovlp", kpts=cell.get_abs_kpts(kfrac))
    if isinstance(mf, pbcdft.kgks.KGKS):
        sk = [scipy.linalg.block_diag(s, s) for s in sk]
    levels = [
        scipy.linalg.eigh(0.5 * (f + f.conj().T), s, eigvals_only=True) for f, s in zip(fk, sk)
    ]
    return np.stack(levels) * HARTREE_EV
