"""Sparse large-cell spectra against dense diagonalization on s/p tight-binding supercells.

    OMP_NUM_THREADS=1 python benchmarks/sparse_spectra.py --sizes 500,2000,8000

For each size (orbitals; 4 per site, supercells of :func:`nextham.testing.tight_binding_record`,
an insulator with two electrons per site) at one general k-point (complex matrices) it prints
the time and the tracemalloc peak of: the sparse H(k), S(k) build, 16 levels nearest the
mid-gap by shift-invert, the Fermi level by inertia slicing (with the number of sparse LU
factorizations), the KPM DOS (0.1 eV resolution, 8 random vectors), and — up to
``--dense-max`` orbitals — the dense Bloch sum + generalized diagonalization, with the largest
difference of the shift-invert levels and E_F from the dense ones. tracemalloc sees numpy's
arrays; SuperLU's factors live outside it, so the last column gives the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
import torch

from nextham.record import keys as K
from nextham.spectra.eigen import generalized_eigvalsh
from nextham.spectra.kpm import kpm_dos
from nextham.spectra.occupations import fermi_level
from nextham.spectra.slicing import Pencil, Slicer, sliced_fermi_level
from nextham.spectra.sparse import SparseBloch
from nextham.testing import tight_binding_record

KPT = np.array([0.13, -0.27, 0.4])
CELLS = {500: (5, 5, 5), 2000: (5, 10, 10), 8000: (10, 10, 20), 32000: (20, 20, 20)}


def measured(fn):
    """(result, seconds, tracemalloc peak MB) of ``fn()``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, dt, peak


def dense_levels(rec: dict) -> tuple[np.ndarray, float]:
    """All levels at KPT and the mid-gap E_F, by the dense path."""
    from nextham.spectra.bloch import record_bloch

    with torch.no_grad():
        h = record_bloch(rec, K.HT, KPT[None]).numpy()
        s = record_bloch(rec, K.S, KPT[None]).numpy()
    eps = generalized_eigvalsh(h, s)
    return eps[0], fermi_level(list(eps), rec[K.META]["n_electrons"], 0.1, 2.0)


def row(n_orb: int, dense_max: int) -> list[str]:
    rec = tight_binding_record(CELLS[n_orb], gap_ev=16.0)
    (h, s), t_build, m_build = measured(lambda: SparseBloch(rec).at(KPT))
    pencil = Pencil(h, s)
    slicer = Slicer([pencil])
    ne = rec[K.META]["n_electrons"]

    def fermi():
        return sliced_fermi_level(slicer, ne, 0.1, 2.0, slicer.bracket())

    ef, t_ef, m_ef = measured(fermi)
    near, t_si, m_si = measured(lambda: pencil.nearest(ef, 16))
    _, t_kpm, m_kpm = measured(lambda: kpm_dos([pencil], 0.1, n_vectors=8, degeneracy=2.0))
    cells = [f"{h.shape[0]}", f"{h.nnz / 1e6:.2f}", f"{t_build:.2f} / {m_build:.0f}"]
    cells += [f"{t_si:.2f} / {m_si:.0f}", f"{t_ef:.2f} / {m_ef:.0f} ({len(slicer._counts)})"]
    cells.append(f"{t_kpm:.2f} / {m_kpm:.0f}")
    if n_orb <= dense_max:
        (eps, ef_dense), t_dense, m_dense = measured(lambda: dense_levels(rec))
        ref = np.sort(eps[np.argsort(np.abs(eps - ef))[:16]])
        err = max(np.abs(near - ref).max(), abs(ef - ef_dense))
        cells += [f"{t_dense:.2f} / {m_dense:.0f}", f"{err:.1e}"]
    else:
        cells += ["–", "–"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [*cells, f"{rss:.0f}"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="500,2000,8000", help=f"orbitals, of {sorted(CELLS)}")
    p.add_argument("--dense-max", type=int, default=2000, help="largest size solved densely")
    args = p.parse_args()
    head = ["M", "nnz (M)", "build s / MB", "shift-invert 16 s / MB", "E_F s / MB (LUs)",
            "KPM DOS s / MB", "dense s / MB", "max |Δ| eV", "peak RSS MB"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for size in (int(x) for x in args.sizes.split(",")):
        print("| " + " | ".join(row(size, args.dense_max)) + " |", flush=True)


if __name__ == "__main__":
    main()
