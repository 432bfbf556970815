"""Optical spectra from predicted vs DFT Hamiltonians on held-out structures, and the cost.

For each model (e.g. the shipped one and a model trained without the k-space loss) and each
structure of its test split: relative L1 difference of the trace-averaged Im ε(ω) over
0.025–10 eV against the DFT Hamiltonian's spectrum (H0 alone as a baseline), same k-mesh and
broadening. Then the time and peak memory of one spectrum for a 64-atom cell (a supercell
record of the first structure, 4×4×4 k). Prints Markdown tables.

    python benchmarks/optics_heldout.py --models nextham/data/models/default.safetensors \
        runs/no_kspace/model.safetensors --dataset data/scalar40 [--kmesh 8,8,8]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from datetime import date

import numpy as np


def spectra_table(models: list[str], dataset: str, kmesh: tuple, omega: np.ndarray) -> None:
    from nextham.optics import optical_spectrum, relative_l1
    from nextham.predict import Predictor
    from nextham.record import keys as K
    from nextham.spectra.eigen import mesh_fermi_level
    from nextham.store.dataset import Dataset

    ds = Dataset(dataset)
    preds = [Predictor.from_file(m) for m in models]
    for p in preds:
        p.verify = "never"  # the models' own corrections
    test = [n.split("/", 1)[1] for n in preds[0].meta["split"]["test"]]
    print("| structure | H0 | " + " | ".join(models) + " |")
    print("|---" * (len(models) + 2) + "|")
    totals = np.zeros(len(models) + 1)
    for name in test:
        rec = ds.load(name)
        ref = optical_spectrum(rec, kmesh, omega)
        h0 = {**rec, K.HT: rec[K.H0], K.META: dict(rec[K.META])}
        h0[K.META]["fermi_level"] = mesh_fermi_level(h0, rec[K.H0], (4, 4, 4))[0]
        row = [relative_l1(optical_spectrum(h0, kmesh, omega), ref)]
        for p in preds:
            pr = p.predict_record(rec, name).record
            row.append(relative_l1(optical_spectrum(pr, kmesh, omega), ref))
        totals += row
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in row) + " |", flush=True)
    print("| mean | " + " | ".join(f"{v / len(test):.4f}" for v in totals) + " |")


def cost_64(dataset: str, omega: np.ndarray) -> None:
    from nextham.optics import optical_spectrum
    from nextham.store.dataset import Dataset
    from nextham.store.supercell import supercell_record

    ds = Dataset(dataset)
    rec = supercell_record(ds.load(ds.names[0]), (4, 4, 2))
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    optical_spectrum(rec, (4, 4, 4), omega)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n_atoms = len(rec["numbers"])
    print(f"\n{n_atoms}-atom cell ({ds.names[0]} × 4×4×2), 4×4×4 k, {len(omega)} frequencies: "
          f"{time.perf_counter() - t0:.1f} s, peak RSS {peak / 1024:.0f} MiB "
          f"(+{(peak - before) / 1024:.0f} MiB)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["nextham/data/models/default.safetensors"])
    ap.add_argument("--dataset", default="data/scalar40")
    ap.add_argument("--kmesh", default="8,8,8")
    args = ap.parse_args()
    kmesh = tuple(int(x) for x in args.kmesh.split(","))
    omega = np.linspace(0.025, 10, 400)
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, {date.today()}; {kmesh} k, "
          "Lorentzian 0.1 eV; relative L1 of Im ε vs DFT")  # fmt: skip
    spectra_table(args.models, args.dataset, kmesh, omega)
    cost_64(args.dataset, omega)


if __name__ == "__main__":
    main()
