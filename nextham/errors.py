"""Exceptions that mean "bad input": the CLI prints their message (one line) and exits 2."""

from __future__ import annotations

from nextham.store.hdf5 import CorruptEntryError
from nextham.structures.read import StructureError


class InputError(ValueError):
    """Invalid option or argument; the message names the problem and the fix."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    InputError,
    StructureError,
    CorruptEntryError,
    FileNotFoundError,
    KeyError,
    ValueError,
)
