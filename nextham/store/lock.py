"""One writer per dataset directory: an exclusive, non-blocking lock held while a run writes.

Two `nextham generate` runs on the same directory would compute the same structures and
overwrite each other's manifest; the second one is refused instead, naming the fix. The lock
is an ``fcntl`` lock on ``<dataset>/.writer.lock``: the operating system releases it when the
process ends, however it ends, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from nextham.errors import InputError

LOCK_NAME = ".writer.lock"


@contextlib.contextmanager
def single_writer(path: str | os.PathLike) -> Iterator[None]:
    """Hold the writer lock of dataset directory ``path`` (created if missing) for the block.

    Raises
    ------
    InputError
        If another process holds it.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_NAME, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            raise InputError(
                f"{root} is being written by another process (pid {owner}); wait for that "
                "`nextham generate` to finish, or write to another directory"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
