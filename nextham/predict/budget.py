"""Memory a prediction needs, estimated before any work, and the refusal when it cannot fit.

The estimate counts what grows with the cell: the stored matrix entries (S, H0, H and the
model's features per pair, from the number of atom pairs within the overlap reach — an upper
bound of the pairs the engine keeps) and the FFT mesh of the local potential; or, where H0 is
built through k-space (small cells, elements without the multigrid build), the whole-cell
matrices at the k-points of the transform mesh. The constants are fitted to
``benchmarks/scale.py`` (rattled Si supercells, gth-szv; docs/predict.md) with a margin.
"""

from __future__ import annotations

import os

import numpy as np
from ase import Atoms

from nextham.dft.cell import atom_ao_slices, build_cell
from nextham.dft.engine import h0_from_pairs, resolve_h0_method
from nextham.dft.pairs import ImageTree, overlap_reach_bohr
from nextham.dft.parallel import default_workers
from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.spectra.largecell import SPARSE_THRESHOLD

BYTES_PER_ENTRY = 85.0
"""Peak bytes per matrix entry within the overlap reach (Σ n_i n_j over those pairs, about
3× the stored entries): S, H0, H and the model's features. Measured 72 at 4,096 atoms (the
model stage's peak, 5.82 GB) and 54 at 512 (peak RSS minus :data:`BASE_BYTES` and the mesh
term, rattled Si, gth-szv, in-place model inference, 2026-12-05); 85 leaves ~15 %."""
BYTES_PER_GRID_POINT = 150.0
"""Peak bytes per point of the FFT mesh (density, potentials, multigrid sub-meshes)."""
BASE_BYTES = 0.6e9
"""The process itself (Python, PySCF, torch, the model)."""
WORKER_BYTES_PER_ENTRY = 16.0
"""Bytes per matrix entry within the overlap reach for each worker process of a pair-block
build (:mod:`nextham.dft.parallel`): its slab of the candidates' overlaps and of the H0 blocks
and its private pages, with a margin (10,648-atom Si, two workers: 4.2 GB peak RSS each, part
of it pages shared with the parent)."""
H0_STAGE_BYTES_PER_ENTRY = 40.0
"""Peak bytes per entry within reach of the parent while the workers build S and H0 (the
candidates' overlaps, the summed slabs, S and H0): 10,648-atom Si measured 9.5 GB at the end
of that stage against 14.0 GB in the model stage. The estimate takes the larger stage."""
STORED_FRACTION = 1.0 / 3.0
"""Stored entries per entry within the overlap reach (10,648-atom Si: 47.9 M of ≈ 144 M)."""
SPECTRA_BYTES_PER_ENTRY = 64.0
"""Bytes per stored entry of the sparse spectra besides the factor: the flat S and H of the
record (8 + 8), the CSR H(k), S(k) (12 + 12) and the upper triangle a factorization copies."""
FACTOR_FILL = 9.6
"""Entries of the Cholesky / LDLᵀ factor per stored entry at :data:`FACTOR_FILL_SIZE`
(PARDISO, METIS; 10,648-atom Si: 460 M for 47.9 M; 4,096 atoms: 94 M for 18.4 M)."""
FACTOR_FILL_SIZE = 42_592
"""The matrix size M of :data:`FACTOR_FILL`; the fill grows as M^:data:`FACTOR_FILL_EXPONENT`."""
FACTOR_FILL_EXPONENT = 0.66
"""Growth of the fill with M, from the two measured sizes (4,096 and 10,648 atoms)."""
FACTOR_BYTES_PER_ENTRY = 13.0
"""Bytes per factor entry (value and index, with PARDISO's supernodal overhead)."""
KSPACE_MATRICES = 40
"""Whole-cell complex matrices per transform k-point in the k-space H0 build. Conservative:
64 atoms 1.25 GB measured, 3.4 GB estimated (the transform mesh from the overlap reach is 5³
where the stored pairs need 3³)."""


def pair_entries(cell, overlap_threshold: float) -> int:
    """Σ n_i n_j over the atom pairs within the overlap reach (an upper bound of the stored
    entries): one k-d tree count, no integrals."""
    reach = overlap_reach_bohr(cell, overlap_threshold)
    images = ImageTree(cell, reach)
    width = np.diff(atom_ao_slices(cell), axis=1).ravel()
    coords = cell.atom_coords()
    total = 0
    for start in range(0, cell.natm, 1024):
        found = images.query(coords[start : start + 1024], reach)
        for i, f in zip(range(start, start + len(found)), found):
            total += int(width[i]) * int(width[images.atom[np.asarray(f, dtype=np.int64)]].sum())
    return total


def spectra_bytes(stored_entries: float, m: int) -> float:
    """Peak memory (bytes) of the sparse spectra of a record with ``stored_entries`` and
    H(k) of size ``m``: the matrices and one factorization (S(k)'s or H − σS's, never both)."""
    fill = max(1.0, FACTOR_FILL * (m / FACTOR_FILL_SIZE) ** FACTOR_FILL_EXPONENT)
    return BASE_BYTES + stored_entries * (SPECTRA_BYTES_PER_ENTRY + FACTOR_BYTES_PER_ENTRY * fill)


def estimated_bytes(
    cell,
    overlap_threshold: float,
    pairs_only: bool,
    n_kpts: int,
    spinor: bool = False,
    workers: int = 1,
) -> float:
    """Peak memory (bytes) of a prediction of ``cell``, the largest of its stages;
    ``pairs_only``: H0 as pair blocks (by ``workers`` processes), else through ``n_kpts``
    k-points of a transform mesh; ``spinor``: (2n × 2n) blocks and matrices (four times the
    entries and matrix elements). The spectra count where H(k) takes the sparse path."""
    spin = 4.0 if spinor else 1.0
    entries = pair_entries(cell, overlap_threshold)
    grid = float(np.prod(cell.mesh))
    per_entry = BYTES_PER_ENTRY  # the model stage
    if pairs_only and workers > 1:  # the H0 stage, with its workers, may be the larger
        per_entry = max(per_entry, H0_STAGE_BYTES_PER_ENTRY + workers * WORKER_BYTES_PER_ENTRY)
    need = BASE_BYTES + spin * per_entry * entries + BYTES_PER_GRID_POINT * grid
    if not pairs_only:
        need += spin * KSPACE_MATRICES * 16.0 * cell.nao_nr() ** 2 * max(n_kpts, 1)
    m = cell.nao_nr() * (2 if spinor else 1)
    if m > SPARSE_THRESHOLD:
        need = max(need, spectra_bytes(spin * STORED_FRACTION * entries, m))
    return need


def prediction_bytes(
    atoms: Atoms, settings: EngineSettings, h0_method: str = "auto", workers: int | None = None
) -> float:
    """:func:`estimated_bytes` of ``predict`` on ``atoms`` (H0 built as ``zeroth_step`` will:
    pair blocks by ``workers`` processes (None: :func:`nextham.dft.parallel.default_workers`),
    or k-space with the transform mesh its pairs need)."""
    cell = build_cell(atoms, settings)
    pairs_only = h0_from_pairs(cell, settings, resolve_h0_method(cell, settings, h0_method))
    reach = overlap_reach_bohr(cell, settings.overlap_threshold)
    spacing = 1.0 / np.linalg.norm(np.linalg.inv(cell.lattice_vectors()), axis=0)
    n_kpts = int(np.prod(2 * np.ceil(reach / spacing) + 1)) // 2 + 1  # time reversal
    workers = default_workers() if workers is None else workers
    return estimated_bytes(
        cell, settings.overlap_threshold, pairs_only, n_kpts, settings.spinor, workers
    )


def available_bytes() -> float:
    """Memory the system can still give (``MemAvailable`` of /proc/meminfo; elsewhere the free
    physical pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_fits(name: str, need: float, have: float | None = None) -> None:
    """Refuse, before any work, a prediction that needs more memory than is available."""
    have = available_bytes() if have is None else have
    if need > have:
        raise InputError(
            f"{name}: predicting this cell needs about {need / 1e9:.1f} GB of memory, but "
            f"{have / 1e9:.1f} GB are available; free memory, predict a smaller cell, or run "
            "it on a machine with more memory"
        )
