"""Non-magnetic spinor runs through the scalar machinery (:mod:`nextham.dft.nonmagnetic`): the
SCF equals PySCF's own KGKS, and the folded spinor blocks (scalar twin ⊗ 1₂ + GTH V_SO) equal
the k-space transform of PySCF's spinor Fock matrices, for H0 with and without V_SO and HT."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from pyscf.pbc.dft import kgks

from nextham.dft import nonmagnetic
from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf, zeroth_step
from nextham.dft.kspace_fock import can_fold, mesh_blocks, transform_blocks
from nextham.dft.sad import sad_density
from nextham.dft.settings import EngineSettings

PBTE = bulk("PbTe", "rocksalt", a=6.46)
TINY = {"spin": "soc", "soc_method": "gth", "basis": "szv-molopt-sr", "ke_cutoff_ev": 300.0}


def test_spin_diagonal_and_total_density_are_inverse_on_spin_blocks():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, 4, 4)) + 1j * rng.normal(size=(3, 4, 4))
    big = nonmagnetic.spin_diagonal(v)
    assert big.shape == (3, 8, 8)
    assert np.array_equal(big[:, :4, :4], v) and np.array_equal(big[:, 4:, 4:], v)
    assert not big[:, :4, 4:].any() and not big[:, 4:, :4].any()
    assert np.array_equal(nonmagnetic.total_density(big), 2 * v)
    pair = nonmagnetic.spin_diagonal(rng.normal(size=(9, 4)))  # a Ga–As pair block
    assert (
        pair.shape == (18, 8)
        and not pair[:9, 4:].any()
        and np.array_equal(pair[9:, 4:], pair[:9, :4])
    )


def test_scf_equals_pyscf_kgks():
    """Same energy and levels as PySCF's KGKS potential (2×2×2 k, GTH spin–orbit PbTe)."""
    settings = EngineSettings(kmesh=(2, 2, 2), **TINY)
    cell = build_cell(PBTE, settings)
    runs = []
    for ours in (True, False):
        mf = make_mf(cell, settings)
        assert nonmagnetic.is_nonmagnetic(mf)
        if not ours:
            mf.get_veff = lambda *a, _mf=mf, **k: kgks.get_veff(_mf, *a, **k)
        mf.kernel(dm0=sad_density(mf))
        assert mf.converged
        runs.append((mf.e_tot, np.asarray(mf.mo_energy)))
    assert abs(runs[0][0] - runs[1][0]) < 1e-8
    assert np.abs(runs[0][1] - runs[1][1]).max() < 1e-5


@pytest.fixture(scope="module")
def converged():
    settings = EngineSettings(kmesh=(1, 1, 1), **TINY)
    record, mf = zeroth_step(PBTE, settings)
    mf.kernel(dm0=mf.nextham_dm0)
    return record, mf


def test_folded_spinor_blocks_equal_the_kspace_transform(converged):
    """H0 (SAD density, with V_SO and without) and HT (converged density) from the scalar
    twin's fold ⊗ 1₂ + V_SO equal PySCF's spinor Fock matrices transformed to the pairs."""
    record, mf = converged
    edges, shifts, tmesh = record["edge_index"], record["cell_shift"], mf.nextham_tmesh
    assert can_fold(mf, tmesh)
    dms = [mf.nextham_dm0, mf.nextham_dm0, mf.make_rdm1()]
    folded, _ = mesh_blocks(mf, dms, tmesh, edges, shifts, spin_orbit=(True, False, True))
    for n, (dm, with_so) in enumerate(zip(dms, (True, False, True), strict=True)):
        mf.with_soc = with_so
        try:
            ref, _ = transform_blocks(mf, dm, tmesh, edges, shifts, spinor=True)
        finally:
            mf.with_soc = True
        err = max(np.abs(a - b).max() for a, b in zip(folded[n], ref, strict=True))
        assert err < 1e-6, (n, err)
    off = max(np.abs(b[: len(b) // 2, len(b) // 2 :]).max() for b in folded[0])
    assert off > 1e-3  # V_SO couples the spins: the test sees a missing term
    assert max(np.abs(b[: len(b) // 2, len(b) // 2 :]).max() for b in folded[1]) == 0.0
