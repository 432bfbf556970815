"""The pseudopotential term of the engine's core Hamiltonian on the FFT path.

PySCF's FFT density fitting (``FFTDF.get_pp``) builds the GTH pseudopotential at each k from
two parts: the local potential sampled on the FFT grid (the same grid as the density, the
Hartree and the exchange–correlation potentials) and the nonlocal projectors summed over the
grid's reciprocal vectors. The projectors of semicore and first-row elements are tighter than
the density, and that reciprocal sum is cut off by the density's mesh: measured against the
analytic projector integrals (``pp_int.get_pp_nl``, exact lattice sums of Gaussians), the FFT
V_nl(k) is off by 0.3 meV (Si, 15³ mesh) to 2.7 meV (NaCl, 53 × 57 × 53) in the szv-molopt-sr
basis, and it costs 0.1–0.2 s per k-point on such meshes against milliseconds.

The engine therefore uses PySCF's FFT local part with the analytic nonlocal part
(:func:`nextham.dft.gridfock.nonlocal_pp`) everywhere: in the SCF (:func:`use_analytic_nonlocal`
swaps ``get_pp`` of the SCF object's density fitting), in the reference Fock matrices at the
transform k-points and in the checks. The pair-block H0 of large cells
(:mod:`nextham.dft.sparse_h0`) and PySCF's multigrid core Hamiltonian use the same analytic
V_nl, so H0 is one operator whichever path builds it.
"""

from __future__ import annotations

import numpy as np
from pyscf.pbc import tools
from pyscf.pbc.df import fft as pbc_fft
from pyscf.pbc.gto import pseudo

from nextham.dft.gridfock import nonlocal_pp


def weighted_vloc(cell, mesh) -> np.ndarray:
    """The local pseudopotential on the FFT grid ``mesh`` times the grid weight, as PySCF's FFT
    path samples it: (ngrids,) real, Hartree (``get_vlocG`` carries the weight; the G = 0
    term removed, as PySCF)."""
    vloc_g = -np.einsum(
        "ij,ij->j", cell.get_SI(mesh=mesh), pseudo.get_vlocG(cell, cell.get_Gv(mesh))
    )
    return tools.ifft(vloc_g, mesh).real


def local_pp(df, kpts: np.ndarray) -> np.ndarray:
    """PySCF's FFT local pseudopotential ⟨φ_k| V_loc |φ_k⟩ of ``df`` (an ``FFTDF``) at
    ``kpts`` (nk, 3): (nk, nao, nao) complex, Hartree (the G = 0 term removed, as PySCF)."""
    cell = df.cell
    vloc_r = weighted_vloc(cell, df.mesh)
    nao = cell.nao_nr()
    out = np.zeros((len(kpts), nao, nao), dtype=complex)
    for ao_ks_etc, p0, p1 in df.aoR_loop(df.grids, kpts):
        for k, ao in enumerate(ao_ks_etc[0]):
            out[k] += (ao.T.conj() * vloc_r[p0:p1]) @ ao
    return out


def analytic_get_pp(df):
    """A ``get_pp(kpts=None)`` for ``df`` with PySCF's FFT local part and the analytic nonlocal
    part; the same shapes and dtypes as ``FFTDF.get_pp`` (real at Γ, (nao, nao) for one k)."""

    def get_pp(kpts=None):
        kpts, single = pbc_fft._check_kpts(df, kpts)
        vpp = local_pp(df, kpts) + nonlocal_pp(df.cell, kpts)
        out = [v.real if np.allclose(k, 0) else v for k, v in zip(kpts, vpp)]
        return out[0] if single else np.asarray(out)

    get_pp.nextham_analytic_nonlocal = True
    return get_pp


def use_analytic_nonlocal(mf) -> None:
    """Give the SCF object ``mf`` (KRKS or KGKS on FFT density fitting, GTH pseudopotentials)
    the core Hamiltonian with the analytic V_nl; anything else is left as it is."""
    df, cell = getattr(mf, "with_df", None), mf.cell
    if type(df) is not pbc_fft.FFTDF or not cell._pseudo or len(cell._ecpbas):
        return
    df.get_pp = analytic_get_pp(df)


def has_analytic_nonlocal(mf) -> bool:
    """Whether ``mf``'s density fitting builds V_nl analytically (:func:`use_analytic_nonlocal`)."""
    get_pp = vars(mf.with_df).get("get_pp") if hasattr(mf, "with_df") else None
    return bool(getattr(get_pp, "nextham_analytic_nonlocal", False))
