"""Reuse the values of the crystal orbitals on the FFT grid within one label.

PySCF evaluates the Bloch sums of the atomic orbitals on the real-space grid,
Σ_L e^{ik·L} φ(r − L), afresh at every Fock build: each SCF cycle for the Coulomb and the
exchange–correlation parts, the multigrid tasks, the SAD and the converged density, the local
potential of H0 and of HT. The grid, the k-points and the basis do not change within one label,
so the values do not either; on the engine's small cells this evaluation is most of the time of
the multigrid path (``benchmarks/generate_cost.py``). Within :func:`cached_ao_values`, PySCF's
``KNumInt.eval_ao`` keeps its results (keyed by the cell's basis, the grid, the k-points, the
derivative order and the screening mask) up to a memory budget and hands the same, read-only
arrays back; the numbers are PySCF's own. The same holds for the grid's screening
mask (``UniformGrids.make_mask``): PySCF's FFT density fitting hands out a new grid object, and
so recomputes the mask, at every Coulomb build and local-pseudopotential integration.

A GGA label asks for the values twice per SCF cycle: with their gradients (exchange–correlation)
and without (Coulomb, local pseudopotential). The values without gradients are the first
component of those with, so one cached entry serves both (a label then differs from one
without the cache by rounding, 3e-14 eV in HT of Si₂). The budget is
:data:`AO_CACHE_BYTES`, or ``NEXTHAM_AO_CACHE_GB`` from the environment (a campaign with few
workers on a large machine sets it higher: a label whose values do not fit recomputes them at
every cycle, e.g. 29 s per cycle for a 7-atom Na cell).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator

import numpy as np
from pyscf.pbc.dft import gen_grid, numint

from nextham.dft import fast_paths

AO_CACHE_BYTES = 1_500_000_000
"""Most memory the cached values of one label take (default); beyond it values are computed as
usual."""
BUDGET_ENV = "NEXTHAM_AO_CACHE_GB"
"""Environment variable overriding :data:`AO_CACHE_BYTES` (GB, decimal)."""


def cache_budget() -> int:
    """The cache's budget in bytes: ``NEXTHAM_AO_CACHE_GB`` if set, else :data:`AO_CACHE_BYTES`."""
    value = os.environ.get(BUDGET_ENV)
    if value is None or not value.strip():
        return AO_CACHE_BYTES
    try:
        gb = float(value)
    except ValueError:
        raise ValueError(f"{BUDGET_ENV}={value!r} is not a number of GB; set e.g. 4") from None
    if gb < 0:
        raise ValueError(f"{BUDGET_ENV} must be at least 0 GB, got {value}")
    return int(gb * 1e9)


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
def cached_ao_values(max_bytes: int | None = None, gradients: bool = False) -> Iterator[dict]:
    """Within the block, PySCF's k-point AO values are computed once per grid and k set, and
    the uniform grid's screening mask once per grid (nothing is cached while the fast paths are
    off, :mod:`nextham.dft.fast_paths`); ``max_bytes`` defaults to :func:`cache_budget`. With
    ``gradients`` (a GGA label, which will ask for them) the first request for values without
    gradients computes and caches them with gradients when they fit, so that the SCF's later
    request finds them."""
    max_bytes = cache_budget() if max_bytes is None else max_bytes
    if not fast_paths.enabled():
        yield {}
        return
    original = numint.KNumInt.__dict__["eval_ao"]
    values_cache = _Values(original.__func__, max_bytes, gradients)

    def eval_ao(cell, coords, kpts=None, deriv=0, relativity=0, shls_slice=None,
                non0tab=None, cutoff=None, out=None, verbose=None, **kwargs):  # fmt: skip
        if out is not None or shls_slice is not None or kwargs:
            return values_cache.compute(cell, coords, kpts, deriv, relativity, shls_slice,
                                        non0tab, cutoff, out, verbose, **kwargs)  # fmt: skip
        return values_cache.get(cell, coords, kpts, deriv, relativity, non0tab, cutoff)

    cache = values_cache.entries
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


class _Values:
    """The cached values: entries keyed by basis, grid, k set and mask, then ``/deriv``."""

    def __init__(self, compute, max_bytes: int, gradients: bool):
        self.compute, self.max_bytes, self.gradients = compute, max_bytes, gradients
        self.entries: dict[str, object] = {}
        self.used = 0

    def get(self, cell, coords, kpts, deriv, relativity, non0tab, cutoff):
        base = _digest(cell._atm, cell._bas, cell._env, coords, kpts, non0tab)
        base += f"/{cutoff}/{relativity}"
        if f"{base}/{deriv}" in self.entries:
            return self.entries[f"{base}/{deriv}"]
        if deriv == 0 and f"{base}/1" in self.entries:  # the gradients' component 0
            return [v[0] for v in self.entries[f"{base}/1"]]
        want = deriv
        if deriv == 0 and self.gradients and self._fits(_gradient_bytes(cell, coords, kpts)):
            want = 1
        values = self.compute(cell, coords, kpts, want, relativity, None, non0tab, cutoff)
        self._store(base, want, values)
        return [v[0] for v in values] if want != deriv else values

    def _fits(self, size: int) -> bool:
        return self.used + size <= self.max_bytes

    def _store(self, base: str, deriv: int, values) -> None:
        size = sum(np.asarray(a).nbytes for a in values)
        plain = f"{base}/0" if deriv == 1 and f"{base}/0" in self.entries else None
        freed = sum(np.asarray(a).nbytes for a in self.entries[plain]) if plain else 0
        if self._fits(size - freed):
            if plain:  # superseded: the new entry serves it
                del self.entries[plain]
            self.entries[f"{base}/{deriv}"] = _read_only(values)
            self.used += size - freed


def _gradient_bytes(cell, coords, kpts) -> int:
    """Bytes of the values with gradients (4 components) of ``cell`` at ``coords`` and ``kpts``."""
    kpts = np.zeros((1, 3)) if kpts is None else np.reshape(kpts, (-1, 3))
    itemsize = 8 if not np.any(kpts) else 16
    return 4 * len(coords) * cell.nao_nr() * len(kpts) * itemsize
