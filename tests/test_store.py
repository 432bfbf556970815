"""HDF5 entries, checksums, atomic writes and dataset resume bookkeeping."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from ase.build import bulk
from records import assert_records_equal, random_record

from nextham.dft.settings import EngineSettings
from nextham.errors import CorruptEntryError
from nextham.record import keys as K
from nextham.store.dataset import Dataset
from nextham.store.hdf5 import read_record, record_checksum, write_record


@pytest.mark.parametrize("spinor", [False, True])
def test_record_roundtrip(tmp_path, spinor):
    rec = random_record(spinor=spinor)
    checksum = write_record(tmp_path / "a.h5", rec, "a")
    back = read_record(tmp_path / "a.h5")
    assert_records_equal(rec, back, atol=0)
    assert back["checksum"] == checksum == record_checksum(rec)
    assert back[K.H0].dtype == (np.complex128 if spinor else np.float64)


def test_checksum_detects_modification(tmp_path):
    write_record(tmp_path / "a.h5", random_record(), "a")
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        f[K.HT][3] += 1e-9
    with pytest.raises(CorruptEntryError, match="checksum"):
        read_record(tmp_path / "a.h5")


def test_truncated_file_is_corrupt(tmp_path):
    write_record(tmp_path / "a.h5", random_record(), "a")
    data = (tmp_path / "a.h5").read_bytes()
    (tmp_path / "a.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptEntryError):
        read_record(tmp_path / "a.h5")


def test_failed_write_leaves_nothing(tmp_path):
    rec = random_record()
    del rec[K.HT]  # write fails midway
    with pytest.raises(KeyError):
        write_record(tmp_path / "a.h5", rec, "a")
    assert list(tmp_path.iterdir()) == []


def _dataset(tmp_path, n=3):
    structures = [(f"s{k}", bulk("Si", "diamond", a=5.4 + 0.01 * k)) for k in range(n)]
    return Dataset.create(tmp_path / "ds", EngineSettings(), structures), structures


def test_reconcile_recovers_from_crash_states(tmp_path):
    ds, _structures = _dataset(tmp_path)
    ds.add("s0", random_record(seed=0))
    ds.add("s1", random_record(seed=1))
    # crash between rename and manifest update: entry on disk, not in manifest
    write_record(ds.entry_path("s2"), random_record(seed=2), "s2")
    ds.manifest["entries"].pop("s2", None)
    # a corrupt entry and a stale temporary file
    ds.entry_path("s1").write_bytes(b"garbage")
    (ds.path / "entries" / ".s0.h5.abc.tmp").write_bytes(b"partial")
    todo = Dataset(ds.path).reconcile()
    assert todo == ["s1"]
    ds2 = Dataset(ds.path)
    assert ds2.names == ["s0", "s2"]
    assert not list((ds.path / "entries").glob(".*.tmp"))
    assert_records_equal(ds2.load("s2"), random_record(seed=2), atol=0)


def test_reopen_requires_same_settings_and_structures(tmp_path):
    _, structures = _dataset(tmp_path)
    with pytest.raises(ValueError, match="other engine settings"):
        Dataset.create(tmp_path / "ds", EngineSettings(spin="soc"), structures)
    with pytest.raises(ValueError, match="another list"):
        Dataset.create(tmp_path / "ds", EngineSettings(), structures[:2])
    assert Dataset.create(tmp_path / "ds", EngineSettings(), structures).structures()[1][0] == "s1"


def test_reopen_with_a_grown_list_appends_and_keeps_labels(tmp_path):
    """A recipe grown with more copies reopens the dataset: stored labels stay, the new
    structures are appended (manifest and structures file), a changed structure is refused,
    and a growth cut between the structures file and the manifest is finished cleanly."""
    ds, structures = _dataset(tmp_path)
    ds.add("s1", random_record(seed=1))
    more = [*structures, ("s3", bulk("Si", "diamond", a=5.5)), ("s4", bulk("Ge", "diamond"))]
    grown = Dataset.create(tmp_path / "ds", EngineSettings(), [more[3], *structures, more[4]])
    assert (
        grown.manifest["names"]
        == ["s0", "s1", "s2", "s3", "s4"]
        == Dataset(ds.path).manifest["names"]
    )
    assert [n for n, _ in grown.structures()] == grown.manifest["names"]
    assert grown.names == ["s1"] and grown.reconcile() == ["s0", "s2", "s3", "s4"]
    assert_records_equal(grown.load("s1"), random_record(seed=1), atol=0)
    assert np.allclose(grown.structures()[4][1].positions, more[4][1].positions)
    moved = bulk("Si", "diamond", a=5.4 + 0.01)
    moved.positions[1, 0] += 1e-4
    with pytest.raises(ValueError, match="1 stored structures differ"):
        Dataset.create(
            tmp_path / "ds",
            EngineSettings(),
            [more[0], ("s1", moved), *more[2:], ("s9", bulk("C"))],
        )
    # a crash after the structures file, before the manifest: the manifest's names decide
    again = [*more, ("s5", bulk("C", "diamond"))]
    manifest = (ds.path / "manifest.json").read_text()
    Dataset.create(tmp_path / "ds", EngineSettings(), again)
    (ds.path / "manifest.json").write_text(manifest)
    back = Dataset.create(tmp_path / "ds", EngineSettings(), again)
    assert [n for n, _ in back.structures()] == back.manifest["names"] == [n for n, _ in again]


def test_not_a_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a nextham dataset"):
        Dataset(tmp_path)


def test_atomic_output_gives_plain_file_permissions(tmp_path):
    """Files written through the temporary name get 0666 less the umask, as open() gives."""
    import os

    from nextham.store.atomic import atomic_output

    old = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_dataset_keeps_plain_structure_labels(tmp_path):
    """prototype/composition labels travel into the dataset (evaluate --by prototype reads
    them); objects a reader leaves in ``info`` do not."""
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.info.update({"prototype": "diamond", "variant": "d0", "spacegroup": object()})
    ds = Dataset.create(tmp_path / "ds", EngineSettings(), [("si", atoms)])
    ((name, stored),) = ds.structures()
    assert name == "si" and stored.info["prototype"] == "diamond"
    assert stored.info["variant"] == "d0" and "spacegroup" not in stored.info
