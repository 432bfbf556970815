"""retained_memory: freed large arrays stay resident inside the block, and are given back after."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nextham.memory import ENV

SCRIPT = """
import os
import numpy as np
from nextham.memory import retained_memory

def resident_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

before = resident_mb()
with retained_memory() as kept:
    with retained_memory():  # a nested block leaves the outer one's setting alone
        pass
    a = np.ones(50_000_000)  # 400 MB, above glibc's largest mmap threshold
    del a
    inside = resident_mb() - before
after = resident_mb() - before
print(kept, inside, after)
"""


def _run(env_value: str | None) -> tuple[str, float, float]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if env_value is not None:
        env[ENV] = env_value
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    return out[0], float(out[1]), float(out[2])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt and /proc")
def test_freed_array_stays_resident_inside_the_block_only():
    kept, inside, after = _run(None)
    assert kept == "True"
    assert inside > 350  # the 400 MB stay the process's inside the block
    assert after < 50  # and are given back when it ends
    off, inside_off, _ = _run("0")
    assert off == "False"
    assert inside_off < 50  # not kept: given back to the kernel at once
