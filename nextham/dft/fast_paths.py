"""The engine's fast paths, and one switch that turns them all off.

Each fast path builds the same matrices as the path it replaces (to rounding, tested): PySCF's
orbital values cached within a label (:mod:`nextham.dft.ao_cache`), the reference Fock
matrices of every transform-mesh k from one folded sweep and off-mesh k in one pass
(:mod:`nextham.dft.mesh_fock`), and the spinor SCF's potential from the scalar machinery
(:mod:`nextham.dft.nonmagnetic`). Benchmarks measure them against the paths they replace
(``benchmarks/generate_cost.py``, ``benchmarks/soc_label_cost.py``) with :func:`disabled`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_ENABLED = [True]


def enabled() -> bool:
    """Whether the fast paths are on (the default)."""
    return _ENABLED[0]


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within the block, the engine takes the paths the fast ones replace."""
    saved = _ENABLED[0]
    _ENABLED[0] = False
    try:
        yield
    finally:
        _ENABLED[0] = saved
