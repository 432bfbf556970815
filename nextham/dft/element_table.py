"""The measured per-element table of the MOLOPT-SR basis families (package data).

``nextham/data/element_table.json`` is written by ``benchmarks/element_table.py`` (never by
hand) and states the date, machine and command of its run. For each family and element it holds
the pseudopotential valence, the basis shells, the plane-wave cutoff at which the eigenvalues
of the elemental crystal move by at most the criterion against twice that cutoff, and the cost
of one label. Magnetic elements are computed spin-restricted (non-magnetic); the table says so.
An element the table does not (yet) list runs on PySCF's automatic mesh.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

TABLE_FILE = "element_table.json"


@cache
def measured_table() -> dict:
    """The whole table (``{"families": {family: {symbol: row}}, …}``); empty if absent."""
    path = resources.files("nextham") / "data" / TABLE_FILE
    if not path.is_file():
        return {"families": {}}
    return json.loads(path.read_text())


def measured_row(symbol: str, family: str) -> dict | None:
    """The table's row of ``symbol`` in basis family ``family``, or None."""
    return measured_table()["families"].get(family, {}).get(symbol)


def measured_cutoff_ev(symbol: str, family: str) -> float | None:
    """The converged plane-wave cutoff (eV) of ``symbol`` in ``family``, or None."""
    row = measured_row(symbol, family)
    return None if row is None or row.get("cutoff_ev") is None else float(row["cutoff_ev"])
