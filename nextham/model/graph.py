"""Batched graph of one or more structure records.

Nodes are atoms, edges are the record's directed pairs (i, j, R) including self pairs and
periodic images. Several records are concatenated (atom and edge indices offset). The H0
blocks are scattered into the padded layout of :class:`~nextham.basis.OrbitalLayout`
(scalar (E, F, F) real, spinor (E, 2, F, 2, F) complex), and :attr:`GraphBatch.flat_index`
says where each entry of the records' flat block arrays lives in that padded tensor, so
model outputs go back to the record layout with one gather.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nextham.basis import OrbitalLayout
from nextham.model.electrostatics import coulomb_pairs
from nextham.record import keys as K
from nextham.record.flat import flat_index
from nextham.record.layout import BlockLayout, require_h0


@dataclass
class GraphBatch:
    """Tensors of a batch of structures (N atoms, E directed pairs, B structures).

    Attributes
    ----------
    positions : (N, 3) Å
    cell : (B, 3, 3) Å, lattice vectors as rows
    species : (N,) int64, species index in the layout
    node_graph : (N,) int64, structure of each atom
    edge_index : (E, 2) int64, global (i, j)
    cell_shift : (E, 3) float, lattice translation R of atom j
    edge_graph : (E,) int64
    partner : (E,) int64, index of the conjugate pair (j, i, −R)
    h0 : (E, F, F) real or (E, 2, F, 2, F) complex, H0 in the padded layout (eV)
    flat_index : (n_entries,) int64, position of each flat-layout entry in ``h0.reshape(-1)``
    flat_ptr : (B + 1,) int64, offsets of each structure in the concatenated flat arrays
    edge_ptr : (B + 1,) int64, offsets of each structure's edges
    magnetic : (B,) bool, structures whose metadata says ``magnetic``
    spinor : bool
    overlap : (E, F, F) real or None, S in the padded scalar layout (only when asked for)
    coulomb_pairs : (P, 2) int64 or None, global (i, j) of every pair of sites within the
        Coulomb range (only when asked for; :func:`~nextham.model.electrostatics.coulomb_pairs`)
    coulomb_length : (P,) or None, their lengths, Å
    """

    positions: torch.Tensor
    cell: torch.Tensor
    species: torch.Tensor
    node_graph: torch.Tensor
    edge_index: torch.Tensor
    cell_shift: torch.Tensor
    edge_graph: torch.Tensor
    partner: torch.Tensor
    h0: torch.Tensor
    flat_index: torch.Tensor
    flat_ptr: torch.Tensor
    edge_ptr: torch.Tensor
    magnetic: torch.Tensor
    spinor: bool
    overlap: torch.Tensor | None = None
    coulomb_pairs: torch.Tensor | None = None
    coulomb_length: torch.Tensor | None = None

    @property
    def num_graphs(self) -> int:
        return int(self.cell.shape[0])

    def edge_vectors(self) -> torch.Tensor:
        """r_j + R·cell − r_i of every edge, shape (E, 3), Å."""
        i, j = self.edge_index[:, 0], self.edge_index[:, 1]
        shift = torch.einsum("ea,eab->eb", self.cell_shift, self.cell[self.edge_graph])
        return self.positions[j] + shift - self.positions[i]

    def to(self, device: torch.device | str) -> GraphBatch:
        """Copy of the batch with every tensor on ``device``."""
        moved = {
            f.name: getattr(self, f.name).to(device)
            if isinstance(getattr(self, f.name), torch.Tensor)
            else getattr(self, f.name)
            for f in dataclasses.fields(self)
        }
        return GraphBatch(**moved)

    def gather_flat(self, blocks: torch.Tensor) -> torch.Tensor:
        """Padded blocks (same shape as :attr:`h0`) → concatenated flat record layout."""
        return blocks.reshape(-1)[self.flat_index]

    def split_flat(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Concatenated flat arrays → one per structure, each in its record's layout."""
        return list(torch.split(flat, torch.diff(self.flat_ptr).tolist()))

    def split_edges(self, values: torch.Tensor) -> list[torch.Tensor]:
        """Per-edge values (E, …) → one tensor per structure, in its record's edge order."""
        return list(torch.split(values, torch.diff(self.edge_ptr).tolist()))


def partner_index(edge_index: np.ndarray, cell_shift: np.ndarray) -> np.ndarray:
    """Index of the pair (j, i, −R) of every pair (i, j, R), shape (E,); sort-based, O(E log E)."""
    n = int(edge_index.max()) + 1
    span = int(np.abs(cell_shift).max()) * 2 + 1 if len(cell_shift) else 1
    r = cell_shift + span // 2

    def key(i: np.ndarray, j: np.ndarray, r: np.ndarray) -> np.ndarray:
        return ((i * n + j) * span + r[:, 0]) * span * span + r[:, 1] * span + r[:, 2]

    own = key(edge_index[:, 0], edge_index[:, 1], r)
    want = key(edge_index[:, 1], edge_index[:, 0], span - 1 - r)
    order = np.argsort(own, kind="stable")
    pos = np.clip(np.searchsorted(own[order], want), 0, len(own) - 1)
    found = order[pos]
    if not np.array_equal(own[found], want):
        bad = int(np.flatnonzero(own[found] != want)[0])
        raise ValueError(f"pair {bad} (i, j, R) has no stored partner (j, i, −R)")
    return found


def _flat_positions(
    record: dict, layout: OrbitalLayout, species: np.ndarray, spinor: bool, key: str = K.HT
) -> np.ndarray:
    """Position of each flat entry of matrix ``key`` of one record inside its (E, …) padded
    tensor (scalar (E, F, F) for S), flattened."""
    blocks = BlockLayout.of(record, key)
    idx, pairs = flat_index(blocks), blocks.edge_index
    si, sj = species[pairs[idx.edge, 0]], species[pairs[idx.edge, 1]]
    f = layout.dim
    if not spinor:
        fr, fc = layout.index_table[si, idx.row], layout.index_table[sj, idx.col]
        return (idx.edge * f + fr) * f + fc
    a, b = idx.row % layout.n_orb[si], idx.col % layout.n_orb[sj]
    s, t = idx.spin // 2, idx.spin % 2
    fa, fb = layout.index_table[si, a], layout.index_table[sj, b]
    return (((idx.edge * 2 + s) * f + fa) * 2 + t) * f + fb


def _record_arrays(
    record: dict, layout: OrbitalLayout, spinor: bool, index: int, overlap: bool
) -> dict[str, np.ndarray]:
    """Checked numpy arrays of one record (local atom and edge indices)."""
    require_h0(record, f"record {index}")
    if bool(record[K.SPINOR]) != spinor:
        raise ValueError(f"record {index} has SPINOR={record[K.SPINOR]}, the model {spinor}")
    for z, ls in record[K.BASIS_LS].items():
        if tuple(layout.basis_ls.get(int(z), ())) != tuple(ls):
            raise ValueError(f"record {index}: basis of Z={z} {tuple(ls)} differs from the model")
    species = layout.species_index(record[K.NUMBERS])
    pairs = np.asarray(record[K.EDGE_INDEX], dtype=np.int64).reshape(-1, 2)
    shift = np.asarray(record[K.CELL_SHIFT], dtype=np.int64).reshape(-1, 3)
    extra = {}
    if overlap:
        if K.S not in record:
            raise ValueError(f"record {index} has no overlap S, which the model's overlap_shift "
                             "needs")  # fmt: skip
        extra = {"sidx": _flat_positions(record, layout, species, False, K.S),
                 "sflat": np.asarray(record[K.S])}  # fmt: skip
    return {
        **extra,
        "pos": np.asarray(record[K.POSITIONS], dtype=np.float64),
        "cell": np.asarray(record[K.CELL], dtype=np.float64),
        "sp": species,
        "ei": pairs,
        "cs": shift,
        "partner": partner_index(pairs, shift),
        "fidx": _flat_positions(record, layout, species, spinor),
        "flat": np.asarray(record[K.H0]),
        "mag": np.array(bool(record.get(K.META, {}).get("magnetic", False))),
    }


def build_batch(
    records: Sequence[dict],
    layout: OrbitalLayout,
    spinor: bool,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    overlap: bool = False,
    coulomb_cutoff: float | None = None,
) -> GraphBatch:
    """Batch structure records (see :mod:`nextham.record.keys`) into one graph.

    Parameters
    ----------
    records
        Records with at least CELL, POSITIONS, NUMBERS, EDGE_INDEX, CELL_SHIFT, BLOCK_PTR,
        H0, SPINOR and BASIS_LS (which must agree with ``layout``). ``META["magnetic"]``
        (default False) selects the time-reversal projection in ``auto`` mode.
    layout
        The model's padded orbital layout.
    spinor
        The model's mode; records of the other mode are rejected.
    dtype
        Real floating type; spinor H0 uses the matching complex type.
    overlap
        Also scatter S into the padded scalar layout (:attr:`GraphBatch.overlap`).
    coulomb_cutoff
        Also list the pairs of sites within this range (Å; :attr:`GraphBatch.coulomb_pairs`).
    """
    f = layout.dim
    per_edge = 4 * f * f if spinor else f * f
    parts = [_record_arrays(rec, layout, spinor, g, overlap) for g, rec in enumerate(records)]
    n_atoms = np.cumsum([0] + [len(p["sp"]) for p in parts])
    n_edges = np.cumsum([0] + [len(p["ei"]) for p in parts])

    def cat(key: str, offsets: np.ndarray | None = None, **kw) -> torch.Tensor:
        arrays = [p[key] + (0 if offsets is None else offsets[g]) for g, p in enumerate(parts)]
        return torch.as_tensor(np.concatenate(arrays), **kw)

    flat_index = cat("fidx", n_edges * per_edge)
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    h0 = torch.zeros(int(n_edges[-1]) * per_edge, dtype=cdtype if spinor else dtype)
    h0[flat_index] = cat("flat").to(h0.dtype)
    graph_of = [np.repeat(np.arange(len(parts)), np.diff(n)) for n in (n_atoms, n_edges)]
    batch = GraphBatch(
        positions=cat("pos", dtype=dtype),
        cell=torch.as_tensor(np.stack([p["cell"] for p in parts]), dtype=dtype),
        species=cat("sp"),
        node_graph=torch.as_tensor(graph_of[0]),
        edge_index=cat("ei", n_atoms),
        cell_shift=cat("cs", dtype=dtype),
        edge_graph=torch.as_tensor(graph_of[1]),
        partner=cat("partner", n_edges),
        h0=h0.reshape((-1, 2, f, 2, f) if spinor else (-1, f, f)),
        flat_index=flat_index,
        flat_ptr=torch.as_tensor(np.cumsum([0] + [len(p["flat"]) for p in parts])),
        edge_ptr=torch.as_tensor(n_edges),
        magnetic=torch.as_tensor(np.array([bool(p["mag"]) for p in parts])),
        spinor=spinor,
    )
    if overlap:
        s = torch.zeros(int(n_edges[-1]) * f * f, dtype=dtype)
        s[cat("sidx", n_edges * f * f)] = cat("sflat").to(dtype)
        batch.overlap = s.reshape(-1, f, f)
    if coulomb_cutoff is not None:
        found = [coulomb_pairs(p["pos"], p["cell"], coulomb_cutoff) for p in parts]
        batch.coulomb_pairs = torch.as_tensor(
            np.concatenate([pr + n_atoms[g] for g, (pr, _) in enumerate(found)])
        )
        batch.coulomb_length = torch.as_tensor(np.concatenate([d for _, d in found]), dtype=dtype)
    return batch if device is None else batch.to(device)
