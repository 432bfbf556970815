"""Other codes' layouts. Each module has ``read(dir, hints)``, ``write(record, dir)``,
``atom_map`` (its mapping matrix) and ``REQUIRED`` (files every structure directory has)."""

from nextham.formats import abacus, deeph, deeptb, deepx

FORMATS = {"abacus": abacus, "deeph": deeph, "deepx": deepx, "deeptb": deeptb}
