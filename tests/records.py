"""Synthetic records with arbitrary shells for tests that need no DFT."""

from __future__ import annotations

import numpy as np

from nextham.conventions import n_orbitals
from nextham.record import keys as K


def random_record(
    basis_ls: dict[int, tuple[int, ...]] | None = None,
    numbers: tuple[int, ...] = (14, 8),
    spinor: bool = False,
    seed: int = 0,
) -> dict:
    """A small crystal with Hermitian-consistent random S, H0, HT blocks (pairs ±R, self)."""
    rng = np.random.default_rng(seed)
    basis_ls = basis_ls or {14: (0, 1, 2), 8: (0, 0, 1, 3)}
    nat = len(numbers)
    n = np.array([n_orbitals(basis_ls[z]) for z in numbers])
    pairs = {(i, i, 0, 0, 0) for i in range(nat)}
    for i in range(nat):
        for j in range(nat):
            for r in ([1, 0, 0], [0, 1, -1]):
                pairs |= {(i, j, *r), (j, i, *(-np.array(r)))}
    keys = sorted(pairs)
    blocks: dict[str, dict] = {K.S: {}, K.H0: {}, K.HT: {}}
    for key in blocks:
        spin = 2 if spinor and key != K.S else 1
        for k in keys:
            i, j, a, b, c = k
            if k in blocks[key]:
                continue
            shape = (spin * n[i], spin * n[j])
            blk = rng.normal(size=shape)
            if spin == 2:
                blk = blk + 1j * rng.normal(size=shape)
            if (i, j) == (j, i) and (a, b, c) == (0, 0, 0):
                blk = 0.5 * (blk + blk.conj().T)
            blocks[key][k] = blk
            blocks[key][(j, i, -a, -b, -c)] = blk.conj().T
    sizes = np.array([n[i] * n[j] for i, j, *_ in keys])
    arr = np.array(keys, dtype=np.int64)
    return {
        K.CELL: np.diag([3.0, 3.5, 4.0]) + 0.1,
        K.POSITIONS: rng.uniform(0, 3, size=(nat, 3)),
        K.NUMBERS: np.array(numbers, dtype=np.int64),
        K.EDGE_INDEX: arr[:, :2].copy(),
        K.CELL_SHIFT: arr[:, 2:].copy(),
        K.BLOCK_PTR: np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        **{key: np.concatenate([blocks[key][k].ravel() for k in keys]) for key in blocks},
        K.BASIS_LS: {z: tuple(basis_ls[z]) for z in set(numbers)},
        K.SPINOR: spinor,
        K.META: {"fermi_level": 1.5, "n_electrons": 8.0},
    }


def assert_records_equal(a: dict, b: dict, atol: float = 1e-12) -> None:
    for key in (K.EDGE_INDEX, K.CELL_SHIFT, K.BLOCK_PTR, K.NUMBERS):
        np.testing.assert_array_equal(a[key], b[key])
    for key in (K.CELL, K.POSITIONS, K.S, K.H0, K.HT):
        np.testing.assert_allclose(a[key], b[key], atol=atol)
    assert a[K.SPINOR] == b[K.SPINOR]
    assert {int(z): tuple(v) for z, v in a[K.BASIS_LS].items()} == {
        int(z): tuple(v) for z, v in b[K.BASIS_LS].items()
    }
