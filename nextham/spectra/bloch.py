"""Bloch sums of flat real-space blocks: dense H(k), S(k) in torch, differentiable.

Phase convention ("convention II", the same as :mod:`nextham.spectra.kspace` and PySCF)::

    H(k)_{ab} = Σ_R e^{i 2π k·R} H_ab(R)

with k in fractional (reduced) coordinates of the reciprocal lattice and R the integer
lattice translation of the pair (``CELL_SHIFT``); atomic positions do not enter the phase.
Eigenvalues do not depend on the convention; eigenvectors differ from the position-phased
convention by a diagonal unitary.

The dense layout (atom order, global spin-major order for spinors) is documented in
:mod:`nextham.record.flat`. All functions accept numpy arrays or tensors and return tensors
on the device of the block values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from nextham.record import keys as K
from nextham.record.flat import flat_index
from nextham.record.layout import BlockLayout

_COMPLEX = {
    torch.float32: torch.complex64,
    torch.float64: torch.complex128,
    torch.complex64: torch.complex64,
    torch.complex128: torch.complex128,
}


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """Complex dtype of matching precision (float32 → complex64, float64 → complex128)."""
    try:
        return _COMPLEX[dtype]
    except KeyError:
        raise TypeError(f"unsupported dtype {dtype} for a Bloch sum") from None


def bloch_phases(
    kpts: np.ndarray | torch.Tensor, cell_shift: np.ndarray | torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """e^{i 2π k·R} for every k and R, shape (nk, E) complex of ``dtype``.

    The angle is formed in float64 and the phase cast afterwards, so float32 runs lose no
    accuracy to large ``k·R``.
    """
    k = torch.as_tensor(np.asarray(kpts, dtype=np.float64)).reshape(-1, 3)
    r = torch.as_tensor(np.asarray(cell_shift, dtype=np.float64)).reshape(-1, 3)
    angle = 2.0 * torch.pi * (k @ r.T)
    return torch.polar(torch.ones_like(angle), angle).to(dtype)


def bloch_sum(
    blocks_flat: np.ndarray | torch.Tensor, layout: BlockLayout, kpts: np.ndarray
) -> torch.Tensor:
    """Dense H(k) = Σ_R e^{i 2π k·R} H(R) from flat blocks, batched over k.

    Parameters
    ----------
    blocks_flat : (layout.n_entries,) real or complex
        Blocks concatenated row-major in ``layout`` (scalar (n_i, n_j) or spinor (2 n_i, 2 n_j)).
    layout : BlockLayout
        Pairs, shifts, orbital counts and spin of the blocks.
    kpts : (nk, 3) float
        k-points in fractional coordinates.

    Returns
    -------
    torch.Tensor, (nk, M, M) complex
        M = N_orb or 2 N_orb; complex64 for float32 input, complex128 otherwise.
        Differentiable with respect to ``blocks_flat``.
    """
    values = torch.as_tensor(blocks_flat)
    if not (values.is_floating_point() or values.is_complex()):
        values = values.to(torch.float64)
    cdtype = complex_dtype(values.dtype)
    idx = flat_index(layout)
    if values.shape != (len(idx.edge),):
        raise ValueError(
            f"blocks_flat has shape {tuple(values.shape)}, expected ({len(idx.edge)},)"
        )
    m = idx.n_dense
    device = values.device
    phase = bloch_phases(kpts, layout.cell_shift, cdtype).to(device)
    edge = torch.as_tensor(idx.edge, device=device)
    target = torch.as_tensor(idx.dense_row * m + idx.dense_col, device=device)
    contrib = values.to(cdtype)[None, :] * phase[:, edge]
    out = torch.zeros(phase.shape[0], m * m, dtype=cdtype, device=device)
    return out.index_add(1, target, contrib).reshape(-1, m, m)


def spinor_overlap_k(s_k: torch.Tensor) -> torch.Tensor:
    """S(k) ⊗ I₂ in global spin-major order: (nk, n, n) → (nk, 2n, 2n) block diagonal."""
    eye = torch.eye(2, dtype=s_k.dtype, device=s_k.device)
    return torch.kron(eye, s_k)


def record_bloch(
    record: Mapping,
    key: str,
    kpts: np.ndarray,
    values: np.ndarray | torch.Tensor | None = None,
) -> torch.Tensor:
    """Dense matrix of a record at ``kpts``, shape (nk, M, M).

    Parameters
    ----------
    record
        Structure record (:mod:`nextham.record.keys`).
    key
        ``K.S``, ``K.H0`` or ``K.HT``; with ``values`` given, only its layout
        matters (``K.S``: scalar S, expanded to S ⊗ I₂ for spinor records; otherwise
        the layout of the Hamiltonian).
    values
        Flat blocks to use instead of ``record[key]`` (e.g. a prediction).
    """
    vals = record[key] if values is None else values
    layout = BlockLayout.of(record, key)
    if key == K.S:
        s_k = bloch_sum(vals, layout, kpts)
        return spinor_overlap_k(s_k) if record[K.SPINOR] else s_k
    return bloch_sum(vals, layout, kpts)
