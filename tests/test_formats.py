"""DeepH and DeePTB layouts: round trip, key format and the stated orbital mapping; DeepX
files as DeepH-dock's reader builds H(k) and S(k) from them."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from records import assert_records_equal, random_record
from scipy.linalg import block_diag

from nextham.conventions import atom_matrix
from nextham.formats import deeph, deeptb, deepx
from nextham.record import keys as K
from nextham.record.layout import iter_blocks
from nextham.spectra.bloch import record_bloch


@pytest.mark.parametrize("fmt", [deeph, deeptb])
@pytest.mark.parametrize("spinor", [False, True])
def test_roundtrip(tmp_path, fmt, spinor):
    rec = random_record(spinor=spinor)
    fmt.write(rec, tmp_path / "x")
    assert_records_equal(rec, fmt.read(tmp_path / "x"))


def test_deeph_layout_and_mapping(tmp_path):
    rec = random_record(basis_ls={14: (0, 1, 2), 8: (0, 0, 1, 3)})
    deeph.write(rec, tmp_path)
    info = json.loads((tmp_path / "info.json").read_text())
    assert info == {"nsites": 2, "isorthogonal": False, "isspinful": False, "norbits": 9 + 12,
                    "fermi_level": 1.5, "occupation": 8.0}  # fmt: skip
    assert np.allclose(np.loadtxt(tmp_path / "lat.dat"), rec[K.CELL].T)
    assert (tmp_path / "orbital_types.dat").read_text() == "0 1 2\n0 0 1 3\n"
    with h5py.File(tmp_path / "hamiltonians.h5") as f:
        blk = f["[0, 0, 0, 1, 1]"][()]  # Si on-site, DeepH order
    ours = dict(iter_blocks(rec, K.HT))[(0, 0, 0, 0, 0)]
    # d shell (rows 4..8): nextham dxy,dyz,dz2,dxz,dx2-y2 → DeepH dz2,dx2-y2,dxy,dxz,dyz
    order = [4 + 2, 4 + 4, 4 + 0, 4 + 3, 4 + 1]
    assert np.allclose(blk[4:9, 4:9], ours[np.ix_(order, order)])
    assert np.allclose(blk[1:4, 1:4], ours[1:4, 1:4])  # p: x, y, z in both


def test_deeptb_layout_and_mapping(tmp_path):
    rec = random_record(basis_ls={14: (1, 0, 2), 8: (0,)}, numbers=(14, 8))
    deeptb.write(rec, tmp_path)
    assert (tmp_path / "basis.dat").read_text() == "1s1p1d\n1s\n"
    with h5py.File(tmp_path / "overlaps.h5") as f:
        blk = f["0"]["0_0_0_0_0"][()]
    ours = dict(iter_blocks(rec, K.S))[(0, 0, 0, 0, 0)]
    # nextham order p(x,y,z) s d → DeePTB s, p(y,z,x), d
    order = [3, 1, 2, 0, 4, 5, 6, 7, 8]
    assert np.allclose(blk, ours[np.ix_(order, order)])


def _deephdock_k(folder, kpts: np.ndarray) -> dict[str, np.ndarray]:
    """H(k), S(k) (nk, M, M) of a DeepX directory built as DeepH-dock's ``AOMatrixObj`` does:
    atoms from the POSCAR's symbol/count lines, orbitals per atom from ``elements_orbital_map``,
    a spinful matrix ordered [all ↑, all ↓] from spin-major blocks, S ⊗ I₂ for spinful."""
    lines = (folder / "POSCAR").read_text().splitlines()
    symbols = [s for s, c in zip(lines[5].split(), map(int, lines[6].split())) for _ in range(c)]
    info = json.loads((folder / "info.json").read_text())
    n = [sum(2 * l + 1 for l in info["elements_orbital_map"][s]) for s in symbols]
    start, m = np.concatenate([[0], np.cumsum(n)]), sum(n)
    assert info["atoms_quantity"] == len(symbols) and info["orbits_quantity"] == m
    out, pairs = {}, {}
    for name in ("hamiltonian.h5", "overlap.h5"):
        spin = 2 if info["spinful"] and name == "hamiltonian.h5" else 1
        with h5py.File(folder / name) as f:
            pairs[name], bounds = f["atom_pairs"][()], f["chunk_boundaries"][()]
            entries = f["entries"][()]
        mat = np.zeros((len(kpts), spin * m, spin * m), dtype=complex)
        for (*r, i, j), b0, b1 in zip(pairs[name], bounds[:-1], bounds[1:]):
            blk = entries[b0:b1].reshape(spin, n[i], spin, n[j])
            phase = np.exp(2j * np.pi * kpts @ np.array(r))[:, None, None]
            for a in range(spin):
                for b in range(spin):
                    rows = slice(a * m + start[i], a * m + start[i + 1])
                    cols = slice(b * m + start[j], b * m + start[j + 1])
                    mat[:, rows, cols] += phase * blk[a, :, b, :]
        out[name] = mat if spin == 2 or not info["spinful"] else np.kron(np.eye(2), mat)
    # DeepH-dock refuses H and S files whose atom_pairs differ (order included)
    assert np.array_equal(pairs["hamiltonian.h5"], pairs["overlap.h5"])
    return out


@pytest.mark.parametrize("spinor", [False, True])
def test_deepx_files_read_as_deephdock_reads_them(tmp_path, spinor):
    """Elements O Si O (a repeated POSCAR species group): DeepH-dock's H(k), S(k) are nextham's
    in DeepX orbital order; ``occupation`` counts both spins, as DeepH-dock's Fermi count."""
    basis_ls = {14: (0, 1, 2), 8: (0, 0, 1, 3)}
    rec = random_record(basis_ls=basis_ls, numbers=(8, 14, 8), spinor=spinor)
    deepx.write(rec, tmp_path)
    kpts = np.random.default_rng(1).uniform(-0.5, 0.5, size=(4, 3))
    theirs = _deephdock_k(tmp_path, kpts)
    u = block_diag(*[atom_matrix(basis_ls[int(z)], "deepx") for z in rec[K.NUMBERS]])
    u = np.kron(np.eye(2), u) if spinor else u
    for name, key in (("hamiltonian.h5", K.HT), ("overlap.h5", K.S)):
        ours = record_bloch(rec, key, kpts).numpy()
        np.testing.assert_allclose(theirs[name], u @ ours @ u.T, atol=1e-12)
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["occupation"] == rec[K.META]["n_electrons"] == 8.0
    assert info["fermi_energy_eV"] == rec[K.META]["fermi_level"]
