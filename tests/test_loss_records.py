"""Tiny synthetic structure records shared by the loss and metric tests.

The matrices are random but obey the record's symmetries: every pair (i, j, R) has its
partner (j, i, −R) with the conjugate-transposed block, self blocks are Hermitian, and S
is diagonally dominant (positive definite at every k).
"""

from __future__ import annotations

import itertools

import numpy as np

from nextham.record import keys as K

BASIS = {1: (0,), 8: (0, 1)}
SHIFTS = [(0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (1, 1, 0), (-1, -1, 0)]


def _norb(z: int) -> int:
    return sum(2 * l + 1 for l in BASIS[z])


def random_blocks(rng, keys, numbers, spinor, scale, onsite_shift=0.0):
    """Hermitian-consistent random blocks keyed by (i, j, R)."""
    f = 2 if spinor else 1
    out = {}
    for i, j, r in keys:
        if (i, j, r) in out:
            continue
        shape = (f * _norb(numbers[i]), f * _norb(numbers[j]))
        block = scale * rng.standard_normal(shape)
        if spinor:
            block = block + 1j * scale * rng.standard_normal(shape)
        partner = (j, i, tuple(-x for x in r))
        if partner == (i, j, r):
            block = 0.5 * (block + block.conj().T) + onsite_shift * np.eye(shape[0])
        out[(i, j, r)] = block
        out[partner] = block.conj().T
    return out


def make_record(seed: int = 0, spinor: bool = False, numbers=(8, 1), fermi_level=0.0):
    """A random two-dimensional-periodic record of a few atoms (see module docstring)."""
    rng = np.random.default_rng(seed)
    numbers = list(numbers)
    n_at = len(numbers)
    cell = np.diag([2.5, 2.7, 9.0]) + 0.1 * rng.standard_normal((3, 3))
    positions = rng.uniform(0, 1, (n_at, 3)) @ cell
    keys = [(i, j, r) for i, j in itertools.product(range(n_at), repeat=2) for r in SHIFTS]
    s_blocks = random_blocks(rng, keys, numbers, False, 0.03)
    for i in range(n_at):
        s_blocks[(i, i, (0, 0, 0))] += np.eye(_norb(numbers[i]))
    h0 = random_blocks(rng, keys, numbers, spinor, 1.0)
    dh = random_blocks(rng, keys, numbers, spinor, 0.2)
    block_ptr = np.concatenate(
        [[0], np.cumsum([_norb(numbers[i]) * _norb(numbers[j]) for i, j, _ in keys])]
    )
    return {
        K.CELL: cell,
        K.POSITIONS: positions,
        K.NUMBERS: np.array(numbers, dtype=np.int64),
        K.EDGE_INDEX: np.array([(i, j) for i, j, _ in keys], dtype=np.int64),
        K.CELL_SHIFT: np.array([r for _, _, r in keys], dtype=np.int64),
        K.BLOCK_PTR: block_ptr.astype(np.int64),
        K.S: np.concatenate([s_blocks[k].ravel() for k in keys]),
        K.H0: np.concatenate([h0[k].ravel() for k in keys]),
        K.HT: np.concatenate([(h0[k] + dh[k]).ravel() for k in keys]),
        K.BASIS_LS: dict(BASIS),
        K.SPINOR: spinor,
        K.META: {"fermi_level": fermi_level, "n_electrons": 4},
    }


def blocks_of(record, key):
    """The flat array of ``record[key]`` split into a list of 2-D blocks."""
    spinor = record[K.SPINOR] and key != K.S
    f = 2 if spinor else 1
    out = []
    ptr = record[K.BLOCK_PTR]
    for e, (i, j) in enumerate(record[K.EDGE_INDEX]):
        ni, nj = _norb(int(record[K.NUMBERS][i])), _norb(int(record[K.NUMBERS][j]))
        flat = record[key][f * f * ptr[e] : f * f * ptr[e + 1]]
        out.append(flat.reshape(f * ni, f * nj))
    return out


def test_records_have_partners_with_adjoint_blocks():
    for spinor in (False, True):
        rec = make_record(3, spinor=spinor)
        blocks = blocks_of(rec, K.HT)
        index = {
            (int(i), int(j), tuple(r)): e
            for e, ((i, j), r) in enumerate(zip(rec[K.EDGE_INDEX], rec[K.CELL_SHIFT].tolist()))
        }
        for (i, j, r), e in index.items():
            partner = index[(j, i, tuple(-x for x in r))]
            np.testing.assert_allclose(blocks[partner], blocks[e].conj().T)
