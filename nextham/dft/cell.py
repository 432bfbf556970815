"""Build a PySCF periodic cell from a structure in Å (the only place geometry enters PySCF)."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from pyscf.pbc import gto as pbcgto

from nextham.conventions import HARTREE_EV
from nextham.dft.settings import EngineSettings, element_choice, ke_cutoff_ev


def build_cell(atoms: Atoms, settings: EngineSettings, verbose: int = 0) -> pbcgto.Cell:
    """Return a built :class:`pyscf.pbc.gto.Cell` for ``atoms`` under ``settings``.

    Positions and lattice are passed in Å (``cell.unit = 'A'``); the cutoff is converted from
    eV to Hartree here. Raises ``ValueError`` for non-periodic input or unsupported elements.
    """
    if not all(atoms.pbc):
        raise ValueError("structure must be periodic in all three directions (set pbc=True)")
    if abs(np.linalg.det(atoms.cell.array)) < 1e-6:
        raise ValueError("structure has a singular or missing cell; give three lattice vectors")
    cell = pbcgto.Cell()
    cell.unit = "A"
    cell.a = np.asarray(atoms.cell.array, dtype=float)
    cell.atom = [[s, tuple(p)] for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)]
    basis, pseudo, ecp = {}, {}, {}
    for z in sorted(set(atoms.numbers.tolist())):
        choice = element_choice(int(z), settings)
        basis[choice.symbol] = choice.basis
        if choice.pseudo:
            pseudo[choice.symbol] = choice.pseudo
        if choice.ecp:
            ecp[choice.symbol] = choice.ecp
    cell.basis = basis
    cell.pseudo = pseudo or None
    cell.ecp = ecp or None
    cut = ke_cutoff_ev(atoms.numbers, settings)
    if cut is not None:
        cell.ke_cutoff = cut / HARTREE_EV
    cell.spin = 0
    cell.verbose = verbose
    cell.build()
    return cell


def atom_shell_ls(cell: pbcgto.Cell) -> list[tuple[int, ...]]:
    """Angular momentum of each shell of each atom, in PySCF's order (one entry per contraction)."""
    out: list[list[int]] = [[] for _ in range(cell.natm)]
    for b in range(cell.nbas):
        l = cell.bas_angular(b)
        out[cell.bas_atom(b)].extend([l] * cell.bas_nctr(b))
    return [tuple(ls) for ls in out]


def atom_ao_slices(cell: pbcgto.Cell) -> np.ndarray:
    """(natm, 2) start/stop of each atom's spherical AOs in the cell's AO order."""
    return np.asarray(cell.aoslice_by_atom()[:, 2:4], dtype=np.int64)
