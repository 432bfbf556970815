"""The superposition-of-atomic-densities (SAD) density matrix that H0 is built from.

PySCF's ``get_init_guess(key="atom")`` runs a spherically averaged atomic SCF per element, with
the occupations of ``pyscf.data.elements.NRSRHF_CONFIGURATION``, and places its density on every
atom. For Sc and Y that configuration is 4p¹ (5p¹), a shell the MOLOPT-SR minimal basis does not
have (its p functions are the semicore 3p), and PySCF fails with IndexError. For such an element
the atomic SCF here uses the ground-state configuration ``elements.CONFIGURATION`` (3d¹ 4s²)
instead; every other element keeps PySCF's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from pyscf import gto
from pyscf.data import elements
from pyscf.scf import atom_hf

from nextham.dft.pairs import pair_blocks


def _fits(cell, atom: int, configuration: list) -> bool:
    """Whether the valence occupations of ``configuration`` fit the atom's basis shells."""
    symbol = cell.atom_pure_symbol(atom)
    core = gto.ecp.core_configuration(cell.atom_nelec_core(atom), atom_symbol=symbol)
    ls = [cell.bas_angular(b) for b in range(cell.nbas) if cell.bas_atom(b) == atom]
    nctr = [cell.bas_nctr(b) for b in range(cell.nbas) if cell.bas_atom(b) == atom]
    for l in range(4):
        n_full, frac = atom_hf.frac_occ(symbol, l, configuration)
        n_shells = sum(n for ll, n in zip(ls, nctr) if ll == l)
        if n_full - core[l] + (frac > 0) > n_shells:
            return False
    return True


def unfit_elements(cell) -> list[int]:
    """Atomic numbers whose PySCF SAD configuration does not fit the cell's basis."""
    zs = {int(cell.atom_charges()[a] + cell.atom_nelec_core(a)): a for a in range(cell.natm)}
    return sorted(z for z, a in zs.items() if not _fits(cell, a, elements.NRSRHF_CONFIGURATION))


@contextlib.contextmanager
def _ground_state_configuration(zs: list[int]) -> Iterator[None]:
    """Meanwhile, PySCF's atomic SCF occupies the ground-state configuration for ``zs``."""
    table = elements.NRSRHF_CONFIGURATION  # the default argument PySCF's atomic SCF reads
    saved = {z: table[z] for z in zs}
    try:
        for z in zs:
            table[z] = elements.CONFIGURATION[z]
        yield
    finally:
        for z, value in saved.items():
            table[z] = value


def sad_density(mf) -> np.ndarray:
    """The SAD density matrix of ``mf``'s cell on its k-mesh, as ``get_init_guess`` shapes it."""
    with _ground_state_configuration(unfit_elements(mf.cell)):
        return mf.get_init_guess(key="atom")


def sad_blocks(cell, kpts: np.ndarray, bvk_bohr: np.ndarray) -> list[np.ndarray]:
    """The per-atom blocks of :func:`sad_density` without the whole-cell matrix: (n_a, n_a)
    real for each atom, PySCF's atomic densities scaled as ``get_init_guess`` scales them.

    ``bvk_bohr``: (n, 3) the lattice vectors R (Bohr) where the k-mesh ``kpts`` repeats
    (:func:`nextham.dft.gridfock.bvk_shifts`, R = 0 included). The electron count PySCF checks
    is Σ_k tr D S(k) = n_k Σ_a Σ_R tr(D_a S_aa(R)); when it is off by more than 0.01 per
    k-point, every block is scaled to the cell's electron count, as there."""
    if cell.cart:
        raise ValueError("sad_blocks: Cartesian basis functions are not supported")
    with _ground_state_configuration(unfit_elements(cell)):
        atomic = atom_hf.get_atm_nrhf(cell)
    shifts = np.rint(np.asarray(bvk_bohr) @ np.linalg.inv(cell.lattice_vectors())).astype(int)
    blocks, count, per_symbol = [], 0.0, {}
    for a in range(cell.natm):
        symbol = cell.atom_symbol(a)
        if symbol not in per_symbol:
            key = symbol if symbol in atomic else cell.atom_pure_symbol(a)
            n = int(np.diff(cell.aoslice_by_atom()[a, 2:4])[0])
            if key in atomic:
                _, _, c, occ = atomic[key]
                block = (c * occ) @ c.T
            else:
                block = np.zeros((n, n))
            pairs = np.tile([a, a], (len(shifts), 1))
            s_images = pair_blocks(cell, pairs, shifts)
            per_symbol[symbol] = (block, sum(float(np.sum(block * s.T)) for s in s_images))
        block, electrons = per_symbol[symbol]
        blocks.append(block)
        count += electrons
    target = float(cell.tot_electrons(1))
    if abs(count - target) > 0.01:
        blocks = [b * (target / count) for b in blocks]
    return blocks
