"""The position matrix r_a,ij(R) = <φ_i0 | r_a | φ_jR> over the stored pairs, in real space.

Like the overlap (:mod:`nextham.dft.pairs`) it is an analytic two-centre Gaussian integral
(PySCF ``int1e_r`` through ``intor_cross`` between the home cell and the image atoms of the
stored pairs), with r measured from the origin of the cell's Cartesian frame. Optics uses it
for the exact velocity matrix elements (:mod:`nextham.optics.kubo`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pyscf.pbc import gto as pbcgto

from nextham.conventions import BOHR_ANGSTROM
from nextham.dft.cell import atom_ao_slices, build_cell
from nextham.dft.pairs import pair_blocks
from nextham.dft.settings import stored_settings
from nextham.errors import InputError
from nextham.record import keys as K
from nextham.record.layout import orbital_counts
from nextham.structures.read import record_atoms


def position_blocks(
    cell: pbcgto.Cell, edge_index: np.ndarray, cell_shift: np.ndarray
) -> list[np.ndarray]:
    """<φ_i0 | r | φ_jR> of each pair (i, j, R), a list of (3, n_i, n_j) arrays in Å."""
    return [b * BOHR_ANGSTROM for b in pair_blocks(cell, edge_index, cell_shift, "int1e_r")]


def flat_position(blocks: list[np.ndarray]) -> np.ndarray:
    """Blocks (3, n_i, n_j) → the record's (3, len(S)) layout (``K.R_MATRIX``)."""
    return np.stack([np.concatenate([b[a].ravel() for b in blocks]) for a in range(3)])


def record_position_matrix(record: Mapping) -> np.ndarray:
    """The position matrix (3, len(S)) of an engine record's pairs, computed from its geometry
    and stored engine settings (for records generated or predicted without it).

    Raises :class:`~nextham.errors.InputError` for a record the engine did not make (imported:
    its basis is not an engine basis) or whose basis does not match the settings.
    """
    meta = record.get(K.META) or {}
    settings = stored_settings(meta)
    if settings is None or meta.get("source"):
        raise InputError(
            "the record was not made by nextham's engine, so its position matrix cannot be "
            "computed; import it with its rR file, or use the two-centre approximation"
        )
    atoms = record_atoms(record)
    cell = build_cell(atoms, settings)
    widths = np.diff(atom_ao_slices(cell), axis=1).ravel()
    if not np.array_equal(widths, orbital_counts(record)):
        raise InputError(
            "the record's basis does not match its stored engine settings; "
            "regenerate it with --position-matrix"
        )
    return flat_position(position_blocks(cell, record[K.EDGE_INDEX], record[K.CELL_SHIFT]))
