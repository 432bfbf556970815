"""Cached orbital values: the same label (to rounding), PySCF restored afterwards."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from ase.build import bulk
from pyscf.pbc.dft import numint

from nextham.dft import label
from nextham.dft.ao_cache import cached_ao_values
from nextham.dft.cell import build_cell
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K


def test_label_with_cached_orbitals_is_the_label_without(si_record, si_settings, monkeypatch):
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions += np.random.default_rng(0).normal(0, 0.03, atoms.positions.shape)
    monkeypatch.setattr(label, "cached_ao_values", lambda **_: contextlib.nullcontext())
    plain = label.compute_record(atoms, si_settings)
    for key in (K.S, K.H0, K.HT):
        # HT to rounding: the SCF's values without gradients come from those with them
        assert np.allclose(plain[key], si_record[key], rtol=0, atol=1e-10), key
    assert plain[K.META]["scf_cycles"] == si_record[K.META]["scf_cycles"]


def test_cache_hands_back_read_only_values_within_budget_and_restores_pyscf():
    cell = build_cell(bulk("Si", "diamond", a=5.43), EngineSettings(ke_cutoff_ev=300.0))
    coords, kpts = cell.gen_uniform_grids(), cell.make_kpts((2, 1, 1))
    original = numint.KNumInt.__dict__["eval_ao"]
    with cached_ao_values() as cache:
        first = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=1)
        again = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=1)
        other_k = numint.KNumInt.eval_ao(cell, coords, kpts[:1], deriv=1)
        assert again is first and len(cache) == 2 and other_k[0].shape == first[0].shape
        with pytest.raises(ValueError):
            first[0][0, 0, 0] = 1.0
    assert numint.KNumInt.__dict__["eval_ao"] is original
    fresh = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=1)
    assert np.array_equal(fresh, first)
    with cached_ao_values(max_bytes=0) as cache:
        numint.KNumInt.eval_ao(cell, coords, kpts)
        assert cache == {}


def test_grid_mask_is_computed_once_per_grid_and_equals_pyscfs():
    from pyscf.pbc.df import fft as pbc_fft
    from pyscf.pbc.dft import gen_grid

    cell = build_cell(bulk("Si", "diamond", a=5.43), EngineSettings(ke_cutoff_ev=300.0))
    df = pbc_fft.FFTDF(cell)
    plain = df.grids.build(with_non0tab=True).non0tab
    original = gen_grid.UniformGrids.make_mask
    with cached_ao_values():
        first = df.grids.build(with_non0tab=True).non0tab  # a new grid object each time
        again = df.grids.build(with_non0tab=True).non0tab
        assert again is first and np.array_equal(first, plain)
        other = build_cell(bulk("Si", "diamond", a=5.50), EngineSettings(ke_cutoff_ev=300.0))
        moved = pbc_fft.FFTDF(other).grids.build(with_non0tab=True).non0tab
        assert moved is not first
    assert gen_grid.UniformGrids.make_mask is original


def test_values_without_gradients_come_from_the_entry_with_them():
    cell = build_cell(bulk("Si", "diamond", a=5.43), EngineSettings(ke_cutoff_ev=300.0))
    coords, kpts = cell.gen_uniform_grids(), cell.make_kpts((2, 1, 1))
    plain = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=0)
    with cached_ao_values() as cache:
        first = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=0)
        assert len(cache) == 1
        grad = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=1)
        assert len(cache) == 1  # the entry without gradients was superseded, not kept beside
        served = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=0)
        assert len(cache) == 1
        for a, b, c, g in zip(plain, first, served, grad):
            assert np.array_equal(a, b) and np.array_equal(a, c)
            assert np.shares_memory(c, g)  # a view of the gradients' entry, not a copy
    # a budget that holds the values without gradients but not with them keeps the former
    size = sum(np.asarray(a).nbytes for a in plain)
    with cached_ao_values(max_bytes=size + 1) as cache:
        numint.KNumInt.eval_ao(cell, coords, kpts, deriv=0)
        numint.KNumInt.eval_ao(cell, coords, kpts, deriv=1)
        assert len(cache) == 1 and next(iter(cache)).endswith("/0")


def test_budget_from_the_environment(monkeypatch):
    from nextham.dft import ao_cache

    monkeypatch.delenv(ao_cache.BUDGET_ENV, raising=False)
    assert ao_cache.cache_budget() == ao_cache.AO_CACHE_BYTES
    monkeypatch.setenv(ao_cache.BUDGET_ENV, "4.5")
    assert ao_cache.cache_budget() == 4_500_000_000
    monkeypatch.setenv(ao_cache.BUDGET_ENV, "lots")
    with pytest.raises(ValueError, match="NEXTHAM_AO_CACHE_GB"):
        ao_cache.cache_budget()


def test_gradients_first_serves_both_requests_from_one_evaluation(monkeypatch):
    cell = build_cell(bulk("Si", "diamond", a=5.43), EngineSettings(ke_cutoff_ev=300.0))
    coords, kpts = cell.gen_uniform_grids(), cell.make_kpts((2, 1, 1))
    plain = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=0)
    calls = []
    original = numint.KNumInt.__dict__["eval_ao"].__func__

    def counting(*args, **kwargs):
        calls.append(args[3] if len(args) > 3 else kwargs.get("deriv", 0))
        return original(*args, **kwargs)

    monkeypatch.setattr(numint.KNumInt, "eval_ao", staticmethod(counting))
    with cached_ao_values(gradients=True) as cache:
        first = numint.KNumInt.eval_ao(cell, coords, kpts, deriv=0)
        numint.KNumInt.eval_ao(cell, coords, kpts, deriv=1)
        assert calls == [1] and len(cache) == 1  # one evaluation, with gradients
        assert all(np.array_equal(a, b) for a, b in zip(plain, first))
    calls.clear()
    with cached_ao_values(max_bytes=1000, gradients=True):  # they would not fit: plain values
        numint.KNumInt.eval_ao(cell, coords, kpts, deriv=0)
        assert calls == [0]


def test_scf_grid_gets_the_density_fittings_mask_and_zeroth_step_leaves_it():
    from nextham.dft.engine import screen_scf_grid, zeroth_step

    settings = EngineSettings(kmesh=(1, 1, 1), ke_cutoff_ev=300.0)
    _, mf = zeroth_step(bulk("Si", "diamond", a=5.43), settings)
    assert mf.grids.non0tab is None  # no pass over the grid for a cell that may be huge
    screen_scf_grid(mf)
    df_grids = mf.with_df.grids.build(with_non0tab=True)
    assert np.array_equal(mf.grids.non0tab, df_grids.non0tab)
