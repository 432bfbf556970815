"""Import/export of the other codes' layouts: round trips (scalar, spinor, with and without H0),
the ABACUS CSR text against hand-written fixtures, the stated orbital mappings, bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from records import assert_records_equal, random_record

from nextham.conventions import (
    BOHR_ANGSTROM,
    HARTREE_EV,
    PYSCF_TO_ABACUS,
    interleaved_to_spin_major,
)
from nextham.errors import InputError
from nextham.formats import FORMATS, abacus, deeph, deepx
from nextham.formats.abacus_csr import read_csr, read_rr_csr
from nextham.formats.blocks import ImportHints
from nextham.formats.tree import structure_dirs
from nextham.record import keys as K
from nextham.record.geometry import two_centre_position
from nextham.record.layout import iter_blocks, position_blocks

RY = HARTREE_EV / 2
INTERLEAVED = dict(basis_ls={14: (0, 1, 2), 8: (0, 0, 1, 3)}, numbers=(8, 14, 8))
"""Three atoms, elements interleaved (O Si O): atom order must survive; shells sorted by l."""


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("spinor", [False, True])
def test_roundtrip_keeps_matrices_and_atom_order(tmp_path, name, spinor):
    rec = random_record(spinor=spinor, **INTERLEAVED)
    FORMATS[name].write(rec, tmp_path / "x")
    back = FORMATS[name].read(tmp_path / "x")
    if name == "abacus":  # no H0 in ABACUS; r(R) is written (two-centre without K.R_MATRIX)
        assert K.H0 not in back and back[K.META]["matrices"] == ["S", "HT", K.R_MATRIX]
        back[K.H0] = rec[K.H0]
    assert_records_equal(rec, back, atol=1e-10)
    assert back[K.META]["hamiltonian"] == f"imported:{name}"
    assert back[K.META]["n_electrons"] == 8.0


@pytest.mark.parametrize("name", ["deeph", "deepx", "deeptb"])
def test_record_without_h0_roundtrips_without_h0(tmp_path, name):
    rec = random_record(spinor=True)
    del rec[K.H0]
    FORMATS[name].write(rec, tmp_path / "x")
    back = FORMATS[name].read(tmp_path / "x")
    assert K.H0 not in back and back[K.META]["matrices"] == ["S", "HT"]
    np.testing.assert_allclose(back[K.HT], rec[K.HT], atol=1e-12)


def test_half_stored_pairs_are_completed_by_hermiticity(tmp_path):
    rec = random_record()
    deepx.write(rec, tmp_path)
    for fname in ("overlap.h5", "hamiltonian.h5", "h0.h5"):
        blocks = deepx.read_h5(tmp_path / fname)
        kept = {
            k: b for k, b in blocks.items() if (k[0], k[2:]) <= (k[1], tuple(-x for x in k[2:]))
        }
        assert len(kept) < len(blocks)
        deepx._write_h5(tmp_path / fname, kept)
    assert_records_equal(rec, deepx.read(tmp_path))


# --- ABACUS: hand-written fixtures -------------------------------------------------------------
STRU_H2ORB = """ATOMIC_SPECIES
H 1.008 H.upf   # comment
NUMERICAL_ORBITAL
H_gga_6au_100Ry_2s.orb
LATTICE_CONSTANT
2.0
LATTICE_VECTORS
3 0 0
0 3 0
0 0 3
ATOMIC_POSITIONS
Direct
H
0.0
1
0.5 0.5 0.5 1 1 1
"""
HR_H2ORB = """STEP: 0
Matrix Dimension of H(R): 2
Matrix number of H(R): 3
-1 0 0 3
0.1 0.3 0.2
0 0 1
0 1 3
0 0 0 4
-0.5 -0.05 -0.05 0.4
0 1 0 1
0 2 4
1 0 0 3
0.1 0.3 0.2
0 1 1
0 2 3
"""
SR_H2ORB = """STEP: 0
Matrix Dimension of S(R): 2
Matrix number of S(R): 3
-1 0 0 2
0.05 0.01
0 1
0 1 2
0 0 0 2
1.0 1.0
0 1
0 1 2
1 0 0 2
0.05 0.01
0 1
0 1 2
"""


def _toy(tmp_path, hr=HR_H2ORB, sr=SR_H2ORB, stru=STRU_H2ORB):
    d = tmp_path / "toy"
    (d / "OUT.ABACUS").mkdir(parents=True)
    (d / "STRU").write_text(stru)
    (d / "OUT.ABACUS" / abacus.HR).write_text(hr)
    (d / "OUT.ABACUS" / abacus.SR).write_text(sr)
    return d


def test_abacus_hand_written_csr_in_ev(tmp_path):
    rec = abacus.read(_toy(tmp_path), ImportHints(valence={"H": 1.0}))
    blocks = dict(iter_blocks(rec, K.HT))
    np.testing.assert_allclose(
        blocks[(0, 0, 0, 0, 0)], RY * np.array([[-0.5, -0.05], [-0.05, 0.4]])
    )
    np.testing.assert_allclose(blocks[(0, 0, 1, 0, 0)], RY * np.array([[0.1, 0.3], [0.0, 0.2]]))
    np.testing.assert_allclose(blocks[(0, 0, -1, 0, 0)], RY * np.array([[0.1, 0.0], [0.3, 0.2]]))
    s = dict(iter_blocks(rec, K.S))
    np.testing.assert_allclose(s[(0, 0, 1, 0, 0)], np.diag([0.05, 0.01]))
    np.testing.assert_allclose(rec[K.CELL], np.eye(3) * 6.0 * 0.529177210903)
    np.testing.assert_allclose(rec[K.POSITIONS], [[0.5 * 6 * 0.529177210903] * 3])
    assert rec[K.BASIS_LS] == {1: (0, 0)} and rec[K.META]["n_electrons"] == 1.0
    ev = abacus.read(_toy(tmp_path / "b"), units="ev")
    np.testing.assert_allclose(ev[K.HT], rec[K.HT] / RY)


def test_abacus_writes_its_p_order_and_signs(tmp_path):
    """nextham p = (x, y, z); ABACUS p = (z, −x, −y): H_xy = 0.5 becomes (−x)(−y) = +0.5."""
    rec = random_record(basis_ls={6: (1,)}, numbers=(6,))
    onsite = np.array([[1.0, 0.5, 0.0], [0.5, 2.0, 0.0], [0.0, 0.0, 3.0]])
    e = [tuple(r) for r in rec[K.CELL_SHIFT]].index((0, 0, 0))  # the on-site pair
    rec[K.HT][9 * e : 9 * e + 9] = onsite.ravel()
    abacus.write(rec, tmp_path)
    _, csr = read_csr(tmp_path / abacus.HR)
    want = np.array([[3.0, 0.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.5, 2.0]]) / RY
    np.testing.assert_allclose(csr[(0, 0, 0)].toarray(), want)
    np.testing.assert_allclose(PYSCF_TO_ABACUS[1] @ onsite @ PYSCF_TO_ABACUS[1].T, want * RY)


def test_abacus_spinor_rows_are_interleaved(tmp_path):
    rec = random_record(basis_ls={1: (0,)}, numbers=(1,), spinor=True)
    abacus.write(rec, tmp_path)
    dim, csr = read_csr(tmp_path / abacus.HR)
    blk = dict(iter_blocks(rec, K.HT))[(0, 0, 0, 0, 0)]  # spin-major [[↑↑, ↑↓], [↓↑, ↓↓]]
    assert dim == 2
    np.testing.assert_allclose(csr[(0, 0, 0)].toarray() * RY, blk)  # one s orbital: same
    assert list(interleaved_to_spin_major(2)) == [0, 2, 1, 3]
    _, s = read_csr(tmp_path / abacus.SR)  # nspin = 4 overlap: S ⊗ I₂
    s00 = dict(iter_blocks(rec, K.S))[(0, 0, 0, 0, 0)][0, 0]
    np.testing.assert_allclose(s[(0, 0, 0)].toarray(), s00 * np.eye(2))


def _sectioned(old: str, label: str) -> str:
    """The ABACUS ≥ 3.9 text of an old-layout fixture: header with the unit cell, a comment box,
    sections per R (values wrapped over two lines), and one extra empty R block."""
    lines = old.splitlines()
    dim, count = int(lines[1].split(":")[-1]), int(lines[2].split(":")[-1])
    out = [" --- Ionic Step 1 ---", f" # print {label} matrix in real space {label}(R)",
           " 1 # number of spin directions", " 1 # spin index",
           f" {dim} # number of localized basis",
           f" {count + 1} # number of Bravais lattice vector R",
           "", " user_defined_lattice", " 6.0", " 1 0 0", " 0 1 0", " 0 0 1", " H", " 1",
           " Direct", " 0.5 0.5 0.5", "", " #" + "-" * 70 + "#",
           " #                               CSR Format                             #",
           " # The outer loop corresponds to the number of Bravais lattice vectors. #",
           " #" + "-" * 70 + "#", "", " 0 0 2 0"]  # fmt: skip
    rest = iter(lines[3:])
    for head in rest:
        out.append(" " + head)
        values = next(rest).split()
        out += [" # CSR values", " " + " ".join(values[:1]), " " + " ".join(values[1:])]
        out += [" # CSR column indices", " " + next(rest), " # CSR row pointers", " " + next(rest)]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("overlap_name", ["srs1_nao.csr", "sr_nao.csr"])
def test_abacus_39_layout_reads_like_the_old_one(tmp_path, overlap_name):
    old = abacus.read(_toy(tmp_path / "old"), ImportHints(valence={"H": 1.0}))
    d = _toy(tmp_path / "new")
    for name in (abacus.HR, abacus.SR):
        (d / "OUT.ABACUS" / name).unlink()
    (d / "OUT.ABACUS" / "hrs1_nao.csr").write_text(_sectioned(HR_H2ORB, "H"))
    (d / "OUT.ABACUS" / overlap_name).write_text(_sectioned(SR_H2ORB, "S"))
    new = abacus.read(d, ImportHints(valence={"H": 1.0}))
    for key in (K.HT, K.S):
        assert dict(iter_blocks(new, key)).keys() == dict(iter_blocks(old, key)).keys()
        np.testing.assert_array_equal(new[key], old[key])
    dim, csr = read_csr(d / "OUT.ABACUS" / "hrs1_nao.csr")
    assert dim == 2 and csr[(0, 0, 2)].nnz == 0 and len(csr) == 4
    truncated = _sectioned(HR_H2ORB, "H").replace(" 1 0 0 3\n", " 1 0 0 4\n")
    (d / "OUT.ABACUS" / "hrs1_nao.csr").write_text(truncated)
    with pytest.raises(InputError, match=r"hrs1_nao.csr: R = \(1, 0, 0\) states nnz = 4"):
        abacus.read(d)


def _with_position(rec: dict, seed: int = 1) -> dict:
    """The record with a random position matrix (3, len(S)) in Å, different for every entry."""
    rng = np.random.default_rng(seed)
    return {**rec, K.R_MATRIX: rng.normal(size=(3, len(rec[K.S])))}


@pytest.mark.parametrize("spinor", [False, True])
def test_abacus_position_matrix_roundtrip(tmp_path, spinor):
    rec = _with_position(random_record(spinor=spinor, **INTERLEAVED))
    assert abacus.write(rec, tmp_path / "x") == "exact"
    back = abacus.read(tmp_path / "x")
    np.testing.assert_allclose(back[K.R_MATRIX], rec[K.R_MATRIX], atol=1e-12)
    assert back[K.META]["matrices"] == ["S", "HT", K.R_MATRIX]
    assert "position_matrix" not in back[K.META]
    del rec[K.R_MATRIX]  # without one, the two-centre approximation is written, and said so
    assert abacus.write(rec, tmp_path / "y") == "two-centre"
    approx = abacus.read(tmp_path / "y")
    np.testing.assert_allclose(approx[K.R_MATRIX], two_centre_position(rec), atol=1e-12)
    assert approx[K.META]["position_matrix"] == "two-centre"  # the mark survives a re-export
    assert abacus.write(approx, tmp_path / "z") == "two-centre"
    assert abacus.read(tmp_path / "z")[K.META]["position_matrix"] == "two-centre"


@pytest.mark.parametrize("spinor", [False, True])
def test_abacus_rr_blocks_sit_at_their_r_in_bohr(tmp_path, spinor):
    """Every R of the file holds that R's block (not its partner's), mapped p = (z, −x, −y),
    in Bohr; nspin = 4: r ⊗ I₂ with interleaved rows, real."""
    rec = _with_position(random_record(basis_ls={6: (1,)}, numbers=(6,), spinor=spinor))
    abacus.write(rec, tmp_path)
    dim, csr = read_rr_csr(tmp_path / abacus.RR)
    assert dim == (6 if spinor else 3) and len(csr) == len(rec[K.CELL_SHIFT])
    u = PYSCF_TO_ABACUS[1]
    for ((_, _, *shift), _), blk in zip(iter_blocks(rec, K.S), position_blocks(rec)):
        for a in range(3):
            got = csr[tuple(shift)][a].toarray()
            assert not np.iscomplexobj(got)
            if spinor:
                p = interleaved_to_spin_major(3)
                got = got[np.ix_(p, p)]
                np.testing.assert_array_equal(got[:3, 3:], 0)
                np.testing.assert_allclose(got[3:, 3:], got[:3, :3])
                got = got[:3, :3]
            np.testing.assert_allclose(got * BOHR_ANGSTROM, u @ blk[a] @ u.T, atol=1e-12)


RR_H2ORB = """STEP: 0
Matrix Dimension of r(R): 2
Matrix number of r(R): 2
0 0 0
2
1.0 2.0
0 1
0 1 2
0
1
0.5
1
0 1 1
1 0 0
1
0.25
1
0 1 1
0
0
"""


def test_abacus_hand_written_rr(tmp_path):
    """The rR text of ABACUS (Bohr, three CSR matrices per R) into K.R_MATRIX (Å): R = (0, 0, 0)
    gives r_x = diag(1, 2), r_z[0, 1] = 0.5; R = (1, 0, 0) r_x[0, 1] = 0.25; omitted R and
    entries are 0."""
    d = _toy(tmp_path)
    (d / "OUT.ABACUS" / abacus.RR).write_text(RR_H2ORB)
    rec = abacus.read(d, ImportHints(valence={"H": 1.0}))
    want = {(0, 0, 0): np.zeros((3, 2, 2)), (1, 0, 0): np.zeros((3, 2, 2))}
    want[(0, 0, 0)][0] = np.diag([1.0, 2.0])
    want[(0, 0, 0)][2, 0, 1] = 0.5
    want[(1, 0, 0)][0, 0, 1] = 0.25
    for ((_, _, *shift), _), blk in zip(iter_blocks(rec, K.S), position_blocks(rec)):
        expected = want.get(tuple(shift), np.zeros((3, 2, 2))) * BOHR_ANGSTROM
        np.testing.assert_allclose(blk, expected, atol=1e-15)


# --- bad input -------------------------------------------------------------------------------
def test_csr_nnz_disagreeing_with_its_lines(tmp_path):
    bad = HR_H2ORB.replace("0 0 0 4\n", "0 0 0 5\n")
    with pytest.raises(
        InputError, match=r"data-HR-sparse_SPIN0.csr: R = \(0, 0, 0\) states nnz = 5"
    ):
        abacus.read(_toy(tmp_path, hr=bad))


def test_csr_with_more_blocks_than_announced(tmp_path):
    bad = HR_H2ORB.replace("Matrix number of H(R): 3", "Matrix number of H(R): 2")
    with pytest.raises(InputError, match="lines after the 2 R blocks"):
        abacus.read(_toy(tmp_path, hr=bad))


def test_csr_dimension_not_matching_the_orbitals(tmp_path):
    stru = STRU_H2ORB.replace("H_gga_6au_100Ry_2s.orb", "H_gga_6au_100Ry_3s.orb")
    with pytest.raises(InputError, match="matrix dimension 2, but the STRU's atoms have 3"):
        abacus.read(_toy(tmp_path, stru=stru))


def test_spinor_overlap_where_a_scalar_one_is_expected(tmp_path):
    sr = (
        "STEP: 0\nMatrix Dimension of S(R): 4\nMatrix number of S(R): 1\n0 0 0 4\n"
        "(1,0) (1,0) (1,0) (1,0)\n0 1 2 3\n0 1 2 3 4\n"
    )
    with pytest.raises(InputError, match=r"data-SR-sparse_SPIN0.csr: dimension 4 is a spinor"):
        abacus.read(_toy(tmp_path, sr=sr))


def test_orbitals_not_in_the_files_need_the_option(tmp_path):
    stru = STRU_H2ORB.replace("H_gga_6au_100Ry_2s.orb", "custom.orb")
    with pytest.raises(InputError, match="--orbitals H=0,0,1,1,2"):
        abacus.read(_toy(tmp_path, stru=stru))
    rec = abacus.read(_toy(tmp_path / "b", stru=stru), ImportHints(orbitals={"H": (0, 0)}))
    assert rec[K.META]["shells_from"] == "--orbitals"


def test_deeph_spinor_blocks_where_scalar_expected(tmp_path):
    deeph.write(random_record(spinor=True), tmp_path)
    info = json.loads((tmp_path / "info.json").read_text())
    (tmp_path / "info.json").write_text(json.dumps({**info, "isspinful": False}))
    with pytest.raises(InputError, match=r"hamiltonians\.h5: block .* spinor blocks where scalar"):
        deeph.read(tmp_path)


def test_deepx_boundaries_not_matching_entries(tmp_path):
    deepx.write(random_record(), tmp_path)
    with h5py.File(tmp_path / "overlap.h5", "a") as f:
        bounds = f["chunk_boundaries"][()]
        del f["chunk_boundaries"]
        f["chunk_boundaries"] = bounds + 1
    with pytest.raises(InputError, match=r"overlap\.h5: chunk_boundaries do not match"):
        deepx.read(tmp_path)


@pytest.mark.parametrize("name", ["abacus", "deepx", "deeptb"])
def test_directory_of_another_format_is_refused(tmp_path, name):
    deeph.write(random_record(), tmp_path / "s")
    with pytest.raises(InputError, match=f"not a {name} directory .*no subdirectory is one"):
        structure_dirs(tmp_path, FORMATS[name].REQUIRED, name)
    with pytest.raises(InputError, match="not a"):
        FORMATS[name].read(tmp_path / "s")


def test_tree_names_come_from_directories(tmp_path):
    for sub in ("a/x", "a/y", "b"):
        deepx.write(random_record(), tmp_path / sub)
    found = structure_dirs(tmp_path, deepx.REQUIRED, "deepx")
    assert [n for n, _ in found] == ["a_x", "a_y", "b"]
    assert structure_dirs(tmp_path / "b", deepx.REQUIRED, "deepx")[0][0] == "b"
