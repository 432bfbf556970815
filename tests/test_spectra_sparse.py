"""Sparse spectra against dense diagonalization: H(k), S(k), shift-invert, inertia, E_F, KPM."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from records import random_record

from nextham.bands.compute import BandStructure, band_structure, density_of_states
from nextham.cli.main import main
from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.predict import Predictor
from nextham.predict.predictor import prediction_spectra
from nextham.record import keys as K
from nextham.spectra import direct, kpm, slicing
from nextham.spectra.bloch import record_bloch
from nextham.spectra.eigen import band_energies, mesh_fermi_level
from nextham.spectra.kpm import KPMDos, jackson_kernel, kpm_dos
from nextham.spectra.kspace import gamma_mesh
from nextham.spectra.largecell import (
    SPARSE_THRESHOLD,
    CellSpectra,
    band_window,
    record_pencils,
    sparse_band_edges,
    sparse_band_energies,
    sparse_mesh_dos,
    sparse_mesh_fermi_level,
    spectral_method,
)
from nextham.spectra.slicing import Slicer
from nextham.spectra.sparse import SparseBloch, record_sparse
from nextham.store.hdf5 import write_record
from nextham.testing import tight_binding_record

FACTOR = slicing.factor
KPTS = np.array([[0.0, 0.0, 0.0], [0.13, -0.27, 0.4], [0.5, 0.5, 0.0], [0.31, 0.07, -0.19]])


@pytest.fixture(autouse=True, params=["pardiso", "superlu"])
def sparse_solver(request):
    """Every sparse-spectra test with both factorization backends."""
    with direct.use_backend(request.param):
        yield request.param


@pytest.mark.parametrize("spinor", [False, True])
def test_sparse_bloch_equals_dense(spinor):
    """Random blocks (every entry different) at general k: a wrong phase or block fails."""
    rec = random_record(spinor=spinor, seed=3)
    bloch = SparseBloch(rec)
    for key in (K.S, K.H0, K.HT):
        dense = record_bloch(rec, key, KPTS).numpy()
        for q, k in enumerate(KPTS):
            sparse = record_sparse(rec, key, k)
            assert sparse.shape == dense[q].shape
            np.testing.assert_allclose(sparse.toarray(), dense[q], rtol=0, atol=1e-12)
    for k in KPTS:
        h, s = bloch.at(k)
        np.testing.assert_allclose(h.toarray(), record_bloch(rec, K.HT, k[None]).numpy()[0],
                                   rtol=0, atol=1e-12)  # fmt: skip
        np.testing.assert_allclose(s.toarray(), record_bloch(rec, K.S, k[None]).numpy()[0],
                                   rtol=0, atol=1e-12)  # fmt: skip
        assert abs(h - h.getH()).max() < 1e-12
    assert bloch.h(KPTS[0]).dtype == (np.complex128 if spinor else np.float64)


def test_sparse_storage_is_proportional_to_entries():
    """Stored entries per row stay 7 blocks × 4 orbitals (self + 6 neighbours) at any size."""
    for cells in ((3, 3, 3), (6, 6, 6)):
        rec = tight_binding_record(cells)
        h = SparseBloch(rec).h(KPTS[1])
        assert h.shape == (4 * np.prod(cells),) * 2
        assert h.nnz == len(rec[K.HT]) == 28 * h.shape[0]


@pytest.mark.parametrize("spinor", [False, True])
def test_shift_invert_and_inertia_match_dense(spinor):
    rec = tight_binding_record((3, 3, 2), spinor=spinor, seed=1)
    pencils = record_pencils(rec, None, KPTS)
    dense = band_energies(rec, rec[K.HT], KPTS)
    for q, pencil in enumerate(pencils):
        for target in (-5.3, 0.4, 5.0):
            assert pencil.count_below(target) == int((dense[q] < target).sum())
            near = pencil.nearest(target, 6)
            ref = np.sort(dense[q][np.argsort(np.abs(dense[q] - target))[:6]])
            assert np.abs(near - ref).max() < 1e-6
    first, count = band_window(rec, 8)
    bands = sparse_band_energies(rec, None, KPTS, first, count, sigma=0.4)
    assert np.abs(bands - dense[:, first : first + count]).max() < 1e-6


@pytest.mark.parametrize("spinor", [False, True])
def test_band_edges_and_insulator_fermi_level(spinor):
    """Inertia bisection finds the dense VBM, CBM, gap and mid-gap E_F (gap ≫ 20 σ)."""
    rec = tight_binding_record((3, 2, 2), spinor=spinor, gap_ev=16.0, seed=2)
    mesh = (2, 2, 1)
    dense = band_energies(rec, rec[K.HT], gamma_mesh(mesh))
    g = 1 if spinor else 2
    n_occ = round(rec[K.META]["n_electrons"] * len(dense) / g)
    levels = np.sort(dense.ravel())
    edges = sparse_band_edges(rec, None, gamma_mesh(mesh))
    assert abs(edges.vbm - levels[n_occ - 1]) < 1e-6
    assert abs(edges.cbm - levels[n_occ]) < 1e-6
    assert edges.gap > 2.0
    assert levels[n_occ] in dense[edges.k_cbm] and levels[n_occ - 1] in dense[edges.k_vbm]
    ef_dense, _ = mesh_fermi_level(rec, rec[K.HT], mesh, 0.1)
    assert abs(sparse_mesh_fermi_level(rec, None, mesh, 0.1) - ef_dense) < 1e-6
    # Γ only: the edges from one factorization at the KPM guess, the same E_F
    ef_gamma, eps = mesh_fermi_level(rec, rec[K.HT], (1, 1, 1), 0.1)
    spectra = CellSpectra(rec, None, np.zeros((1, 3)))
    assert abs(spectra.fermi_level(0.1) - ef_gamma) < 1e-6
    level = np.sort(eps.ravel())
    assert abs(spectra.band_edges().gap - (level[n_occ // 4] - level[n_occ // 4 - 1])) < 1e-6


@pytest.mark.parametrize("spinor", [False, True])
def test_band_edges_from_one_factorization_near_the_kpm_fermi_level(spinor, monkeypatch):
    """Γ only: the KPM estimate of E_F lands in the gap, and the edges from one factorization
    there equal dense diagonalization's; from a guess deep in the valence band too."""
    rec = tight_binding_record((3, 3, 2), spinor=spinor, gap_ev=16.0, seed=3)
    gamma = np.zeros((1, 3))
    levels = np.sort(band_energies(rec, rec[K.HT], gamma).ravel())
    g = 1 if spinor else 2
    n_occ = round(rec[K.META]["n_electrons"] / g)
    dos = sparse_mesh_dos(rec, None, (1, 1, 1), resolution_ev=0.1, n_vectors=8)
    guess = dos.fermi_guess(rec[K.META]["n_electrons"])
    assert levels[n_occ - 1] < guess < levels[n_occ]
    factors = []
    monkeypatch.setattr(slicing, "factor", lambda *a: factors.append(a[2]) or FACTOR(*a))
    deep = levels[n_occ // 2 : n_occ // 2 + 8]
    j = int(np.argmax(np.diff(deep)))  # between two valence levels: H − εS not singular
    for near in (guess, 0.5 * (deep[j] + deep[j + 1])):
        factors.clear()
        edges = sparse_band_edges(rec, None, gamma, near=near)
        assert abs(edges.vbm - levels[n_occ - 1]) < 1e-6 and abs(edges.cbm - levels[n_occ]) < 1e-6
        assert len(factors) == 1  # one LU, at the guess


@pytest.mark.parametrize("spinor", [False, True])
def test_metal_fermi_level_equals_dense(spinor):
    """One electron per atom: a half-filled s band, Fermi–Dirac μ with σ = 0.1 eV."""
    rec = tight_binding_record((3, 3, 2), spinor=spinor, electrons_per_atom=1.0, seed=4)
    for mesh, smearing in (((2, 2, 1), 0.1), ((1, 1, 1), 0.05)):
        ef_dense, eps = mesh_fermi_level(rec, rec[K.HT], mesh, smearing)
        n_occ = round(rec[K.META]["n_electrons"] * len(eps) / (1 if spinor else 2))
        levels = np.sort(eps.ravel())
        assert levels[n_occ] - levels[n_occ - 1] < 20 * smearing  # smeared, not mid-gap
        assert abs(sparse_mesh_fermi_level(rec, None, mesh, smearing) - ef_dense) < 1e-6


@pytest.mark.parametrize("spinor", [False, True])
def test_kpm_dos_counts_states_and_matches_dense(spinor):
    rec = tight_binding_record((4, 4, 2), spinor=spinor, gap_ev=16.0, seed=5)
    mesh, width, g = (2, 1, 1), 0.3, 1.0 if spinor else 2.0
    eps = band_energies(rec, rec[K.HT], gamma_mesh(mesh))
    dos = sparse_mesh_dos(rec, None, mesh, resolution_ev=width, n_vectors=32)
    energies = np.linspace(dos.center - dos.half_width, dos.center + dos.half_width, 6001)
    rho = dos.dos(energies)
    n_states = g * eps.shape[1]
    assert abs(np.trapezoid(rho, energies) / n_states - 1) < 0.01
    levels = np.sort(eps.ravel())
    n_occ = round(rec[K.META]["n_electrons"] * len(eps) / g)
    ef = 0.5 * (levels[n_occ - 1] + levels[n_occ])
    assert abs(dos.count_below(ef) / rec[K.META]["n_electrons"] - 1) < 0.01
    # shape: relative L1 distance to the dense DOS, Gaussian-broadened to the same width
    ref = density_of_states(eps, energies, width, g)
    l1 = np.trapezoid(np.abs(rho - ref), energies) / np.trapezoid(ref, energies)
    assert l1 < 0.12
    # the same Jackson series from the exact dense moments: only the stochastic trace differs
    x = (eps.ravel() - dos.center) / dos.half_width
    n = len(dos.moments)
    exact = np.cos(np.outer(np.arange(n), np.arccos(x))).sum(1) / len(eps)
    ref_kpm = KPMDos(g * exact * jackson_kernel(n), dos.center, dos.half_width, g).dos(energies)
    assert np.trapezoid(np.abs(rho - ref_kpm), energies) / n_states < 0.06


@pytest.mark.parametrize("spinor", [False, True])
def test_kpm_moments_with_every_unit_vector_are_exact_traces(spinor, sparse_solver):
    """z = I makes the stochastic trace exact: both recursions (LU: S⁻¹H, one solve per
    moment; Cholesky: F H Fᴴ with doubling) give Σ_i T_n(x_i) of the dense eigenvalues."""
    rec = tight_binding_record((2, 2, 2), spinor=spinor, seed=6)
    k = KPTS[1]
    pencil = record_pencils(rec, None, k[None])[0]
    eps = band_energies(rec, rec[K.HT], k[None]).ravel()
    center, half, n = eps.mean(), 0.6 * np.ptp(eps), 21
    exact = np.cos(np.outer(np.arange(n), np.arccos((eps - center) / half))).sum(1)
    z = np.eye(pencil.n)
    s_f = pencil.s_factor()
    mu = kpm._plain_moments(pencil.h, s_f, z, center, half, n) * pencil.n
    np.testing.assert_allclose(mu, exact, rtol=0, atol=1e-8 * pencil.n)
    if sparse_solver == "pardiso":
        split = kpm._split_moments(pencil.h, s_f, z, center, half, n) * pencil.n
        np.testing.assert_allclose(split, exact, rtol=0, atol=1e-8 * pencil.n)


def test_single_precision_s_factor_above_the_size_threshold(monkeypatch):
    """Above SINGLE_MIN_LEVELS S(k) is factored in single precision: the KPM moments stay
    the exact traces to ~1e-6 relative (not to rounding), the bounds still bracket."""
    rec = tight_binding_record((2, 2, 2), spinor=False, seed=6)
    k = KPTS[1]
    eps = band_energies(rec, rec[K.HT], k[None]).ravel()
    center, half, n = eps.mean(), 0.6 * np.ptp(eps), 21
    exact = np.cos(np.outer(np.arange(n), np.arccos((eps - center) / half))).sum(1)
    z = np.eye(len(eps))
    with direct.use_backend("pardiso"):
        double = record_pencils(rec, None, k[None])[0]
        double.s_factor()
        monkeypatch.setattr(direct, "SINGLE_MIN_LEVELS", 0)
        single = record_pencils(rec, None, k[None])[0]
        for pencil, lo, hi in ((double, 0.0, 1e-9), (single, 1e-9, 1e-5)):
            mu = kpm._split_moments(pencil.h, pencil.s_factor(), z, center, half, n)
            err = np.abs(mu * pencil.n - exact).max() / np.abs(exact).max()
            assert lo <= err < hi
        bounds = Slicer([single]).bracket(verify=False)
        assert bounds[0] < eps.min() and bounds[1] > eps.max()
        sigma = 0.5 * (eps[10] + eps[11])  # H − σS single, solves refined: levels exact
        np.testing.assert_allclose(single.nearest(sigma, 6), np.sort(eps)[8:14], rtol=0,
                                   atol=1e-10)  # fmt: skip
        assert single.factor_near(sigma)[0].negative == 11


def test_jackson_kernel_limits():
    g = jackson_kernel(64)
    assert g[0] == pytest.approx(1.0) and np.all(np.diff(g) < 0) and 0 < g[-1] < 0.01


def test_method_switch():
    small = tight_binding_record((2, 2, 2))
    assert spectral_method(small) == "dense" and spectral_method(small, "sparse") == "sparse"
    n_sites = SPARSE_THRESHOLD // 4 + 1  # 4 orbitals per site
    big = tight_binding_record((n_sites, 1, 1))
    assert spectral_method(big) == "sparse" and spectral_method(big, "dense") == "dense"
    with pytest.raises(InputError, match="unknown spectral method"):
        spectral_method(small, "fast")


def test_bad_input_is_refused():
    rec = tight_binding_record((2, 2, 1), seed=6)
    pencils = record_pencils(rec, None, KPTS[:1])
    with pytest.raises(InputError, match="levels"):
        pencils[0].by_index(14, 4, 0.0)  # past the 16 levels
    with pytest.raises(InputError, match="levels"):
        pencils[0].by_index(0, 0, 0.0)  # an empty window
    with pytest.raises(InputError, match="levels"):
        Slicer(pencils).levels_by_index(3, 3, (-50.0, 50.0))
    with pytest.raises(InputError, match="no k-points"):
        Slicer([])
    with pytest.raises(InputError, match="electrons"):
        sparse_mesh_fermi_level({**rec, K.META: {"n_electrons": 99.0}}, None, (1, 1, 1))
    with pytest.raises(InputError, match="n_electrons"):
        sparse_mesh_fermi_level({**rec, K.META: {}}, None, (1, 1, 1))
    with pytest.raises(InputError, match="layout"):
        SparseBloch(rec, rec[K.HT][:-1])
    with pytest.raises(InputError, match="resolution"):
        kpm_dos(pencils, resolution_ev=0.0)
    with pytest.raises(InputError, match="band"):
        band_window(rec, 0)


@pytest.mark.parametrize("spinor", [False, True])
def test_band_structure_sparse_path_equals_dense(spinor):
    """``band_structure`` forced onto each path: same E_F, the sparse bands are dense columns,
    the KPM DOS holds the same number of states."""
    rec = tight_binding_record((3, 2, 2), spinor=spinor, electrons_per_atom=1.0, seed=7)
    opts = {"npoints": 12, "kmesh": (2, 1, 1), "dos_width_ev": 0.2}
    dense = band_structure(rec, method="dense", **opts)
    sparse = band_structure(rec, method="sparse", n_bands=6, **opts)
    assert (dense.method, sparse.method) == ("dense", "sparse")
    assert abs(sparse.fermi_level - dense.fermi_level) < 1e-6
    first = sparse.first_band
    cols = np.asarray(dense.bands)[:, first : first + 6]
    assert np.abs(np.asarray(sparse.bands) - cols).max() < 1e-6
    ints = [np.trapezoid(b.dos, b.dos_energy) for b in (dense, sparse)]
    assert abs(ints[1] / ints[0] - 1) < 0.01


def test_cli_bands_says_which_path(tmp_path, capsys):
    rec = tight_binding_record((3, 2, 2), seed=8)
    entry = tmp_path / "tb.h5"
    write_record(entry, rec, "tb")
    out = tmp_path / "tb.png"
    args = ["bands", str(entry), "--out", str(out), "--kmesh", "1,1,1", "--npoints", "8"]
    assert main([*args, "--spectra", "sparse", "--sparse-bands", "4"]) == 0
    text = capsys.readouterr().out
    assert "spectra: sparse" in text and "shift-invert" in text and "KPM" in text
    saved = BandStructure.from_json(out.with_suffix(".json"))
    assert saved.method == "sparse" and np.shape(saved.bands) == (len(saved.x), 4)
    assert main(args) == 0  # 48 orbitals: auto stays dense
    assert "spectra: dense diagonalization (H(k) 48 × 48)" in capsys.readouterr().out


def test_predictor_fermi_level_on_either_path():
    """``Predictor.fermi_level`` (the E_F stored with a prediction) is the same on both paths."""
    rec = tight_binding_record((3, 2, 2), electrons_per_atom=1.0, seed=9)
    settings = EngineSettings(kmesh=(2, 1, 1))
    values = {}
    for method in ("dense", "sparse"):
        holder = SimpleNamespace(settings=settings, spectral_method=method)
        values[method] = Predictor.fermi_level(holder, rec)
    assert abs(values["sparse"] - values["dense"]) < 1e-6
    ref, _ = mesh_fermi_level(rec, rec[K.HT], (2, 1, 1), settings.smearing_ev)
    assert abs(values["dense"] - ref) < 1e-12
    # an insulator at Γ only (a large cell's mesh): band edges and the KPM DOS come along
    rec = tight_binding_record((3, 2, 2), gap_ev=16.0, seed=9)
    ef, found = prediction_spectra(rec, EngineSettings(kmesh=(1, 1, 1)), "sparse")
    levels = np.sort(band_energies(rec, rec[K.HT], np.zeros((1, 3))).ravel())
    n_occ = round(rec[K.META]["n_electrons"] / 2)
    edges = found["band_edges_ev"]
    assert abs(edges["vbm"] - levels[n_occ - 1]) < 1e-6 and abs(edges["cbm"] - levels[n_occ]) < 1e-6
    assert abs(ef - 0.5 * (edges["vbm"] + edges["cbm"])) < 1e-9
    dos = KPMDos.from_dict(found["kpm_dos"])
    assert dos.n_states == pytest.approx(2 * len(levels))
    assert dos.count_below(ef) == pytest.approx(2 * n_occ, rel=0.1)  # 4 vectors, 48 levels
    assert prediction_spectra(rec, EngineSettings(kmesh=(1, 1, 1)), "dense")[1] == {}
