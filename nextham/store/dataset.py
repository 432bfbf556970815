"""A dataset: a directory of per-structure HDF5 files with a manifest.

Layout::

    DATASET/
      manifest.json        engine_settings (null for imported data, which names its ``source``
                           instead), entries {name: summary + checksum}, failed {name: error}
      structures.extxyz    the input structures (names in ``info['name']``), fixed at creation
                           (a grown recipe may add structures: :meth:`Dataset.create`)
      entries/<name>.h5    one record per finished structure (:mod:`nextham.store.hdf5`)

Every file is written to a temporary name and renamed, so a crash or SIGKILL never leaves a
half-written entry or manifest. The manifest is an index that can always be rebuilt from the
entries (:meth:`Dataset.reconcile`), which is what makes ``generate`` resumable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write

from nextham.dft.settings import EngineSettings, stored_settings
from nextham.errors import CorruptEntryError, InputError
from nextham.record import keys as K
from nextham.store.atomic import atomic_output, atomic_write_text
from nextham.store.hdf5 import read_record, write_record

MANIFEST = "manifest.json"
STRUCTURES = "structures.extxyz"
ENTRIES = "entries"


def entry_summary(record: dict) -> dict:
    """Small JSON summary of a record kept in the manifest (for ``inspect`` without loading)."""
    meta = record[K.META]
    check = meta.get("spectral_check") or {}
    numbers = np.asarray(record[K.NUMBERS])
    return {
        "natoms": len(numbers),
        "numbers": sorted({int(z) for z in numbers}),
        "n_edges": len(record[K.EDGE_INDEX]),
        "n_entries": int(record[K.BLOCK_PTR][-1]) * (4 if record[K.SPINOR] else 1),
        "spinor": bool(record[K.SPINOR]),
        "fermi_level": meta.get("fermi_level"),
        "scf_converged": meta.get("scf_converged"),
        "scf_cycles": meta.get("scf_cycles"),
        "scf_strategy": meta.get("scf_strategy"),
        "time_h0_s": meta.get("time_h0_s"),
        "time_scf_s": meta.get("time_scf_s"),
        "time_ht_transform_s": meta.get("time_ht_transform_s"),
        "time_spectral_check_s": meta.get("time_spectral_check_s"),
        "cpu_s": meta.get("cpu_s"),
        "roundtrip_error_ht_ev": meta.get("roundtrip_error_ht_ev"),
        "band_error_ev": check.get("max_band_error_ev"),
        "min_overlap_eig": check.get("min_overlap_eig"),
        "spectral_passed": check.get("passed"),
    }


SAME_STRUCTURE_ANGSTROM = 1e-6
"""Largest cell or position difference (Å) of a stored structure and the same one given again
(the structures file keeps about 1e-9 Å)."""


def same_structure(a: Atoms, b: Atoms) -> bool:
    """Same atomic numbers, and cell and positions within :data:`SAME_STRUCTURE_ANGSTROM`."""
    tol = SAME_STRUCTURE_ANGSTROM
    return (
        np.array_equal(a.numbers, b.numbers)
        and np.allclose(a.cell.array, b.cell.array, rtol=0, atol=tol)
        and np.allclose(a.positions, b.positions, rtol=0, atol=tol)
    )


def _write_structures(path: Path, structures: list[tuple[str, Atoms]]) -> None:
    """The structures file (extxyz, names in ``info['name']``), written atomically."""
    frames = []
    for name, atoms in structures:
        a = atoms.copy()
        # plain labels (prototype, composition, variant…) travel with the structure; objects
        # a reader may leave in info (a CIF's spacegroup) do not
        kept = {k: v for k, v in atoms.info.items() if isinstance(v, (str, int, float, bool))}
        a.info = {**kept, "name": name}
        frames.append(a)
    with atomic_output(path) as tmp:
        write(tmp, frames, format="extxyz")


class Dataset:
    """Read/write access to a dataset directory (see module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.manifest = self._load_manifest()

    # --- creation and bookkeeping -------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        settings: EngineSettings | None,
        structures: list[tuple[str, Atoms]],
        source: dict | None = None,
    ) -> Dataset:
        """Create (or reopen) a dataset; reopening requires the same settings and structures,
        or a list that holds every stored structure unchanged and adds more (a recipe grown
        with more copies per cell): the new ones are appended to the dataset's list.

        Data imported from another code has no engine settings (``settings=None``) and names
        its ``source`` instead (e.g. ``{"format": "abacus", "path": ...}``).
        """
        if (settings is None) == (source is None):
            raise ValueError("give engine settings (computed data) or a source (imported data)")
        root = Path(path)
        (root / ENTRIES).mkdir(parents=True, exist_ok=True)
        names = [n for n, _ in structures]
        if len(set(names)) != len(names):
            raise ValueError("structure names must be unique")
        if (root / MANIFEST).exists():
            ds = cls(root)
            ds._check_compatible(settings, names)
            if set(ds.manifest["names"]) != set(names):
                ds._grow(structures)
            return ds
        _write_structures(root / STRUCTURES, structures)
        manifest = {"format_version": 1,
                    K.ENGINE_SETTINGS: None if settings is None else settings.to_dict(),
                    "names": names, "entries": {}, "failed": {}}  # fmt: skip
        if source is not None:
            manifest["source"] = source
        atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1))
        return cls(root)

    def _load_manifest(self) -> dict:
        p = self.path / MANIFEST
        if not p.exists():
            raise FileNotFoundError(
                f"{self.path} is not a nextham dataset (no {MANIFEST}); create one with "
                "`nextham generate`"
            )
        try:
            manifest = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptEntryError(
                f"{p}: not valid JSON ({exc}); the dataset index is damaged — restore it from "
                "a copy, or rebuild it from the entries with `nextham generate` on the same "
                "structures and options"
            ) from exc
        if not isinstance(manifest, dict) or "names" not in manifest:
            raise CorruptEntryError(f"{p}: not a nextham manifest (no 'names'); restore it")
        return manifest

    @property
    def source(self) -> dict | None:
        """Where imported data came from (``format``, ``path``); None for computed data."""
        return self.manifest.get("source")

    @property
    def settings(self) -> EngineSettings:
        """The engine settings every entry was computed with."""
        found = stored_settings(self.manifest)
        if found is None and self.source is not None:
            raise InputError(
                f"{self.path}: imported from {self.source.get('format')} "
                f"({self.source.get('path')}); it has no nextham engine settings and no engine "
                "H0, so it cannot train or evaluate a model (use it with inspect, bands, "
                "optics, export); to train, compute the structures with `nextham generate`"
            )
        if found is None:
            raise InputError(f"{self.path}: the manifest names no engine settings")
        return found

    def _check_compatible(self, settings: EngineSettings | None, names: list[str]) -> None:
        if stored_settings(self.manifest) != settings:
            raise ValueError(
                f"{self.path} was generated with other engine settings; use a new directory "
                "or the same options (stored in its manifest.json)"
            )
        if not set(self.manifest["names"]) <= set(names):
            raise ValueError(
                f"{self.path} holds another list of structures; use a new directory to "
                "generate a different set"
            )

    def _grow(self, structures: list[tuple[str, Atoms]]) -> None:
        """Append the structures of ``structures`` not yet listed, after checking that every
        listed one is unchanged (numbers exact, cell and positions within
        :data:`SAME_STRUCTURE_ANGSTROM`); structures file first, then the manifest."""
        given, listed = dict(structures), set(self.manifest["names"])
        stored = [(n, a) for n, a in self.structures() if n in listed]  # a crash may have
        # written the structures file of an unfinished growth: the manifest's names decide
        changed = [n for n, a in stored if not same_structure(a, given[n])]
        if changed:
            raise ValueError(
                f"{self.path}: {len(changed)} stored structures differ from the ones given "
                f"(e.g. {changed[0]}); use a new directory to generate a different set"
            )
        added = [(n, a) for n, a in structures if n not in listed]
        _write_structures(self.path / STRUCTURES, stored + added)
        self.manifest["names"] = self.manifest["names"] + [n for n, _ in added]
        self.save_manifest()

    def save_manifest(self) -> None:
        atomic_write_text(self.path / MANIFEST, json.dumps(self.manifest, indent=1))

    def structures(self) -> list[tuple[str, Atoms]]:
        """The input structures in creation order."""
        frames = read(self.path / STRUCTURES, index=":", format="extxyz")
        return [(a.info["name"], a) for a in frames]

    def entry_path(self, name: str) -> Path:
        return self.path / ENTRIES / f"{name}.h5"

    def add(self, name: str, record: dict) -> None:
        """Write one record atomically and index it in the manifest."""
        checksum = write_record(self.entry_path(name), record, name)
        self.manifest["entries"][name] = {**entry_summary(record), "checksum": checksum}
        self.manifest["failed"].pop(name, None)
        self.save_manifest()

    def fail(self, name: str, error: str) -> None:
        """Record that a structure failed (the run goes on)."""
        self.manifest["failed"][name] = error
        self.save_manifest()

    def reconcile(self) -> list[str]:
        """Make the manifest agree with the entry files; return the names still to compute.

        Entries on disk that verify are indexed (a crash may have hit between the rename and
        the manifest update); corrupt or stray files and leftover temporaries are removed.
        """
        for tmp in (self.path / ENTRIES).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        done = {}
        for name in self.manifest["names"]:
            p = self.entry_path(name)
            if not p.exists():
                continue
            try:
                rec = read_record(p)
            except CorruptEntryError:
                p.unlink()
                continue
            done[name] = {**entry_summary(rec), "checksum": rec["checksum"]}
        self.manifest["entries"] = done
        self.save_manifest()
        return [n for n in self.manifest["names"] if n not in done]

    # --- reading ------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Names of finished entries, in creation order."""
        return [n for n in self.manifest["names"] if n in self.manifest["entries"]]

    def __len__(self) -> int:
        return len(self.names)

    def load(self, name: str, verify: bool = True) -> dict:
        """The record of entry ``name`` (checksum verified)."""
        if name not in self.manifest["entries"]:
            raise KeyError(f"{name!r} is not a finished entry of {self.path}")
        return read_record(self.entry_path(name), verify=verify)

    def __iter__(self) -> Iterator[dict]:
        for name in self.names:
            yield self.load(name)
