"""The SAD density: PySCF's atomic guess, with the ground-state configuration where PySCF's
own does not fit the basis (Sc, Y in szv-molopt-sr)."""

import numpy as np
import pytest
from ase.build import bulk
from pyscf.data import elements

from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf
from nextham.dft.sad import sad_density, unfit_elements
from nextham.dft.settings import EngineSettings

SETTINGS = EngineSettings(basis="szv-molopt-sr", kmesh=(1, 1, 1), ke_cutoff_ev=300)


def _mf(symbol: str):
    cell = build_cell(bulk(symbol), SETTINGS)
    return cell, make_mf(cell, SETTINGS)


@pytest.mark.parametrize("symbol", ["Sc", "Y"])
def test_unfit_element_gets_a_density_with_every_electron(symbol):
    cell, mf = _mf(symbol)
    z = int(bulk(symbol).numbers[0])
    before = list(elements.NRSRHF_CONFIGURATION[z])
    with pytest.raises(IndexError):  # PySCF's own configuration asks for a p shell not there
        mf.get_init_guess(key="atom")
    assert unfit_elements(cell) == [z]
    dm = np.asarray(sad_density(mf))
    s = np.asarray(mf.get_ovlp())
    assert np.einsum("kij,kji->", dm, s).real == pytest.approx(cell.nelectron, abs=1e-8)
    assert np.allclose(dm, dm.conj().transpose(0, 2, 1))
    # the configuration table is PySCF's again afterwards
    assert list(elements.NRSRHF_CONFIGURATION[z]) == before


def test_fitting_element_keeps_pyscfs_guess():
    cell, mf = _mf("V")
    assert unfit_elements(cell) == []
    assert np.array_equal(np.asarray(sad_density(mf)), np.asarray(mf.get_init_guess(key="atom")))
