"""Draws that a growing dataset keeps: a name's place in [0, 1), from a hash of it and a seed.

A split drawn by shuffling the list of structures moves structures between train and test as
soon as the list grows (a campaign adds labels between trainings), so that a model trained on
an earlier copy may have trained on a later copy's test structures, and two copies' test
errors are not measured on the same structures. With the draw of :func:`unit_hash` a base
cell (or an element pair) goes to the same part whatever else is in the data: the test split
of a larger copy holds every test structure of a smaller one.
"""

from __future__ import annotations

import hashlib


def unit_hash(seed: int, *names: str) -> float:
    """A number in [0, 1) fixed by ``seed`` and ``names`` (BLAKE2b; the same on every machine
    and Python version), uniform over names."""
    text = "\x1f".join([str(int(seed)), *names])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
