"""Keep the memory a process frees, so that its next large arrays reuse resident pages.

glibc hands every freed block above its mmap threshold (at most 32 MB) back to the kernel at
once, and trims the heap's free top. On a virtual machine that returns freed guest pages to
its host (free page reporting, ballooning: this project's 2-core machines), the next large
array then faults each page in from the host again: 2 GB of ``np.ones`` took 7–12 s when
freshly mapped, 0.3–0.4 s on pages the process already held (measured here, also after 20 s
idle). A large-cell prediction allocates and frees arrays of hundreds of MB all along (the
4,096-atom Si model stage 85.9 → 68.4 s, the sparse H(Γ), S(Γ) 9.9 → 2.8 s with the memory
kept, same peak RSS).

:func:`retain_freed_memory` sets glibc's ``M_MMAP_MAX`` to 0 (large blocks come from the heap,
not from their own mappings) and ``M_TRIM_THRESHOLD`` to its maximum (the heap's top is never
given back): the process's resident memory stays at its high-water mark, which is what its peak
RSS reports anyway. Forked workers inherit the setting. The command line calls it for every
command; ``NEXTHAM_RETAIN_MEMORY=0`` turns it off. Without glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import os

ENV = "NEXTHAM_RETAIN_MEMORY"
M_TRIM_THRESHOLD = -1
"""glibc's ``mallopt`` parameter numbers (``malloc.h``)."""
M_MMAP_MAX = -4
NEVER = -1
"""``M_TRIM_THRESHOLD`` is read as an unsigned size: −1 is its maximum, never trim."""


def retain_freed_memory() -> bool:
    """Keep freed memory in this process (see the module docstring); whether it was set."""
    if os.environ.get(ENV, "1").strip() == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, NEVER) == 1
