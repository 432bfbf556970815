"""The standard band path of a cell (ASE's ``bandpath``), in fractional k and path length."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase.cell import Cell


@dataclass
class BandPath:
    """k-points along a path.

    Attributes
    ----------
    kpts : (nk, 3) fractional coordinates (reciprocal lattice units).
    x : (nk,) cumulative path length, 1/Å (with 2π).
    special_x : (ns,) positions of the labelled points on ``x``.
    labels : ns labels (``Γ`` for G).
    """

    kpts: np.ndarray
    x: np.ndarray
    special_x: np.ndarray
    labels: list[str]


def band_path(cell: np.ndarray, npoints: int = 120, path: str | None = None) -> BandPath:
    """The standard path of the lattice of ``cell`` (rows, Å) with about ``npoints`` points."""
    bp = Cell(np.asarray(cell, dtype=float)).bandpath(path=path, npoints=npoints)
    x, special_x, labels = bp.get_linear_kpoint_axis()
    labels = ["Γ" if lab == "G" else lab for lab in labels]
    xs: list[float] = []
    merged: list[str] = []
    for xv, lab in zip(special_x, labels, strict=True):
        if xs and abs(xv - xs[-1]) < 1e-9:  # a jump in the path: "K|U"
            merged[-1] = f"{merged[-1]}|{lab}"
        else:
            xs.append(float(xv))
            merged.append(lab)
    return BandPath(np.asarray(bp.kpts), np.asarray(x), np.asarray(xs), merged)
