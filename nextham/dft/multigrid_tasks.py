"""PySCF's multigrid tasks with a partition that does not depend on the cell's size.

PySCF splits the primitive Gaussians into tasks by their kinetic-energy cutoffs, in bands
(ke₀·1.3ⁿ₋₁, ke₀·1.3ⁿ], each integrated on its own mesh against the more diffuse functions
as a sparse partner; the lowest non-empty band has no partner and is integrated on a plain
FFT mesh over the whole cell. Its ke₀ is the cutoff of a fixed 12-point mesh of the cell, so
it shrinks as 1/L² and the band edges slide through the primitives' cutoffs as the cell
grows: rattled Si in gth-szv puts the s of its most diffuse exponent (cutoff 6.3 Ha) alone in
the plain-FFT task at 512 and 4,096 atoms, but its p (7.9 Ha) with it at 10,648 atoms —
four times the orbitals of the task whose cost grows fastest with the cell
(:func:`nextham.dft.grid_pairs.potential_blocks`).

:func:`numint` places the ladder instead (PySCF's first-band mesh chosen,
:func:`first_band_mesh`) so that one edge falls between the smallest primitive cutoff and the
next: the plain-FFT task holds only the most diffuse primitives, whatever the cell. The H0
builds use it from :data:`MIN_ATOMS` atoms (:func:`numint_for`); smaller cells, the labels
among them, keep PySCF's partition. Every task is integrated to the same precision either
way, so the matrix elements agree with PySCF's partition to that precision
(``tests/test_dft_multigrid_tasks.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from pyscf.pbc import tools
from pyscf.pbc.dft import multigrid
from pyscf.pbc.dft.multigrid import multigrid as mg

MIN_ATOMS = 128
"""Cells of fewer atoms keep PySCF's own partition (:func:`numint_for`): its plain-FFT task is
cheap there, and the engine's labels stay bit for bit what they were."""
MARGIN = 1e-9
"""Relative margin kept between a band edge and a primitive's cutoff."""
MAX_INIT_MESH = 64
"""Largest first-band mesh tried when looking for an edge between the two smallest cutoffs."""


def cutoffs(cell) -> np.ndarray:
    """The distinct kinetic-energy cutoffs (Hartree) of the cell's primitive Gaussians, sorted."""
    return np.unique(np.concatenate(mg._primitive_gto_cutoff(cell)[1]))


def first_band_mesh(cell) -> np.ndarray | None:
    """The mesh for PySCF's first band whose ladder ke₀·1.3ⁿ puts an edge closest above the
    smallest primitive cutoff, below the next one (None when no mesh up to
    :data:`MAX_INIT_MESH` does)."""
    ke = cutoffs(cell)
    low, high = ke[0] * (1 + MARGIN), (ke[1] if len(ke) > 1 else np.inf) * (1 - MARGIN)
    a = cell.lattice_vectors()
    best, best_edge = None, high
    for m in range(3, MAX_INIT_MESH + 1):  # a mesh of 1 or 2 points has cutoff 0
        edge = tools.mesh_to_cutoff(a, np.array([m, m, m])).min()
        while edge < low:  # PySCF's ladder, multiplied in the same order
            edge *= mg.KE_RATIO
        if edge < best_edge:
            best, best_edge = np.array([m, m, m]), edge
    return best


@contextmanager
def _init_mesh(cell, mesh: np.ndarray) -> Iterator[None]:
    """PySCF's first-band mesh of ``cell``'s lattice kind set to ``mesh`` for the block."""
    a = cell.lattice_vectors()
    orth = abs(a - np.diag(a.diagonal())).max() < 1e-12
    name = "INIT_MESH_ORTH" if orth else "INIT_MESH_NONORTH"
    saved = getattr(mg, name)
    setattr(mg, name, tuple(int(m) for m in mesh))
    try:
        yield
    finally:
        setattr(mg, name, saved)


def tasks(cell, fft_mesh=None) -> list:
    """PySCF's ``[dense grids, sparse grids or None]`` tasks of ``cell``, the ladder of band
    edges placed so that the plain-FFT task holds only the primitives of the smallest cutoff
    (PySCF's own ladder where no first-band mesh places it so: :func:`first_band_mesh`)."""
    fft_mesh = cell.mesh if fft_mesh is None else fft_mesh
    mesh = first_band_mesh(cell)
    if mesh is None:
        return mg.multi_grids_tasks_for_ke_cut(cell, fft_mesh)
    with _init_mesh(cell, mesh):
        return mg.multi_grids_tasks_for_ke_cut(cell, fft_mesh)


def numint(cell) -> multigrid.MultiGridNumInt:
    """A built ``MultiGridNumInt`` of ``cell`` whose tasks are :func:`tasks`."""
    ni = multigrid.MultiGridNumInt(cell)
    ni.tasks = tasks(cell, ni.mesh)
    return ni


def numint_for(cell) -> multigrid.MultiGridNumInt:
    """The ``MultiGridNumInt`` the H0 builds use: :func:`numint` from :data:`MIN_ATOMS` atoms,
    PySCF's own partition below."""
    if cell.natm >= MIN_ATOMS:
        return numint(cell)
    return multigrid.MultiGridNumInt(cell).build()
