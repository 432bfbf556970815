"""SCF from a Hamiltonian guess: H(k) at the SCF k-points, guess density, cycles and energy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
from ase.build import bulk
from model_kit import ALP_EXAMPLE

from nextham.cli.main import main
from nextham.conventions import HARTREE_EV
from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf
from nextham.dft.settings import EngineSettings
from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.scf import guess_density, hamiltonian_at_kpts, run_scf
from nextham.spectra.occupations import occupations


@pytest.fixture(scope="module")
def si_fine():
    """(atoms, settings, record) of rattled Si2, Γ-only SCF, pairs down to |S| > 1e-7: the
    stored H(R) gives PySCF's H(k) to ~1e-4 eV, i.e. the record's HT is nearly exact."""
    from nextham.dft.label import compute_record

    settings = EngineSettings(kmesh=(1, 1, 1), overlap_threshold=1e-7)
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions += np.random.default_rng(1).normal(0, 0.03, atoms.positions.shape)
    return atoms, settings, compute_record(atoms, settings)


def _spinor_copy(rec: dict) -> dict:
    """The scalar record as spinor blocks kron(1₂, H) (spin-major), i.e. H without SOC."""
    out = {**rec, K.SPINOR: True}
    for key in (K.H0, K.HT):
        blocks = [np.kron(np.eye(2), b) for _, b in iter_blocks(rec, key)]
        out[key] = np.concatenate([b.ravel() for b in blocks]).astype(complex)
    return out


def _electrons(dm: np.ndarray, mf) -> float:
    return float(np.einsum("kij,kji->", dm, np.asarray(mf.get_ovlp())).real / len(dm))


def test_hamiltonian_at_kpts_matches_pyscf_fock(si_fine):
    atoms, settings, rec = si_fine
    mf = make_mf(build_cell(atoms, settings), settings)
    mf.kernel(dm0=mf.get_init_guess(key="atom"))
    ours = hamiltonian_at_kpts(rec, rec[K.HT], mf) * HARTREE_EV
    err = np.abs(ours - np.asarray(mf.get_fock()) * HARTREE_EV).max()
    # the pair truncation recorded by the engine, up to this SCF's own convergence (~1e-6 eV)
    assert err < 1e-3
    assert abs(err - rec[K.META]["roundtrip_error_ht_ev"]) < 1e-5


def test_hamiltonian_at_kpts_spinor_layout(si_fine):
    """Spin-major kron(1₂, H) blocks land in PySCF's GHF layout as block_diag(H(k), H(k))."""
    atoms, _settings, rec = si_fine
    scalar, soc = EngineSettings(kmesh=(3, 1, 1)), EngineSettings(spin="soc", kmesh=(3, 1, 1))
    expect = hamiltonian_at_kpts(rec, rec[K.HT], make_mf(build_cell(atoms, scalar), scalar))
    mf = make_mf(build_cell(atoms, soc), soc)
    ghf = hamiltonian_at_kpts(_spinor_copy(rec), _spinor_copy(rec)[K.HT], mf)
    assert ghf.shape == (3, 16, 16) and np.abs(expect[1].imag).max() > 1e-3  # k = 1/3: complex
    assert np.allclose(ghf, np.stack([scipy.linalg.block_diag(h, h) for h in expect]))
    with pytest.raises(ValueError, match="KRKS"):
        hamiltonian_at_kpts(rec, rec[K.HT], mf)


def test_guess_density_electron_count(si_fine):
    atoms, settings, rec = si_fine
    mf = make_mf(build_cell(atoms, settings), settings)
    for sigma in (None, 0.0, 0.5):  # the SCF's smearing, aufbau, a wide smearing
        dm = guess_density(mf, rec, rec[K.H0], smearing_ev=sigma)
        assert dm.shape == (1, 8, 8)
        assert np.allclose(dm, dm.conj().transpose(0, 2, 1))
        assert abs(_electrons(dm, mf) - mf.cell.nelectron) < 1e-8


def test_occupations():
    eps = [np.array([-1.0, 0.0, 0.0, 2.0]), np.array([-0.5, 0.1, 1.0, 3.0])]
    f, mu = occupations(eps, 3.0, 0.1, 2.0)  # 3 electrons per cell, a metal
    assert abs(sum(x.sum() for x in f) / 2 - 3.0) < 1e-10 and f[0].shape == (4,)
    f, mu = occupations(eps, 4.0, 0.0, 2.0)  # aufbau: the 4 lowest of 8 levels, doubly
    assert [x.tolist() for x in f] == [[2, 2, 2, 0], [2, 0, 0, 0]] and 0.0 < mu < 0.1
    f, _ = occupations([np.array([0.0, 1.0])], 1.0, 0.0, 1.0)  # spinor levels hold one
    assert f[0].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="cannot place"):
        occupations(eps, 9.0, 0.1, 2.0)


def test_guess_from_accurate_hamiltonian_converges_faster(si_fine):
    atoms, settings, rec = si_fine
    sad = run_scf(atoms, settings, "sad")
    nh = run_scf(atoms, settings, "hamiltonian", rec)
    assert sad.converged and nh.converged
    assert nh.cycles <= 2 and nh.cycles <= sad.cycles - 2, (nh.cycles, sad.cycles)
    # both within the SCF tolerance of the same minimum: |ΔE| of a few conv_tol
    assert abs(nh.energy_ev - sad.energy_ev) < 10 * settings.conv_tol_ev
    assert abs(nh.fermi_level_ev - sad.fermi_level_ev) < 1e-4
    assert nh.wall_s > 0 and nh.guess_s > 0


def test_exact_h0_at_kpoints_removes_the_truncation_floor():
    """With the default pair threshold the stored H misses H0's long tail: its own density
    needs more cycles; H0 taken exactly at the SCF k-points plus the stored ΔH needs one."""
    from nextham.dft.label import compute_record

    settings = EngineSettings(kmesh=(2, 2, 2))
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions += np.random.default_rng(2).normal(0, 0.03, atoms.positions.shape)
    rec = compute_record(atoms, settings)
    split = run_scf(atoms, settings, "hamiltonian", rec)
    pairs_only = run_scf(atoms, settings, "hamiltonian", rec, exact_h0=False)
    assert split.converged and pairs_only.converged
    assert split.cycles <= 1 and split.cycles < pairs_only.cycles, (split.cycles, pairs_only.cycles)
    assert abs(split.energy_ev - rec[K.META]["energy_ev"]) < 10 * settings.conv_tol_ev


def test_spinor_guess_runs_kgks(si_fine):
    """The same H as spinor blocks starts a KGKS (soc mode; Si has no SO-ECP, so no SOC) SCF
    at its converged point: the energy of the scalar SCF, in one or two cycles."""
    atoms, settings, rec = si_fine
    soc = EngineSettings(spin="soc", kmesh=(1, 1, 1), overlap_threshold=1e-7)
    mf = make_mf(build_cell(atoms, soc), soc)
    dm = guess_density(mf, _spinor_copy(rec), _spinor_copy(rec)[K.HT])
    assert dm.shape == (1, 16, 16) and abs(_electrons(dm, mf) - mf.cell.nelectron) < 1e-8
    nh = run_scf(atoms, soc, "hamiltonian", _spinor_copy(rec))
    assert nh.converged and nh.cycles <= 2
    assert abs(nh.energy_ev - rec[K.META]["energy_ev"]) < 10 * settings.conv_tol_ev


def test_run_scf_rejects_bad_input(si_fine):
    atoms, settings, rec = si_fine
    with pytest.raises(ValueError, match="guess must be"):
        run_scf(atoms, settings, "huckel")
    with pytest.raises(ValueError, match="needs a record"):
        run_scf(atoms, settings, "hamiltonian")
    with pytest.raises(ValueError, match="not those of the structure"):
        run_scf(bulk("C", "diamond", a=3.57), settings, "hamiltonian", rec)
    mf = make_mf(build_cell(atoms, settings), settings)
    with pytest.raises(ValueError, match="shape"):
        guess_density(mf, rec, rec[K.HT][:-1])


def test_cli_scf_compare(tmp_path, capsys):
    out = tmp_path / "scf.json"
    assert main(["scf", str(ALP_EXAMPLE), "--compare", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "SCF cycles" in text and "nextham − SAD" in text
    res = json.loads(out.read_text())
    nh, sad = res["runs"]["nextham"], res["runs"]["sad"]
    assert nh["converged"] and sad["converged"]
    assert nh["cycles"] <= sad["cycles"]  # AlP example: equal or fewer (docs/predict.md)
    conv_tol = res["engine_settings"]["conv_tol_ev"]
    assert abs(res["energy_difference_mev"]) < 1000 * 10 * conv_tol


def test_cli_scf_bad_input(tmp_path, capsys):
    from ase.io import write

    two = tmp_path / "two.extxyz"
    write(two, [bulk("Si", "diamond", a=5.43)] * 2)
    assert main(["scf", str(two)]) == 2
    assert "give a file with one" in capsys.readouterr().err
    assert main(["scf", str(ALP_EXAMPLE), "--model", str(tmp_path / "missing.safetensors")]) == 2
