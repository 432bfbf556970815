"""Find the structure directories of a source: the directory itself or every subdirectory that
holds the files of the named format."""

from __future__ import annotations

import os
from pathlib import Path

from nextham.errors import InputError
from nextham.formats.blocks import require_files


def structure_dirs(source: str | Path, required: list[str], fmt: str) -> list[tuple[str, Path]]:
    """(name, directory) of every structure under ``source``, sorted by path.

    ``source`` itself is one structure when it holds all ``required`` files (its name is the
    directory name); otherwise every subdirectory that does is one, named by its path below
    ``source`` with ``/`` replaced by ``_``. Raises :class:`InputError` when there is none.
    """
    root = Path(source)
    if not root.is_dir():
        raise InputError(f"{root}: no such directory; give the folder of the {fmt} data")
    if all((root / n).is_file() for n in required):
        return [(root.resolve().name, root)]
    found = []
    for here, dirs, files in os.walk(root):
        dirs.sort()
        if all(n in files for n in required):
            rel = Path(here).relative_to(root)
            found.append(("_".join(rel.parts), Path(here)))
            dirs.clear()  # a structure directory's own folders (OUT.*) are not structures
    if not found:
        try:
            require_files(root, required, fmt)
        except InputError as exc:
            raise InputError(f"{exc} (and no subdirectory is one)") from None
    return found
