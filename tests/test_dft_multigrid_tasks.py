"""The multigrid task partition whose plain-FFT task holds only the most diffuse primitives."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from pyscf.pbc.dft import multigrid
from pyscf.pbc.dft.multigrid import multigrid as mg

from nextham.conventions import HARTREE_EV
from nextham.dft import gridfock, multigrid_tasks
from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf
from nextham.dft.realspace_grid import local_matrices
from nextham.dft.settings import EngineSettings

SETTINGS = EngineSettings(kmesh=(1, 1, 1))


def _cell(a: float):
    return build_cell(bulk("Si", "diamond", a=a, cubic=True), SETTINGS)


def _first_task_shells(cell, task_list) -> set[int]:
    """Angular momenta of the shells of the plain-FFT task (the first, without a partner)."""
    dense, sparse = task_list[0]
    assert sparse is None
    return {int(dense.cell.bas_angular(b)) for b in range(dense.cell.nbas)}


@pytest.mark.parametrize("a", [5.6, 6.3])
def test_plain_fft_task_holds_only_the_smallest_cutoff(a):
    """Si cubes where PySCF's own ladder puts the diffuse s and p in the plain-FFT task: the
    partition here keeps only the s (the smallest cutoff), and every orbital stays covered."""
    cell = _cell(a)
    ke = multigrid_tasks.cutoffs(cell)
    assert _first_task_shells(cell, mg.multi_grids_tasks(cell, cell.mesh)) == {0, 1}
    mine = multigrid_tasks.tasks(cell)
    assert _first_task_shells(cell, mine) == {0}
    first = mine[0][0].cell
    kes = mg._primitive_gto_cutoff(first)[1]
    assert max(k.max() for k in kes) == pytest.approx(ke[0], rel=1e-12)
    covered = np.unique(np.concatenate([np.asarray(d.ao_idx) for d, _ in mine]))
    assert np.array_equal(covered, np.arange(cell.nao_nr()))


def test_same_matrix_elements_as_pyscfs_partition():
    """The local potential's Γ matrix from either partition agrees to the grid precision."""
    cell = _cell(5.6)
    mf = make_mf(cell, SETTINGS)
    dm0 = mf.get_init_guess(key="atom")
    ni_ref = multigrid.MultiGridNumInt(cell).build()
    v_g = gridfock.local_potential_g(ni_ref, cell, mf.xc, np.asarray(dm0), mf.kpts)
    gamma = np.zeros((1, 3))

    def at_gamma(ni) -> np.ndarray:
        by_shift, dense_k = local_matrices(ni, cell, v_g, gamma)
        return (dense_k[0] + sum(by_shift.values())).real * HARTREE_EV

    ref, mine = at_gamma(ni_ref), at_gamma(multigrid_tasks.numint(cell))
    assert np.abs(ref).max() > 1.0
    assert np.abs(mine - ref).max() < 1e-5  # eV


def test_small_cells_keep_pyscfs_partition(monkeypatch):
    """Below MIN_ATOMS the H0 builds use PySCF's partition (labels unchanged), from it ours."""
    cell = _cell(5.6)
    assert _first_task_shells(cell, multigrid_tasks.numint_for(cell).tasks) == {0, 1}
    monkeypatch.setattr(multigrid_tasks, "MIN_ATOMS", cell.natm)
    assert _first_task_shells(cell, multigrid_tasks.numint_for(cell).tasks) == {0}
