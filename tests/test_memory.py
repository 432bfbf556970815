"""retain_freed_memory: freed large arrays stay resident in the process (glibc), or not at all."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nextham.memory import ENV

SCRIPT = """
import os, sys
import numpy as np
from nextham.memory import retain_freed_memory

def resident_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

print(retain_freed_memory())
before = resident_mb()
a = np.ones(50_000_000)  # 400 MB, above glibc's largest mmap threshold
del a
print(resident_mb() - before)
"""


def _run(env_value: str | None) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if env_value is not None:
        env[ENV] = env_value
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    return out[0], float(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt and /proc")
def test_freed_array_stays_resident_only_when_retained():
    kept, grown = _run(None)
    assert kept == "True"
    assert grown > 350  # the 400 MB stay the process's
    off, back = _run("0")
    assert off == "False"
    assert back < 50  # given back to the kernel at once
