"""A large-cell prediction stage by stage: time and peak memory against the number of atoms.

    OMP_NUM_THREADS=1 python benchmarks/scale.py --sizes 64,216,512 --formula Si
    OMP_NUM_THREADS=1 python benchmarks/scale.py --sizes 64,216,512 --formula AlAs

Cells are cubic diamond (Si) or zincblende (AlAs; both elements build H0 by multigrid, see
``gridfock.VERIFIED_ELEMENTS``) supercells r×r×r of the 8-atom cube (64, 216, 512, 4,096,
10,648 atoms for r = 2, 3, 4, 8, 11), rattled by 0.02 Å, with the model's engine settings.
Each size runs in a fresh process (``--one``), so that its peak memory is its own. Stages:

``S+H0``     ``zeroth_step`` as ``predict`` calls it (pairs, S, H0; pair blocks from
             ``engine.SPARSE_H0_MIN_ATOMS`` atoms);
``model``    the model on the record (committee and gate where the file has them);
``write``    S, H0 and H to an HDF5 record (``nextham.store.hdf5.write_record``);
``spectra``  at Γ (``largecell.CellSpectra``): S(Γ) factored once, the KPM DOS (0.1 eV,
             4 vectors), then the band edges from one factorization of H − σS at the
             DOS's estimate of E_F (``KPMDos.fermi_guess``), and the DOS's count below
             E_F against the electron count; ``--no-spectra`` leaves it out. The sparse
             factorizations use ``$NEXTHAM_SPARSE_SOLVER`` (``nextham.spectra.direct``).

``--compare N`` instead builds S and H0 of the N-atom cell both ways — pair blocks and the
k-space multigrid build (``engine.SPARSE_H0_MIN_ATOMS`` raised) — and prints the largest
differences, times and peak memory (the correctness check of the pair-block build).
``--check-spectra N`` predicts H of the N-atom cell and compares the sparse path with dense
diagonalization at Γ and at a general k: the 16 levels around E_F by shift-invert against the
same levels of the dense generalized eigensolver, the band edges by inertia slicing, and the
KPM DOS's integral (all states, and states below mid-gap against the electron count).

Each row gives the seconds per stage and the process's peak RSS (GB) after each stage
(``ru_maxrss`` only grows, so a column is the largest so far), and the largest peak RSS of one
H0 worker process (``--workers``, default at most ``$OMP_NUM_THREADS``: run with
``OMP_NUM_THREADS=2`` to use both cores; the workers share the parent's pages until they
write, so parent + workers over-counts); then log-log slopes of time and peak memory between
consecutive sizes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from ase.build import bulk

CUBES = {"Si": ("diamond", 5.43), "AlAs": ("zincblende", 5.66)}
STAGES = ("S+H0", "model", "write", "spectra")


def supercell(formula: str, n_atoms: int):
    """The rattled r×r×r supercell of the 8-atom cube with ``n_atoms`` = 8 r³."""
    r = round((n_atoms / 8) ** (1 / 3))
    if 8 * r**3 != n_atoms:
        raise SystemExit(f"{n_atoms} atoms is not 8 r³ (64, 216, 512, 4096, 10648, …)")
    kind, a = CUBES[formula]
    atoms = bulk(formula, kind, a=a, cubic=True).repeat((r, r, r))
    atoms.positions += np.random.default_rng(0).normal(0, 0.02, atoms.positions.shape)
    return atoms


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _worker_peak_gb() -> float:
    """Largest peak RSS of a finished child process (the H0 build's workers), GB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6


def one(formula: str, n_atoms: int, model: str | None, spectra: bool, workers: int | None) -> dict:
    """Run the stages for one cell in this process; {stage: (seconds, peak GB)} and counts."""
    from nextham.dft.engine import zeroth_step
    from nextham.memory import retained_memory
    from nextham.predict.predictor import Predictor
    from nextham.record import keys as K
    from nextham.spectra import largecell
    from nextham.store.hdf5 import write_record

    predictor = Predictor.from_file(model)
    atoms = supercell(formula, n_atoms)
    out, t0 = {"atoms": n_atoms}, time.perf_counter()

    def done(stage: str) -> None:
        nonlocal t0
        out[stage] = (time.perf_counter() - t0, _peak_gb())
        print(f"  {n_atoms} atoms: {stage} {out[stage][0]:.1f} s", file=sys.stderr, flush=True)
        t0 = time.perf_counter()

    lines: list[str] = []
    record, _ = zeroth_step(
        atoms, predictor.settings, h0_method=predictor.h0_method, workers=workers,
        report=lines.append,
    )  # fmt: skip
    done("S+H0")
    out["h0_report"] = lines  # pairs and S, then H0, with the seconds so far
    out["worker_peak_gb"] = _worker_peak_gb()
    with retained_memory():  # as Predictor.predict_record does
        h = predictor._apply(record)[0]
        done("model")
        with tempfile.TemporaryDirectory() as tmp:
            write_record(Path(tmp) / "record.h5", {**record, K.HT: h}, "scale")
        done("write")
        if spectra:
            t_spectra = time.perf_counter()
            cell = largecell.CellSpectra(record, h, np.zeros((1, 3)))
            cell.pencils[0].s_factor()
            lines.append(f"spectra: S(Γ) factored ({time.perf_counter() - t_spectra:.1f} s)")
            dos = cell.dos(resolution_ev=0.1, n_vectors=4)
            lines.append(f"spectra: KPM DOS, {len(dos.moments)} moments "
                         f"({time.perf_counter() - t_spectra:.1f} s)")  # fmt: skip
            out["gap_ev"] = float(cell.band_edges().gap)
            out["dos_states_below_gap"] = float(dos.count_below(cell.fermi_level(0.0)))
            out["electrons"] = largecell.electron_count(record)
            lines.append(f"spectra: band edges ({time.perf_counter() - t_spectra:.1f} s)")
            done("spectra")
    out["pairs"] = len(record[K.EDGE_INDEX])
    out["h0_build"] = record[K.META].get("h0_build")
    return out


def compare(formula: str, n_atoms: int) -> None:
    """S and H0 of one cell as pair blocks and through k-space: largest differences."""
    from nextham.dft import engine
    from nextham.dft.settings import EngineSettings
    from nextham.record import keys as K

    atoms, out = supercell(formula, n_atoms), {}
    for build, threshold in (("pairs", 1), ("k-space", 10**9)):
        engine.SPARSE_H0_MIN_ATOMS = threshold
        t0 = time.perf_counter()
        out[build] = engine.zeroth_step(atoms, EngineSettings(), h0_method="multigrid")[0]
        print(f"{build}: {time.perf_counter() - t0:.1f} s, peak RSS so far {_peak_gb():.2f} GB")
    a, b = out["pairs"], out["k-space"]
    assert (a[K.EDGE_INDEX] == b[K.EDGE_INDEX]).all() and (a[K.CELL_SHIFT] == b[K.CELL_SHIFT]).all()
    d_s, d_h = np.abs(a[K.S] - b[K.S]).max(), np.abs(a[K.H0] - b[K.H0]).max()
    print(f"{n_atoms} atoms: max |ΔS| {d_s:.1e}, max |ΔH0| {d_h:.1e} eV "
          f"(largest |H0| {np.abs(b[K.H0]).max():.2f} eV)")  # fmt: skip


def check_spectra(formula: str, n_atoms: int, model: str | None) -> None:
    """Sparse spectra of one predicted cell against dense diagonalization."""
    from nextham.dft.engine import zeroth_step
    from nextham.predict.predictor import Predictor
    from nextham.record import keys as K
    from nextham.spectra import eigen, largecell

    predictor = Predictor.from_file(model)
    record, _ = zeroth_step(supercell(formula, n_atoms), predictor.settings,
                            h0_method=predictor.h0_method)  # fmt: skip
    h = predictor._apply(record)[0]
    kpts = np.array([[0.0, 0.0, 0.0], [0.13, 0.27, 0.41]])
    m, n_el = largecell.matrix_size(record), largecell.electron_count(record)
    print(f"{n_atoms} atoms, H(k) {m}×{m}, {len(record[K.EDGE_INDEX])} pairs, {n_el:g} electrons")
    t0 = time.perf_counter()
    dense = eigen.band_energies(record, h, kpts)
    t_dense = time.perf_counter() - t0
    first, count = largecell.band_window(record, 16)
    for k, dense_k in zip(kpts, dense):
        t0 = time.perf_counter()
        edges = largecell.sparse_band_edges(record, h, k[None])
        mid = 0.5 * (edges.vbm + edges.cbm)
        window = largecell.sparse_band_energies(record, h, k[None], first, count, mid)[0]
        t_sparse = time.perf_counter() - t0
        n_occ = round(n_el / 2)
        d_edges = max(abs(edges.vbm - dense_k[n_occ - 1]), abs(edges.cbm - dense_k[n_occ]))
        d_window = np.abs(window - dense_k[first : first + count]).max()
        print(f"k = {k.tolist()}: levels {first}…{first + count - 1} shift-invert vs dense max "
              f"|Δε| {d_window:.1e} eV, band edges {d_edges:.1e} eV (gap {edges.gap:.4f} eV); "
              f"sparse {t_sparse:.1f} s, dense {t_dense / len(kpts):.1f} s per k")  # fmt: skip
    dos = largecell.sparse_mesh_dos(record, h, (1, 1, 1), n_vectors=16)
    below = float(dos.count_below(np.array(mid)))
    print(f"KPM DOS at Γ: ∫ all = {dos.n_states:.6g} (2 × {m} = {2 * m}), ∫ below mid-gap = "
          f"{below:.2f} (electrons {n_el:g}, stochastic trace with 16 vectors)")  # fmt: skip


def _slope(x0, x1, y0, y1) -> str:
    return f"{np.log(y1 / y0) / np.log(x1 / x0):.2f}" if min(y0, y1) > 0 else "–"


def main() -> None:
    from nextham.dft.parallel import default_workers

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="64,216,512")
    p.add_argument("--formula", default="Si", choices=sorted(CUBES))
    p.add_argument("--model", default=None, help="model file (default: the shipped model)")
    p.add_argument("--no-spectra", action="store_true")
    p.add_argument("--workers", type=int, default=None,
                   help="processes of the pair-block H0 (default: nextham.dft.parallel."
                        "default_workers, i.e. at most $OMP_NUM_THREADS)")  # fmt: skip
    p.add_argument("--compare", type=int, default=None, help="check one size both ways")
    p.add_argument("--check-spectra", type=int, default=None, help="sparse vs dense, one size")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.check_spectra is not None:
        check_spectra(args.formula, args.check_spectra, args.model)
        return
    if args.compare is not None:
        compare(args.formula, args.compare)
        return
    if args.one is not None:
        spectra = not args.no_spectra
        print(json.dumps(one(args.formula, args.one, args.model, spectra, args.workers)))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--formula", args.formula]
        cmd += (["--model", args.model] if args.model else []) + (
            ["--no-spectra"] * args.no_spectra
        )
        cmd += ["--workers", str(args.workers)] if args.workers else []
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{n} atoms failed:\n{run.stderr[-2000:]}")
            break
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
    stages = [s for s in STAGES if rows and s in rows[0]]
    print(f"{date.today()}, {platform.machine()}, {args.formula}, H0 workers "
          f"{args.workers or default_workers()}; seconds (peak GB so far)")  # fmt: skip
    print("| atoms | pairs | H0 build | " + " | ".join(stages) + " | total s | gap eV | "
          "worker peak GB |")  # fmt: skip
    print("|---" * (len(stages) + 6) + "|")
    for r in rows:
        cells = " | ".join(f"{r[s][0]:.1f} ({r[s][1]:.2f})" for s in stages)
        total = sum(r[s][0] for s in stages)
        gap = f"{r['gap_ev']:.3f}" if "gap_ev" in r else "–"
        peak = f"{r['worker_peak_gb']:.2f}" if r.get("worker_peak_gb") else "–"
        print(f"| {r['atoms']} | {r['pairs']} | {r['h0_build']} | {cells} | {total:.1f} | {gap} "
              f"| {peak} |")  # fmt: skip
    for r in rows:
        print(f"{r['atoms']} atoms, stages: " + "; ".join(r.get("h0_report", [])))
        if "dos_states_below_gap" in r:
            print(f"{r['atoms']} atoms: KPM DOS below E_F {r['dos_states_below_gap']:.0f} "
                  f"states, electrons {r['electrons']:.0f}")  # fmt: skip
    for a, b in itertools.pairwise(rows):
        t = {s: _slope(a["atoms"], b["atoms"], a[s][0], b[s][0]) for s in stages}
        mem = _slope(a["atoms"], b["atoms"], a[stages[-1]][1], b[stages[-1]][1])
        print(f"slopes {a['atoms']} → {b['atoms']}: time " +
              ", ".join(f"{s} {v}" for s, v in t.items()) + f"; peak memory {mem}")  # fmt: skip


if __name__ == "__main__":
    main()
