"""The reference Fock matrix at every k of a transform mesh, without a lattice sum per k.

The engine's reference labels take PySCF's FFT Fock matrix F(k) = T(k) + V_pp(k) + J(k) +
V_xc(k) at every k of the Γ-centred transform mesh, for H0 (SAD density) and HT (converged
density). PySCF integrates the local terms on the FFT grid with the Bloch sums of the orbitals
at each k, whose lattice sums were most of a label's time. This module integrates the same
point-sampled potentials on the same grid, with the Bloch sums of every mesh k taken from one
folded real-space evaluation (:mod:`nextham.dft.bvk_ao`: one real FFT over the image classes
gives half the mesh, the other half are complex conjugates), chunk by chunk of grid points, for
several densities in one sweep:

* the local potential of each density on the FFT grid as PySCF builds it: local
  pseudopotential ``-Σ_a S_a(G) v_a(G)``, Hartree ``4π ρ(G)/G²`` and the exchange–correlation
  weights of ``eval_xc_eff`` (GGA through the orbital gradients, as ``nr_rks``);
* V_nl as the SCF's core Hamiltonian has it (analytic, :mod:`nextham.dft.core_pp`, or PySCF's
  reciprocal-space projector sum), T analytic — both the same for every density, computed once.

Same matrices as the reference to rounding (``tests/test_dft_mesh_fock.py``). Applies to scalar
runs whose atoms all carry GTH pseudopotentials, with an LDA/GGA functional and FFT
integration (:func:`applies`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
from pyscf.dft import libxc
from pyscf.pbc import tools
from pyscf.pbc.df import fft as pbc_fft

from nextham.dft import fast_paths
from nextham.dft.bvk_ao import Folder, half_rows, half_transform, mesh_indices, on_mesh
from nextham.dft.core_pp import has_analytic_nonlocal, weighted_vloc
from nextham.dft.gridfock import nonlocal_pp

CHUNK_BYTES = 32_000_000
"""Memory for the Bloch values of one chunk of grid points (half the mesh k): chunks of about
the cache's size are faster than large ones, the sweep being bound by passes over memory."""


def applies(mf) -> bool:
    """Whether :func:`mesh_fock` reproduces ``mf``'s reference Fock build (and the fast paths
    are on, :mod:`nextham.dft.fast_paths`)."""
    cell = mf.cell
    if not fast_paths.enabled():
        return False
    if getattr(mf, "_numint", None) is None or type(mf.with_df) is not pbc_fft.FFTDF:
        return False
    if len(getattr(cell, "_ecpbas", ())) or not cell._pseudo:
        return False
    if any(cell.atom_symbol(a) not in cell._pseudo for a in range(cell.natm)):
        return False
    hcore = vars(mf).get("get_hcore")
    if type(mf._numint).__name__ != "KNumInt" or not getattr(hcore, "nextham_pinned", True):
        return False  # another core Hamiltonian (e.g. a spin–orbit term) than PySCF's
    return libxc.xc_type(mf.xc) in ("LDA", "GGA")


def _density(mf, dm, xctype: str) -> np.ndarray:
    """(1 or 4, ngrids) density (and gradient) of ``dm`` (on ``mf.kpts``) on the FFT grid."""
    cell, ni, grids = mf.cell, mf._numint, mf.grids
    deriv = 0 if xctype == "LDA" else 1
    out = np.zeros((1 if deriv == 0 else 4, len(grids.coords)))
    p0 = 0
    for ao_k, _, mask, _, _ in ni.block_loop(cell, grids, cell.nao_nr(), deriv, mf.kpts):
        rho = ni.eval_rho(cell, ao_k, dm, mask, xctype, hermi=1).real
        p1 = p0 + np.shape(rho)[-1]
        out[:, p0:p1] = np.reshape(rho, (-1, p1 - p0))
        p0 = p1
    return out


def local_potential(mf, dm) -> np.ndarray:
    """Weighted local potential of density ``dm`` on the FFT grid, (1 or 4, ngrids) Hartree:
    row 0 V_loc + V_H + V_xc times the grid weight, rows 1–3 the GGA weights of ∇φ."""
    cell, mesh = mf.cell, np.asarray(mf.with_df.mesh)
    xctype = libxc.xc_type(mf.xc)
    ngrids = int(np.prod(mesh))
    weight = cell.vol / ngrids
    rho = _density(mf, dm, xctype)
    vxc = mf._numint.eval_xc_eff(mf.xc, rho if xctype == "GGA" else rho[0], deriv=1,
                                 xctype=xctype)[1]  # fmt: skip
    wv = weight * np.reshape(vxc, (-1, ngrids))
    v_h = tools.ifft(tools.get_coulG(cell, mesh=mesh) * tools.fft(rho[0], mesh), mesh).real
    wv[0] += weight * v_h + weighted_vloc(cell, mesh)
    return wv


def local_matrices(mf, potentials: Sequence[np.ndarray], mesh) -> np.ndarray:
    """Σ_r φ_k,i(r)* w(r) φ_k,j(r) (+ the GGA terms) for each potential (as from
    :func:`local_potential`) at every k of the Γ-centred ``mesh``: (npot, N₁N₂N₃, nao, nao)
    complex, k in C order. Integrated at the k of the real FFT's half mesh
    (:func:`~nextham.dft.bvk_ao.half_transform`), the others are their complex conjugates."""
    cell, coords = mf.cell, mf.grids.coords
    gga = potentials[0].shape[0] == 4
    folder = Folder(cell, mesh, deriv=1 if gga else 0)
    row, conj = half_rows(mesh)
    nao, nhalf = cell.nao_nr(), int(row.max()) + 1
    half = np.zeros((len(potentials), nhalf, nao, nao), dtype=complex)
    step = max(128, CHUNK_BYTES // (16 * nhalf * folder.comp * nao) // 128 * 128)
    for p0 in range(0, len(coords), step):
        p1 = min(p0 + step, len(coords))
        folded = folder.values(coords[p0:p1])  # (comp, nclass, nao, np)
        left = half_transform(folded[0], mesh).conj()  # (nhalf, nao, np)
        for n, wv in enumerate(potentials):
            # the potential times the values before the transform (it is linear): one
            # transform per potential instead of one per derivative component
            aow = _weighted(folded, wv[:, p0:p1])
            half[n] += np.matmul(left, half_transform(aow, mesh).transpose(0, 2, 1))
    half += half.conj().transpose(0, 1, 3, 2)
    out = half[:, row]
    out[:, conj] = out[:, conj].conj()
    return out


def _weighted(values: np.ndarray, wv: np.ndarray) -> np.ndarray:
    """½ w₀ φ + Σ_c w_c ∂_c φ: ``values`` (comp, …) of the orbitals (and gradients) times the
    weights ``wv`` (comp, …) of :func:`local_potential` (broadcast against one component),
    the right factor of PySCF's ``nr_rks`` matrix before its Hermitian completion."""
    out = values[0] * (0.5 * wv[0])
    for c in range(1, len(values)):
        out += values[c] * wv[c]
    return out


@contextlib.contextmanager
def _without_local_part(df):
    """``df.get_pp`` gives only the nonlocal projector term (its grid loop yields nothing)."""
    df.aoR_loop = lambda *args, **kwargs: iter(())
    try:
        yield
    finally:
        del df.aoR_loop


def mesh_fock(mf, dms: Sequence[np.ndarray], tmesh, kfrac: np.ndarray) -> list[np.ndarray]:
    """PySCF's reference Fock matrices (Hartree) of each density of ``dms`` (each on
    ``mf.kpts``) at the fractional k-points ``kfrac`` of the Γ-centred mesh ``tmesh``:
    a list of (nk, nao, nao) complex arrays."""
    cell, mesh = mf.cell, np.asarray(tmesh, dtype=int)
    kabs = cell.get_abs_kpts(kfrac)
    if not on_mesh(kfrac, mesh).all():
        raise ValueError("mesh_fock: k-points are not on the transform mesh")
    select = mesh_indices(kfrac, mesh)
    potentials = [local_potential(mf, np.asarray(dm)) for dm in dms]
    local = local_matrices(mf, potentials, mesh)[:, select]
    common = _kinetic_and_nonlocal(mf, kabs)
    return [common + loc for loc in local]


def band_fock(mf, dm, kabs: np.ndarray) -> np.ndarray:
    """PySCF's reference Fock matrices (Hartree) of ``dm`` (on ``mf.kpts``) at any k-points
    ``kabs`` (nk, 3), (nk, nao, nao) complex: :func:`band_focks` of one density."""
    return band_focks(mf, [dm], kabs)[0]


def band_focks(mf, dms: Sequence[np.ndarray], kabs: np.ndarray) -> list[np.ndarray]:
    """PySCF's reference Fock matrices (Hartree) of each density of ``dms`` (each on
    ``mf.kpts``) at any k-points ``kabs`` (nk, 3): a list of (nk, nao, nao) complex arrays.
    Each density's local potential (:func:`local_potential`) is integrated with PySCF's own
    Bloch sums at those k — one evaluation of the orbitals (and gradients) for all densities
    and one integration each, where ``get_hcore(k) + get_veff(kpts_band=k)`` evaluates them
    twice per density and integrates three times — and T + V_nl, the same for every density,
    are added once computed (as in :func:`mesh_fock`)."""
    cell, kabs = mf.cell, np.reshape(kabs, (-1, 3))
    potentials = [local_potential(mf, np.asarray(dm)) for dm in dms]
    deriv = 1 if potentials[0].shape[0] == 4 else 0
    nao = cell.nao_nr()
    out = np.zeros((len(dms), len(kabs), nao, nao), dtype=complex)
    p0 = 0
    for ao_k, _, _, _, coords in mf._numint.block_loop(cell, mf.grids, nao, deriv, kabs):
        p1 = p0 + len(coords)
        for k, ao in enumerate(ao_k):
            ao = np.reshape(ao, (-1, p1 - p0, nao))  # (comp, np, nao)
            left = ao[0].conj().T
            for n, wv in enumerate(potentials):
                out[n, k] += left @ _weighted(ao, wv[:, p0:p1, None])
        p0 = p1
    out += out.conj().transpose(0, 1, 3, 2)
    common = _kinetic_and_nonlocal(mf, kabs)
    return [common + f for f in out]


def _kinetic_and_nonlocal(mf, kabs: np.ndarray) -> np.ndarray:
    """T(k) + V_nl(k) (Hartree), (nk, nao, nao) complex: PySCF's analytic kinetic integrals and
    the GTH projector term of ``mf``'s core Hamiltonian — analytic where the engine set it so
    (:mod:`nextham.dft.core_pp`), else PySCF's reciprocal-space sum (the local part left to the
    callers)."""
    nk, nao = len(kabs), mf.cell.nao_nr()
    if has_analytic_nonlocal(mf):
        vnl = nonlocal_pp(mf.cell, kabs)
    else:
        with _without_local_part(mf.with_df):
            vnl = np.asarray(mf.with_df.get_pp(kabs), dtype=complex)
    if vnl.size != nk * nao * nao:  # no atom has projectors (H, Li…): PySCF returns (nk,) zeros
        if np.any(vnl):
            raise ValueError(f"unexpected nonlocal pseudopotential of shape {vnl.shape}")
        vnl = np.zeros((nk, nao, nao), dtype=complex)
    out = vnl.reshape(nk, nao, nao)
    return out + np.asarray(mf.cell.pbc_intor("int1e_kin", 1, 1, kabs)).reshape(nk, nao, nao)
