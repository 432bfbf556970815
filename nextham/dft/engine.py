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
   the stored blocks (:mod:`nextham.dft.kspace_fock`). Time reversal (scalar H(−k) = H(k)*,
   spinor H(−k) = Θ H(k) Θ⁻¹) halves the Fock builds.
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
from ase import Atoms
from pyscf.pbc import dft as pbcdft
from pyscf.pbc.dft import gen_grid
from pyscf.pbc.scf.smearing import smearing_

import nextham
from nextham.conventions import BOHR_ANGSTROM, HARTREE_EV
from nextham.dft import fast_paths, gridfock
from nextham.dft.cell import atom_ao_slices, atom_shell_ls, build_cell
from nextham.dft.core_pp import use_analytic_nonlocal
from nextham.dft.kspace_fock import can_fold, flat_blocks, mesh_blocks, transform_blocks
from nextham.dft.nonmagnetic import make_nonmagnetic
from nextham.dft.pairs import select_pairs
from nextham.dft.parallel import default_workers
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
    (:func:`nextham.dft.projectors.add_gth_spin_orbit`). A KGKS object builds the potential
    of its non-magnetic density as the scalar one ⊗ 1₂ (:mod:`nextham.dft.nonmagnetic`; a fast
    path, :mod:`nextham.dft.fast_paths`)."""
    mesh = settings.kmesh_for(cell.lattice_vectors() * BOHR_ANGSTROM)
    kpts = cell.make_kpts(mesh, wrap_around=True)
    if settings.spin == "soc":
        mf = pbcdft.KGKS(cell, kpts=kpts)
        mf.with_soc = True
    else:
        mf = pbcdft.KRKS(cell, kpts=kpts)
    use_analytic_nonlocal(mf)  # FFT local V_pp, analytic V_nl (core_pp)
    mf.xc = settings.xc
    mf.conv_tol = settings.conv_tol_ev / HARTREE_EV
    mf.max_cycle = settings.max_cycle
    if settings.smearing_ev > 0:
        mf = smearing_(mf, sigma=settings.smearing_ev / HARTREE_EV, method="fermi")
    if settings.gth_spin_orbit:
        add_gth_spin_orbit(mf)  # V_SO of the GTH projectors in every core Hamiltonian
    if settings.spinor and fast_paths.enabled():
        make_nonmagnetic(mf)  # V_eff of the total density: scalar cost, same SCF
    return mf


def screen_scf_grid(mf) -> None:
    """Give the SCF's uniform grid the screening mask of the density fitting's grid (PySCF
    leaves it unscreened for V_xc), so that the orbital values of both are one cached set
    (:mod:`nextham.dft.ao_cache`); the same numbers. Before an SCF only: the mask costs a pass
    over the whole grid, which a large cell's pair-block H0 never makes."""
    if fast_paths.enabled() and isinstance(mf.grids, gen_grid.UniformGrids):
        mf.grids.build(with_non0tab=True)


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
    if method == "auto" and not gridfock.verified(cell, settings.basis):
        return "reference"
    return "multigrid" if ok else "reference"


def zeroth_step(
    atoms: Atoms,
    settings: EngineSettings,
    verbose: int = 0,
    h0_method: str = "reference",
    defer_h0: bool = False,
    report: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> tuple[dict, object]:
    """S and H0 of one structure, no SCF: returns (record without ``HT``, SCF object).

    The record's ``META`` holds the engine settings, element choices, mesh, electron count,
    the H0 method used (``h0_method``, see :data:`H0_METHODS`) and ``time_h0_s``; the SCF
    object (not yet run) and its SAD density ``mf.nextham_dm0`` (None where H0 was built as
    pair blocks: :data:`SPARSE_H0_MIN_ATOMS`) let a caller go on to the SCF.
    ``defer_h0``: where the folded mesh build applies (:func:`mesh_blocks`), leave ``H0`` out
    of the record (``mf.nextham_h0_deferred``) so that the caller builds it together with HT.
    ``report``: called with one line after each stage (pairs and S, H0), for long runs.
    ``workers``: processes of a pair-block H0 build (None: :func:`nextham.dft.parallel.
    default_workers`).
    """
    spinor = settings.spinor
    t0 = time.perf_counter()
    cell = build_cell(atoms, settings, verbose=verbose)
    method = resolve_h0_method(cell, settings, h0_method)
    pairs_only = h0_from_pairs(cell, settings, method)
    workers = (default_workers() if workers is None else workers) if pairs_only else 1
    edge_index, cell_shift, s_blocks = select_pairs(
        cell, settings.overlap_threshold, settings.cutoff, workers
    )
    if report:
        report(f"{len(edge_index)} pairs, S built ({time.perf_counter() - t0:.1f} s)")
    tmesh = kspace.covering_mesh(cell_shift)
    mf = make_mf(cell, settings)
    dm0 = None if pairs_only else sad_density(mf)
    mf.nextham_h0_deferred = defer_h0 and method == "reference" and can_fold(mf, tmesh)
    if pairs_only:
        h0 = sparse_h0(cell, mf.xc, mf.kpts, edge_index, cell_shift, workers) * HARTREE_EV
    elif not mf.nextham_h0_deferred:
        if method == "reference" and can_fold(mf, tmesh):  # one folded sweep (spinor too)
            spin_orbit = (settings.h0_spin_orbit,)
            ((h0_blocks,), _) = mesh_blocks(mf, [dm0], tmesh, edge_index, cell_shift, spin_orbit)
        else:
            with h0_hamiltonian(mf, settings):
                h0_blocks, _ = transform_blocks(
                    mf, dm0, tmesh, edge_index, cell_shift, spinor, method
                )
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
