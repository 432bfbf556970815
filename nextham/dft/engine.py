"""The data engine: S, H0 and HT of one periodic structure from PySCF, in Å and eV.

Method (see docs/engine.md)
---------------------------
1. Pairs and S(R) exactly in real space (:mod:`nextham.dft.pairs`).
2. H0: the SAD density (:func:`nextham.dft.sad.sad_density`, PySCF's atomic guess) on the SCF
   k-mesh; its Fock matrix, with no SCF iteration and no diagonalization.
3. HT: the converged density of a ``KRKS``/``KGKS`` SCF on the same k-mesh.
4. Both Fock matrices are then evaluated at every k of a *transform mesh* — a Γ-centred mesh
   whose Born–von Kármán supercell holds every stored R uniquely — exactly as PySCF's
   ``get_bands`` does (``get_hcore(k) + get_veff(dm, kpts_band=k)``), and Fourier-transformed to
   the stored blocks. Time reversal (scalar H(−k) = H(k)*, spinor H(−k) = Θ H(k) Θ⁻¹) halves
   the Fock builds.
   H0 may instead be built by multigrid integration (:mod:`nextham.dft.gridfock`, within
   0.1 meV of this for verified elements, several times faster; ``h0_method``), which
   ``predict`` uses.
5. The transform is checked: the stored H(R) summed back to the SCF k-points must reproduce
   PySCF's own Fock matrices there; the largest deviation (eV) is stored as metadata.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pyscf
import scipy.linalg
from ase import Atoms
from pyscf.pbc import dft as pbcdft
from pyscf.pbc.dft import multigrid
from pyscf.pbc.scf.smearing import smearing_

import nextham
from nextham.conventions import BOHR_ANGSTROM, HARTREE_EV, time_reverse_spinor
from nextham.dft import bvk_ao, gridfock, mesh_fock
from nextham.dft.cell import atom_ao_slices, atom_shell_ls, build_cell
from nextham.dft.pairs import select_pairs
from nextham.dft.position import flat_position, position_blocks
from nextham.dft.projectors import add_gth_spin_orbit
from nextham.dft.sad import sad_density
from nextham.dft.settings import H0_METHODS, EngineSettings, element_details
from nextham.dft.sparse_h0 import sparse_h0
from nextham.record import keys as K
from nextham.record.layout import block_pointers
from nextham.spectra import kspace

SPARSE_H0_MIN_ATOMS = 128
"""From this many atoms a multigrid H0 is built as pair blocks only
(:func:`nextham.dft.sparse_h0.sparse_h0`, memory ∝ pairs; ``META["h0_build"]``), below it
through k-space (faster for small cells)."""


def h0_from_pairs(cell, settings: EngineSettings, method: str) -> bool:
    """Whether :func:`zeroth_step` builds H0 (resolved ``method``) as pair blocks."""
    return method == "multigrid" and not settings.spinor and cell.natm >= SPARSE_H0_MIN_ATOMS


def make_mf(cell, settings: EngineSettings):
    """The SCF object (KRKS or KGKS with SOC) on the settings' Γ-centred k-mesh of ``cell``;
    with ``soc_method='gth'`` its core Hamiltonian carries the GTH spin–orbit term
    (:func:`nextham.dft.projectors.add_gth_spin_orbit`)."""
    mesh = settings.kmesh_for(cell.lattice_vectors() * BOHR_ANGSTROM)
    kpts = cell.make_kpts(mesh, wrap_around=True)
    if settings.spin == "soc":
        mf = pbcdft.KGKS(cell, kpts=kpts)
        mf.with_soc = True
    else:
        mf = pbcdft.KRKS(cell, kpts=kpts)
    mf.xc = settings.xc
    mf.conv_tol = settings.conv_tol_ev / HARTREE_EV
    mf.max_cycle = settings.max_cycle
    if settings.smearing_ev > 0:
        mf = smearing_(mf, sigma=settings.smearing_ev / HARTREE_EV, method="fermi")
    if settings.gth_spin_orbit:
        add_gth_spin_orbit(mf)  # V_SO of the GTH projectors in every core Hamiltonian
    return mf


@contextmanager
def h0_hamiltonian(mf, settings: EngineSettings) -> Iterator[None]:
    """Within the block, ``mf`` builds H0's kind of Fock matrix: without the spin–orbit term
    (the ECPs' or the GTH projectors') when ``settings.h0_spin_orbit`` is false (``soc`` runs),
    unchanged otherwise."""
    if settings.h0_spin_orbit:
        yield
        return
    mf.with_soc = False
    try:
        yield
    finally:
        mf.with_soc = True


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


def pin_hcore(mf, h1e: np.ndarray | None = None) -> None:
    """Reuse the core Hamiltonian ``h1e`` (default: computed now) at the SCF k-points (SCF,
    round-trip checks); other k-points and cells still get their own. Only where the SO term
    stays as it is: a spin–orbit run that switches it off for H0 (:func:`h0_hamiltonian`)
    would not see that in a pinned matrix."""
    compute = mf.get_hcore
    h1e = compute() if h1e is None else h1e

    def get_hcore(cell=None, kpts=None):
        same = kpts is None or np.array_equal(np.reshape(kpts, (-1, 3)), mf.kpts)
        return h1e if same and (cell is None or cell is mf.cell) else compute(cell, kpts)

    get_hcore.nextham_pinned = True  # the same matrices as PySCF's own (mesh_fock.applies)
    mf.get_hcore = get_hcore


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


def resolve_h0_method(cell, settings: EngineSettings, method: str) -> str:
    """``reference`` or ``multigrid`` for this cell; raises ValueError for an impossible choice."""
    if method not in H0_METHODS:
        raise ValueError(f"h0_method must be one of {H0_METHODS}, got {method!r}")
    if method == "reference":
        return method
    ok = settings.spin == "scalar" and gridfock.applies(cell, settings.xc)
    if method == "multigrid" and not ok:
        raise ValueError(
            "h0_method 'multigrid' needs a scalar run with GTH pseudopotentials on every atom "
            "and an LDA/GGA functional; use 'reference' (or 'auto')"
        )
    if method == "auto" and not gridfock.verified(cell):
        return "reference"
    return "multigrid" if ok else "reference"


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
    """Whether :func:`mesh_blocks` applies to ``mf`` on the transform mesh ``tmesh``."""
    kfrac = kspace.gamma_mesh(tmesh)
    todo = _irreducible(mf.cell, kfrac, time_reversal=True)[1]
    spinor = isinstance(mf, pbcdft.kgks.KGKS)
    return not spinor and _fold_mesh(mf, kfrac[todo], tmesh) is not None


def mesh_blocks(mf, dms, tmesh, edge_index, cell_shift) -> tuple[list[list], float]:
    """Blocks (eV) of the reference Fock matrix of each density of ``dms`` for the stored
    pairs, all from one folded sweep over the grid (:mod:`nextham.dft.mesh_fock`; scalar,
    :func:`can_fold`), plus the wall time."""
    t0 = time.perf_counter()
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


def zeroth_step(
    atoms: Atoms,
    settings: EngineSettings,
    verbose: int = 0,
    h0_method: str = "reference",
    defer_h0: bool = False,
    report: Callable[[str], None] | None = None,
) -> tuple[dict, object]:
    """S and H0 of one structure, no SCF: returns (record without ``HT``, SCF object).

    The record's ``META`` holds the engine settings, element choices, mesh, electron count,
    the H0 method used (``h0_method``, see :data:`H0_METHODS`) and ``time_h0_s``; the SCF
    object (not yet run) and its SAD density ``mf.nextham_dm0`` (None where H0 was built as
    pair blocks: :data:`SPARSE_H0_MIN_ATOMS`) let a caller go on to the SCF.
    ``defer_h0``: where the folded mesh build applies (:func:`mesh_blocks`), leave ``H0`` out
    of the record (``mf.nextham_h0_deferred``) so that the caller builds it together with HT.
    ``report``: called with one line after each stage (pairs and S, H0), for long runs.
    """
    spinor = settings.spinor
    t0 = time.perf_counter()
    cell = build_cell(atoms, settings, verbose=verbose)
    method = resolve_h0_method(cell, settings, h0_method)
    edge_index, cell_shift, s_blocks = select_pairs(
        cell, settings.overlap_threshold, settings.cutoff
    )
    if report:
        report(f"{len(edge_index)} pairs, S built ({time.perf_counter() - t0:.1f} s)")
    tmesh = kspace.covering_mesh(cell_shift)
    mf = make_mf(cell, settings)
    pairs_only = h0_from_pairs(cell, settings, method)
    dm0 = None if pairs_only else sad_density(mf)
    mf.nextham_h0_deferred = defer_h0 and method == "reference" and can_fold(mf, tmesh)
    if pairs_only:
        h0 = sparse_h0(cell, mf.xc, mf.kpts, edge_index, cell_shift) * HARTREE_EV
    elif not mf.nextham_h0_deferred:
        with h0_hamiltonian(mf, settings):
            h0_blocks, _ = transform_blocks(mf, dm0, tmesh, edge_index, cell_shift, spinor, method)
        h0 = flat_blocks(h0_blocks)
    else:
        h0 = flat_blocks([])
    mf.nextham_dm0, mf.nextham_tmesh = dm0, tmesh
    if report and not mf.nextham_h0_deferred:
        build = "as pair blocks" if pairs_only else f"by {method} through k-space"
        report(f"H0 built {build} ({time.perf_counter() - t0:.1f} s)")
    meta = {
        "nextham_version": nextham.__version__,
        "pyscf_version": pyscf.__version__,
        K.ENGINE_SETTINGS: settings.to_dict(),
        "elements": element_details(atoms.numbers, settings),
        "mesh": [int(m) for m in cell.mesh],
        "ke_cutoff_ev": None if cell.ke_cutoff is None else float(cell.ke_cutoff * HARTREE_EV),
        "transform_mesh": list(tmesh),
        "h0_method": method,
        "h0_build": "pairs" if pairs_only else "k-space",
        "magnetic": False,  # spin-restricted / unpolarized start: time-reversal symmetric
        "n_electrons": float(cell.nelectron),
        "time_h0_s": time.perf_counter() - t0,
    }
    shell_ls = atom_shell_ls(cell)
    record = {
        K.CELL: np.asarray(atoms.cell.array, dtype=float),
        K.POSITIONS: np.asarray(atoms.positions, dtype=float),
        K.NUMBERS: np.asarray(atoms.numbers, dtype=np.int64),
        K.EDGE_INDEX: edge_index,
        K.CELL_SHIFT: cell_shift,
        K.BLOCK_PTR: block_pointers(edge_index, np.diff(atom_ao_slices(cell), axis=1).ravel()),
        K.S: flat_blocks(s_blocks),
        K.H0: h0,
        K.BASIS_LS: {int(z): shell_ls[a] for a, z in enumerate(atoms.numbers)},
        K.SPINOR: spinor,
        K.META: meta,
    }
    if settings.position_matrix:
        record[K.R_MATRIX] = flat_position(position_blocks(cell, edge_index, cell_shift))
    return record, mf
