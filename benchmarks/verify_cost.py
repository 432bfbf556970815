"""What the self-consistency check (``predict --verify``) costs, next to the prediction and the SCF.

For each structure (dataset entries, or structure files with ``--structures``), in one
process: the prediction (``Predictor.predict``: engine S and H0, then the model), the same
prediction with the check, and PySCF's SCF of the structure from the SAD guess
(``nextham.scf.run_scf``, the model's engine settings). Prints the machine, the date and a
Markdown table (wall seconds; q = the check's residual ratio, and its flag). With ``--label``
each structure is also labelled (``compute_record``, the model's settings) and the Gauge and
band MAE (meV, SCF k-mesh) of H0, of the raw H0 + ΔH and of the checked prediction are listed:
whether the check's verdict was right.

    python benchmarks/verify_cost.py DATASET [DATASET …] --model committee.safetensors \
        [--names A,B] [--limit N] [--structures Si16.extxyz …] [--label]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date


def row(predictor, name: str, atoms, label: bool = False) -> dict:
    """Prediction, checked prediction and SCF of one structure: seconds, cycles, q, flag; with
    ``label`` the errors of H0, raw and checked H against the structure's label."""
    from nextham.scf import run_scf

    predictor.verify = False
    t0 = time.perf_counter()
    predictor.predict(atoms, name)
    t1 = time.perf_counter()
    predictor.verify = True
    checked = predictor.predict(atoms, name)
    t2 = time.perf_counter()
    scf = run_scf(atoms, predictor.settings, "sad")
    t3 = time.perf_counter()
    rel = checked.reliability
    out = {"name": name, "atoms": len(atoms), "predict_s": t1 - t0, "checked_s": t2 - t1,
           "scf_s": t3 - t2, "scf_cycles": scf.cycles, "q": rel["verification"]["ratio"],
           "flag": rel["flag"], "estimated_flag": rel["estimated_flag"]}  # fmt: skip
    if label:
        out["errors"] = errors(predictor, name, atoms, checked.record["HT"])
    return out


def errors(predictor, name: str, atoms, checked) -> dict:
    """Gauge / band MAE (meV) of H0, the raw H0 + ΔH and ``checked`` against a new label."""
    from nextham.dft.label import compute_record
    from nextham.loss.report import structure_metrics
    from nextham.spectra.kspace import gamma_mesh

    ref = compute_record(atoms, predictor.settings)
    gate, predictor.gate, predictor.verify = predictor.gate, False, False
    raw = predictor.predict_record(dict(ref), name).record["HT"]
    predictor.gate = gate
    kpts = gamma_mesh(predictor.settings.kmesh_for(ref["cell"]))
    out = {}
    for key, h in (("h0", ref["H0"]), ("raw", raw), ("checked", checked)):
        m = structure_metrics(ref, h, kpts)
        out[key] = (m["gauge_mae"]["overall"]["mae_meV"], m["bands"]["mae_meV"])
    return out


def structures(args) -> list[tuple[str, object]]:
    """(name, atoms) of the datasets' entries (``--names``, ``--limit``) and the files."""
    from nextham.predict.inputs import record_atoms
    from nextham.store.dataset import Dataset
    from nextham.structures.read import read_structures

    names = args.names.split(",") if args.names else None
    out = []
    for path in args.datasets:
        ds = Dataset(path)
        for name in [n for n in ds.names if not names or n in names][: args.limit]:
            out.append((name, record_atoms(ds.load(name))))
    return out + (read_structures(args.structures) if args.structures else [])


def main() -> None:
    from nextham.predict import Predictor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="*")
    ap.add_argument("--structures", nargs="*", default=None, help="structure files")
    ap.add_argument("--model", default=None, help="model file (default: the shipped model)")
    ap.add_argument("--names", default=None, help="comma-separated entry names")
    ap.add_argument("--limit", type=int, default=None, help="entries per dataset")
    ap.add_argument("--label", action="store_true", help="also label each structure: errors")
    args = ap.parse_args()
    predictor = Predictor.from_file(args.model)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"{date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"OMP_NUM_THREADS={threads}, model {args.model}")  # fmt: skip
    extra = " Gauge / band MAE H0 | raw | checked |" if args.label else ""
    print("\n| structure | atoms | predict s | checked s | SCF (SAD) s | SCF cycles | q | flag "
          f"| estimated flag |{extra}")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|" + "---|---|---|" * args.label)
    for name, atoms in structures(args):
        r = row(predictor, name, atoms, args.label)
        line = (f"| {r['name']} | {r['atoms']} | {r['predict_s']:.2f} | {r['checked_s']:.2f} "
                f"| {r['scf_s']:.2f} | {r['scf_cycles']} | {r['q']:.2f} | {r['flag']} "
                f"| {r['estimated_flag']} |")  # fmt: skip
        for key in ("h0", "raw", "checked") if args.label else ():
            g, b = r["errors"][key]
            line += f" {g:.3f} / {b:.1f} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
