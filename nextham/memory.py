"""Keep the memory a process frees, for a stage that allocates large arrays over and over.

glibc hands every freed block above its mmap threshold (at most 32 MB) back to the kernel at
once, and trims the heap's free top. On a virtual machine that returns freed guest pages to
its host (free page reporting, ballooning: this project's 2-core machines), the next large
array then faults each page in from the host again: 2 GB of ``np.ones`` took 7–12 s when
freshly mapped, 0.3–0.4 s on pages the process already held (measured here, also after 20 s
idle). The model and the spectra of a large cell allocate and free arrays of hundreds of MB
all along: 4,096-atom Si, model 85.9 → 68.4 s, sparse H(Γ), S(Γ) 9.9 → 2.8 s with the memory
kept, same peak RSS.

:func:`retained_memory` sets glibc's ``M_MMAP_MAX`` to 0 (large blocks come from the heap, not
from their own mappings) and ``M_TRIM_THRESHOLD`` to its maximum (the heap's top is never
given back) for the duration of a block, then restores glibc's defaults and trims the heap
(``malloc_trim``). Inside it the resident memory stays at the block's high-water mark plus
the heap's fragmentation, so it wraps the model and the spectra (``Predictor.
predict_record``, the sparse path of ``bands.compute.band_structure``) but not the H0 build,
whose forked workers and many-sized temporaries fragment the heap (10,648-atom Si with the
whole run kept: peak RSS 16.4 GB instead of 14.0).
``NEXTHAM_RETAIN_MEMORY=0`` turns it off. Without glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "NEXTHAM_RETAIN_MEMORY"
M_TRIM_THRESHOLD = -1
"""glibc's ``mallopt`` parameter numbers (``malloc.h``)."""
M_MMAP_MAX = -4
NEVER = -1
"""``M_TRIM_THRESHOLD`` is read as an unsigned size: −1 is its maximum, never trim."""
DEFAULTS = {M_MMAP_MAX: 65536, M_TRIM_THRESHOLD: 128 * 1024}
"""glibc's defaults, restored at the end of :func:`retained_memory`."""


def _libc() -> ctypes.CDLL | None:
    if os.environ.get(ENV, "1").strip() == "0":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes, libc.mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


_depth = 0
"""Blocks of :func:`retained_memory` open now: only the outermost sets and restores."""


@contextmanager
def retained_memory() -> Iterator[bool]:
    """Keep freed memory in this process inside the block (see the module docstring); yields
    whether it is kept. Blocks nest: an inner one leaves the outer one's setting alone."""
    global _depth
    libc = _libc()
    kept = libc is not None and (
        _depth > 0
        or all(
            libc.mallopt(param, value) == 1
            for param, value in ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, NEVER))
        )
    )
    _depth += 1
    try:
        yield kept
    finally:
        _depth -= 1
        if libc is not None and _depth == 0:
            for param, value in DEFAULTS.items():
                libc.mallopt(param, value)
            libc.malloc_trim(0)
