"""Forward cost of the NextHAM model versus system size (supercells of diamond Si).

For supercells of the 8-atom conventional diamond cell (8 … 512 atoms) with synthetic H0
blocks, prints the time to build the batch (index maps and padded H0; the pairs come from
ASE's cell-list neighbour search when the synthetic record is made), the forward time
(fastest of the repeats after a warm-up, inference mode: the least disturbed by other
processes) and the peak memory of the forward pass: resident-set growth on CPU (the kernel's
peak-RSS mark is reset just before the forward; each size runs in fresh subprocesses, see
:data:`EXACT_RSS_ENV`), ``max_memory_allocated`` on GPU.
The fitted exponents are slopes of log(cost) against log(N) over N ≥ 64.

Columns ending in ``_s`` are seconds: ``batch_s`` batch building, ``forward_s`` wall-clock
forward, ``cpu_s`` the process's CPU time of the forward (robust to other processes on a
shared machine). On CPU the forward is also timed with glibc told to retain freed memory
(``retained_*``): with the default allocator every tensor above 32 MiB is mapped afresh and
page-faulted on each forward, a cost proportional to the bytes touched that makes the
largest sizes look slightly superlinear on a loaded machine; the matrix products
themselves scale linearly.

    OMP_NUM_THREADS=1 python benchmarks/model_scaling.py [--spinor | --model M] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from ase.build import bulk

from nextham.model import ModelConfig, NextHAM
from nextham.record import keys as K
from nextham.testing import neighbor_pairs

BASIS = {14: (0, 0, 1, 1, 2)}
REPEATS = [(1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2), (4, 2, 2), (4, 4, 2), (4, 4, 4)]
CUTOFF = 4.0
RETAIN_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "4000000000",
    "MALLOC_TRIM_THRESHOLD_": "4000000000",
    "MALLOC_TOP_PAD_": "1000000000",
}
"""glibc settings that keep freed memory in the process (``retained_*`` columns): repeated
forwards then reuse pages instead of page-faulting fresh ones for every large tensor."""
EXACT_RSS_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}
"""glibc setting for the memory run: every allocation above 64 KiB is its own mapping, returned
on free, so the resident set follows live memory and its peak growth is the forward's peak."""


def synthetic_record(
    reps: tuple[int, int, int], spinor: bool, seed: int = 0, basis: dict | None = None
) -> dict:
    """Supercell record with random (not Hermitian-paired) H0 blocks; O(N) to build."""
    basis = basis or BASIS
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(reps)
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    rows = neighbor_pairs(atoms.cell.array, atoms.positions, CUTOFF)
    n = sum(2 * l + 1 for l in basis[14])
    sizes = np.full(len(rows), n * n)
    total = int(sizes.sum()) * (4 if spinor else 1)
    h0 = rng.normal(size=total) + (1j * rng.normal(size=total) if spinor else 0)
    return {
        K.CELL: atoms.cell.array,
        K.POSITIONS: atoms.positions,
        K.NUMBERS: atoms.numbers,
        K.EDGE_INDEX: rows[:, :2].copy(),
        K.CELL_SHIFT: rows[:, 2:].copy(),
        K.BLOCK_PTR: np.concatenate([[0], np.cumsum(sizes)]),
        K.H0: h0,
        K.BASIS_LS: basis,
        K.SPINOR: spinor,
        K.META: {"magnetic": False},
    }


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process (Linux ≥ 4.0), so that the peak
    measured after the forward is the forward's own, not that of loading or batch building."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # no reset: the peak then includes what came before the forward


def _peak_rss_bytes() -> int:
    """Peak RSS since the last reset (VmHWM), else since the process started."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(
    reps: tuple[int, int, int], spinor: bool, device: str, repeats: int, model_path=None
) -> dict:
    """Time and memory of one size (run in its own process for a clean CPU peak).

    ``model_path``: a trained model file (its Si basis and spin mode) instead of the default
    configuration."""
    torch.manual_seed(0)
    if model_path:
        from nextham.model.files import load_model

        model, _ = load_model(model_path, device)
        basis, spinor = {14: model.config.basis_ls[14]}, model.config.spinor
    else:
        model = NextHAM(ModelConfig(basis_ls=BASIS, spinor=spinor, cutoff=CUTOFF)).to(device)
        basis = BASIS
    model.eval()
    record = synthetic_record(reps, spinor, basis=basis)
    t_batch = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        batch = model.make_batch([record], device=device)
        t_batch.append(time.perf_counter() - t0)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        _reset_peak_rss()
        base = _rss_bytes()
    times, cpu_times = [], []
    with torch.no_grad():
        for _ in range(repeats + 1):
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            model(batch)
            sync()
            times.append(time.perf_counter() - t0)
            cpu_times.append(time.process_time() - c0)
    if device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _peak_rss_bytes() - base
    return {
        "atoms": len(record[K.NUMBERS]),
        "edges": len(record[K.EDGE_INDEX]),
        "batch_s": float(np.min(t_batch)),
        "forward_s": float(np.min(times[1:])),
        "cpu_s": float(np.min(cpu_times[1:])),
        "peak_mib": max(peak, 0) / 2**20,
    }


def exponent(atoms: list[int], values: list[float], n_min: int = 64) -> float:
    """Slope of log(value) against log(atoms) over sizes ≥ n_min."""
    x = np.log([a for a in atoms if a >= n_min])
    y = np.log([v for a, v in zip(atoms, values) if a >= n_min])
    return float(np.polyfit(x, y, 1)[0])


def _run_one(
    reps: tuple, spinor: bool, device: str, repeats: int, extra_env: dict, model=None
) -> dict:
    cmd = [sys.executable, __file__, "--one", ",".join(map(str, reps)), "--device", device]
    cmd += ["--repeats", str(repeats)] + (["--spinor"] if spinor else [])
    cmd += ["--model", str(model)] if model else []
    env = {**os.environ, **extra_env}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(spinor: bool, device: str, repeats: int, model=None) -> None:
    """Print one table (one device, one spin mode or one trained model) with exponents."""
    rows = []
    for reps in REPEATS:
        row = _run_one(reps, spinor, device, repeats, {}, model)
        if device == "cpu":
            retained = _run_one(reps, spinor, device, repeats, RETAIN_ENV, model)
            row["retained_s"], row["retained_cpu_s"] = retained["forward_s"], retained["cpu_s"]
            peak = _run_one(reps, spinor, device, 1, EXACT_RSS_ENV, model)["peak_mib"]
            row["peak_mib"] = peak
        else:
            row.pop("cpu_s")
        rows.append(row)
    mode = f"model {model}" if model else ("spinor" if spinor else "scalar")
    print(f"\n{device}, {mode}, torch threads={torch.get_num_threads()}")
    timed = [k for k in rows[0] if k.endswith("_s")]
    print(f"{'atoms':>6} {'pairs':>7} " + " ".join(f"{k:>14}" for k in timed) + " peak_MiB")
    for r in rows:
        cols = " ".join(f"{r[k]:>14.3f}" for k in timed)
        print(f"{r['atoms']:>6} {r['edges']:>7} {cols} {r['peak_mib']:>8.1f}")
    atoms = [r["atoms"] for r in rows]
    fits = {k: exponent(atoms, [r[k] for r in rows]) for k in rows[0] if k.endswith("_s")}
    fits["peak_mib"] = exponent(atoms, [r["peak_mib"] for r in rows])
    print("fitted exponents (N ≥ 64): " + ", ".join(f"{k} {v:.2f}" for k, v in fits.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spinor", action="store_true")
    parser.add_argument("--device", default=None, help="cpu, cuda; default: cpu and cuda if any")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None, help="a trained model file (its basis, spin)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        reps = tuple(int(x) for x in args.one.split(","))
        print(json.dumps(measure(reps, args.spinor, args.device, args.repeats, args.model)))
        return
    devices = [args.device] if args.device else ["cpu"]
    if args.device is None and torch.cuda.is_available():
        devices.append("cuda")
    for device in devices:
        table(args.spinor, device, args.repeats, args.model)


if __name__ == "__main__":
    main()
