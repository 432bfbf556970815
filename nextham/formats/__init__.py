"""Export formats. Each module has ``write(record, dir)``, ``read(dir)`` and ``atom_map``."""

from nextham.formats import deeph, deeptb

FORMATS = {"deeph": deeph, "deeptb": deeptb}
