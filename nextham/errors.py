"""Exceptions that mean "bad input": the CLI prints their message (one line) and exits 2.

This module is the ground floor: it imports nothing of nextham, so every layer can raise them.
"""

from __future__ import annotations


class InputError(ValueError):
    """Invalid option, argument or configuration; the message names the problem and the fix."""


class StructureError(ValueError):
    """A structure file or a structure is unusable; the message names the problem and the fix."""


class CorruptEntryError(RuntimeError):
    """An entry file is unreadable or its content does not match its checksum."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    InputError,
    StructureError,
    CorruptEntryError,
    FileNotFoundError,
    KeyError,
    ValueError,
)
