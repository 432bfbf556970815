"""Reuse the values of the crystal orbitals on the FFT grid within one label.

PySCF evaluates the Bloch sums of the atomic orbitals on the real-space grid,
Σ_L e^{ik·L} φ(r − L), afresh at every Fock build: each SCF cycle for the Coulomb and the
exchange–correlation parts, the multigrid tasks, the SAD and the converged density, the local
potential of H0 and of HT. The grid, the k-points and the basis do not change within one label,
so the values do not either; on the engine's small cells this evaluation is most of the time of
the multigrid path (``benchmarks/generate_cost.py``). Within :func:`cached_ao_values`, PySCF's
``KNumInt.eval_ao`` keeps its results (keyed by the cell's basis, the grid, the k-points, the
derivative order and the screening mask) up to a memory budget and hands the same, read-only
arrays back; the numbers are PySCF's own, bit for bit. The same holds for the grid's screening
mask (``UniformGrids.make_mask``): PySCF's FFT density fitting hands out a new grid object, and
so recomputes the mask, at every Coulomb build and local-pseudopotential integration.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import numpy as np
from pyscf.pbc.dft import gen_grid, numint

from nextham.dft import fast_paths

AO_CACHE_BYTES = 1_500_000_000
"""Most memory the cached values of one label take; beyond it values are computed as usual."""


def _digest(*arrays) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _read_only(values):
    arrays = values if isinstance(values, (list, tuple)) else [values]
    for a in arrays:
        np.asarray(a).setflags(write=False)
    return values


@contextlib.contextmanager
def cached_ao_values(max_bytes: int = AO_CACHE_BYTES) -> Iterator[dict]:
    """Within the block, PySCF's k-point AO values are computed once per grid and k set, and
    the uniform grid's screening mask once per grid (nothing is cached while the fast paths are
    off, :mod:`nextham.dft.fast_paths`)."""
    if not fast_paths.enabled():
        yield {}
        return
    original = numint.KNumInt.__dict__["eval_ao"]
    compute = original.__func__
    cache: dict[str, object] = {}
    used = [0]

    def eval_ao(cell, coords, kpts=None, deriv=0, relativity=0, shls_slice=None,
                non0tab=None, cutoff=None, out=None, verbose=None, **kwargs):  # fmt: skip
        if out is not None or shls_slice is not None or kwargs:
            return compute(cell, coords, kpts, deriv, relativity, shls_slice, non0tab, cutoff,
                           out, verbose, **kwargs)  # fmt: skip
        key = _digest(cell._atm, cell._bas, cell._env, coords, kpts, non0tab)
        key += f"/{deriv}/{cutoff}/{relativity}"
        if key in cache:
            return cache[key]
        values = compute(cell, coords, kpts, deriv, relativity, None, non0tab, cutoff)
        size = sum(np.asarray(a).nbytes for a in values)
        if used[0] + size <= max_bytes:
            cache[key] = _read_only(values)
            used[0] += size
        return values

    original_mask = gen_grid.UniformGrids.make_mask
    masks: dict[str, np.ndarray] = {}

    def make_mask(grids, cell=None, coords=None, *args, **kwargs):
        cell = grids.cell if cell is None else cell
        coords = grids.coords if coords is None else coords
        if args or kwargs:
            return original_mask(grids, cell, coords, *args, **kwargs)
        key = _digest(cell._atm, cell._bas, cell._env, coords)
        if key not in masks:
            masks[key] = _read_only(original_mask(grids, cell, coords))
        return masks[key]

    numint.KNumInt.eval_ao = staticmethod(eval_ao)
    gen_grid.UniformGrids.make_mask = make_mask
    try:
        yield cache
    finally:
        numint.KNumInt.eval_ao = original
        gen_grid.UniformGrids.make_mask = original_mask
