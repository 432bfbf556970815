"""One structure record ↔ one HDF5 file, written atomically and protected by a checksum.

File layout (``FORMAT_VERSION`` 1)::

    /cell, /positions, /numbers, /edge_index, /cell_shift, /block_ptr, /S, /H0, /HT, /r_matrix
    (/H0 is absent in records imported from a source without it, /r_matrix unless requested:
    :data:`OPTIONAL_KEYS`)
    /basis_ls/<Z>           int array of shell angular momenta of element Z
    attrs: format_version, name, spinor, meta (JSON text), checksum (sha256 hex)

The checksum covers every array (dtype, shape and bytes), the basis description, the spin
flag and the metadata, so a truncated or edited file is detected on load.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import h5py
import numpy as np

from nextham.errors import CorruptEntryError
from nextham.record import keys as K
from nextham.store.atomic import atomic_output

FORMAT_VERSION = 1
OPTIONAL_KEYS = K.OPTIONAL_KEYS


def _array_keys(record: dict) -> list[str]:
    missing = [k for k in K.ARRAY_KEYS if k not in record]
    required = [k for k in missing if k not in OPTIONAL_KEYS]
    if required:
        raise KeyError(f"record lacks {', '.join(required)}")
    return [k for k in K.ARRAY_KEYS if k in record]


def record_checksum(record: dict) -> str:
    """sha256 over the record's arrays, basis, spin flag and metadata."""
    h = hashlib.sha256()
    for key in _array_keys(record):
        a = np.ascontiguousarray(record[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    basis = {str(int(z)): [int(l) for l in ls] for z, ls in sorted(record[K.BASIS_LS].items())}
    h.update(json.dumps(basis, sort_keys=True).encode())
    h.update(str(bool(record[K.SPINOR])).encode())
    h.update(json.dumps(record.get(K.META, {}), sort_keys=True).encode())
    return h.hexdigest()


def write_record(path: str | os.PathLike, record: dict, name: str) -> str:
    """Write ``record`` to ``path`` through a temporary file and an atomic rename.

    Returns the checksum. Nothing is left at ``path`` if writing fails.
    """
    path = Path(path)
    checksum = record_checksum(record)
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as f:
        for key in _array_keys(record):
            f.create_dataset(key, data=np.asarray(record[key]))
        g = f.create_group(K.BASIS_LS)
        for z, ls in record[K.BASIS_LS].items():
            g.create_dataset(str(int(z)), data=np.asarray(ls, dtype=np.int64))
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["name"] = name
        f.attrs[K.SPINOR] = bool(record[K.SPINOR])
        f.attrs[K.META] = json.dumps(record.get(K.META, {}), sort_keys=True)
        f.attrs["checksum"] = checksum
    return checksum


def read_record(path: str | os.PathLike, verify: bool = True) -> dict:
    """Load a record; with ``verify`` the checksum is recomputed and must match."""
    try:
        with h5py.File(path, "r") as f:
            rec = {key: f[key][()] for key in K.ARRAY_KEYS if key not in OPTIONAL_KEYS or key in f}
            rec[K.BASIS_LS] = {
                int(z): tuple(int(l) for l in f[K.BASIS_LS][z][()]) for z in f[K.BASIS_LS]
            }
            rec[K.SPINOR] = bool(f.attrs[K.SPINOR])
            rec[K.META] = json.loads(f.attrs[K.META])
            stored = str(f.attrs["checksum"])
    except (OSError, KeyError, ValueError) as exc:
        raise CorruptEntryError(f"{path}: unreadable entry ({exc})") from exc
    if verify and record_checksum(rec) != stored:
        raise CorruptEntryError(f"{path}: checksum mismatch (the file was modified or truncated)")
    rec["checksum"] = stored
    return rec


def read_summary(path: str | os.PathLike) -> dict:
    """What a training index needs of an entry, without loading its matrices or verifying it:
    ``numbers`` (N,), ``n_edges``, ``nbytes`` (all arrays), ``basis_ls``, ``spinor``, ``meta``."""
    try:
        with h5py.File(path, "r") as f:
            return {
                K.NUMBERS: f[K.NUMBERS][()],
                "n_edges": int(f[K.EDGE_INDEX].shape[0]),
                "nbytes": int(sum(f[k].size * f[k].dtype.itemsize for k in K.ARRAY_KEYS if k in f)),
                K.BASIS_LS: {
                    int(z): tuple(int(l) for l in f[K.BASIS_LS][z][()]) for z in f[K.BASIS_LS]
                },
                K.SPINOR: bool(f.attrs[K.SPINOR]),
                K.META: json.loads(f.attrs[K.META]),
            }
    except (OSError, KeyError, ValueError) as exc:
        raise CorruptEntryError(f"{path}: unreadable entry ({exc})") from exc
