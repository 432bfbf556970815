"""The per-element table of a MOLOPT-SR basis family: valence, shells, converged cutoff, cost.

For every element the family covers: its crystal (ASE's reference state where
``ase.build.bulk`` builds it, else fcc with neighbours at twice the covalent radius but at least
2.2 Å, said in the row), the pseudopotential valence and basis shells, the plane-wave cutoff
(eV) from a ladder at which the H0 eigenvalues of that crystal at Γ and one off-Γ k-point (all
occupied levels and those up to 5 eV above the highest occupied one) move by at most
``--tol-mev`` against twice the cutoff, and the cost of one label (``compute_record`` at that
cutoff, 2×2×2 k-mesh, spin-restricted even for magnetic elements). Each element is a shard:
its JSON is written to ``--out`` as it finishes, so a campaign resumes where it stopped and a
partial run is usable.

    OMP_NUM_THREADS=1 python benchmarks/element_table.py --out ~/nextham-data/element-table \\
        --shard 0/2 &                                   # one process per core
    OMP_NUM_THREADS=1 python benchmarks/element_table.py --out … --shard 1/2 &
    python benchmarks/element_table.py --out ~/nextham-data/element-table --write-table

``--write-table`` prints the table and writes ``nextham/data/element_table.json`` from the
finished shards (date, machine and command included); nothing is computed then.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import scipy.linalg
from ase import Atoms
from ase.build import bulk
from ase.data import chemical_symbols, covalent_radii, reference_states

from nextham.conventions import HARTREE_EV
from nextham.dft.cell import atom_shell_ls, build_cell
from nextham.dft.element_table import TABLE_FILE
from nextham.dft.engine import make_mf
from nextham.dft.label import compute_record
from nextham.dft.sad import sad_density
from nextham.dft.settings import _MOLOPT, MOLOPT_FAMILIES, EngineSettings, spin_treatment
from nextham.store.atomic import atomic_write_text

LADDER_EV = (300, 400, 500, 600, 800, 1000, 1200, 1600, 2000, 2400, 3200, 4000, 4800, 6400, 8000)
OFF_GAMMA = np.array([0.25, 0.125, 0.375])
WINDOW_EV = 5.0
MIN_FCC_DISTANCE = 2.2
"""Å: the fcc stand-in crystal's nearest-neighbour distance is 2 covalent radii but at least
this (two covalent radii of H, N, O or F would be a molecule's bond, far too dense a solid)."""


def crystal(symbol: str) -> tuple[Atoms, str]:
    """The element's crystal and a description of where it comes from."""
    z = chemical_symbols.index(symbol)
    ref = reference_states[z] or {}
    try:
        atoms = bulk(symbol)
        return atoms, f"ASE reference state {ref.get('symmetry')} ({len(atoms)} atoms)"
    except (ValueError, KeyError, RuntimeError):
        d = max(2.0 * covalent_radii[z], MIN_FCC_DISTANCE)
        atoms = bulk(symbol, "fcc", a=d * np.sqrt(2.0))
        return atoms, f"fcc, nearest neighbours at {d:.2f} Å; ASE has {ref}"


def h0_levels(atoms: Atoms, settings: EngineSettings) -> tuple[np.ndarray, float, int]:
    """H0 eigenvalues (eV) at Γ and one off-Γ k-point (nk, m), build time (s), FFT mesh."""
    cell = build_cell(atoms, settings)
    mf = make_mf(cell, settings)
    t0 = time.perf_counter()
    dm = sad_density(mf)
    kabs = cell.get_abs_kpts(np.array([[0.0, 0.0, 0.0], OFF_GAMMA]))
    fock = np.asarray(mf.get_hcore(cell, kabs)) + np.asarray(
        mf.get_veff(cell, dm, kpts=mf.kpts, kpts_band=kabs)
    )
    s = cell.pbc_intor("int1e_ovlp", kpts=kabs)
    levels = np.stack([scipy.linalg.eigh(f, sk, eigvals_only=True) for f, sk in zip(fock, s)])
    return levels * HARTREE_EV, time.perf_counter() - t0, int(cell.mesh[0])


def compared_levels(levels: np.ndarray, n_electrons: float) -> np.ndarray:
    """Mask of the occupied levels and those up to WINDOW_EV above the highest occupied."""
    n_occ = int(np.ceil(n_electrons / 2))
    top = levels[:, max(n_occ - 1, 0)].max()
    mask = np.zeros(levels.shape, dtype=bool)
    mask[:, :n_occ] = True
    return mask | (levels <= top + WINDOW_EV)


def converged_cutoff(atoms: Atoms, family: str, tol_mev: float) -> dict:
    """The smallest ladder cutoff within ``tol_mev`` of twice that cutoff, with the ladder."""
    base = EngineSettings(basis=family, kmesh=(1, 1, 1))
    nelec = float(build_cell(atoms, base).nelectron)
    cache: dict[float, tuple] = {}

    def at(cut: float) -> tuple:
        if cut not in cache:
            cache[cut] = h0_levels(atoms, EngineSettings(basis=family, kmesh=(1, 1, 1),
                                                         ke_cutoff_ev=cut))  # fmt: skip
        return cache[cut]

    steps = []
    for cut in LADDER_EV:
        (lo, secs, mesh), (hi, _, _) = at(cut), at(2 * cut)
        delta = 1e3 * float(np.abs(lo - hi)[compared_levels(hi, nelec)].max())
        steps.append({"cutoff_ev": cut, "mesh": mesh, "h0_s": secs, "delta_mev": delta})
        if delta <= tol_mev:
            return {"cutoff_ev": cut, "delta_mev": delta, "converged": True, "ladder": steps}
    return {"cutoff_ev": LADDER_EV[-1], "delta_mev": steps[-1]["delta_mev"], "converged": False,
            "ladder": steps}  # fmt: skip


def label_cost(atoms: Atoms, family: str, cutoff_ev: float) -> dict:
    """Wall time and SCF outcome of one label of ``atoms`` at ``cutoff_ev``."""
    settings = EngineSettings(basis=family, kmesh=(2, 2, 2), ke_cutoff_ev=cutoff_ev)
    t0 = time.perf_counter()
    try:
        rec = compute_record(atoms, settings)
    except Exception as exc:  # recorded in the row; the campaign goes on
        return {"error": f"{type(exc).__name__}: {exc}", "wall_s": time.perf_counter() - t0}
    meta = rec["meta"]
    keys = ("time_h0_s", "time_scf_s", "time_ht_transform_s", "scf_converged", "scf_cycles",
            "roundtrip_error_ht_ev", "mesh")  # fmt: skip
    return {"wall_s": time.perf_counter() - t0, **{k: meta.get(k) for k in keys}}


def element_row(symbol: str, family: str, tol_mev: float) -> dict:
    """Everything the table says about one element (see the module docstring)."""
    atoms, origin = crystal(symbol)
    cell = build_cell(atoms, EngineSettings(basis=family, kmesh=(1, 1, 1)))
    cut = converged_cutoff(atoms, family, tol_mev)
    return {
        "symbol": symbol,
        "z": chemical_symbols.index(symbol),
        "family": family,
        "crystal": origin,
        "natoms": len(atoms),
        "valence": float(cell.atom_charge(0)),
        "shells": list(atom_shell_ls(cell)[0]),
        "spin_treatment": spin_treatment(symbol),
        **{k: cut[k] for k in ("cutoff_ev", "delta_mev", "converged")},
        "ladder": cut["ladder"],
        "label": label_cost(atoms, family, cut["cutoff_ev"]),
        "date": str(date.today()),
        "machine": machine(),
        "commit": commit(),
    }


def commit() -> str:
    """The work tree's commit (the label cost depends on the engine's code)."""
    git = ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"]
    return subprocess.run(git, capture_output=True, text=True).stdout.strip() or "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    threads = os.environ.get("OMP_NUM_THREADS", "all")
    return f"{platform.system()} {cpu}, {os.cpu_count()} CPUs, OMP_NUM_THREADS={threads}"


def run_shards(out: Path, family: str, elements: list[str], tol_mev: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for symbol in elements:
        path = out / f"{family}-{symbol}.json"
        if path.exists():
            continue
        t0 = time.perf_counter()
        try:
            row = element_row(symbol, family, tol_mev)
        except Exception as exc:  # recorded as the element's row; the campaign goes on
            error = f"{type(exc).__name__}: {exc}"
            atomic_write_text(path, json.dumps({"symbol": symbol, "error": error}, indent=1))
            print(f"{symbol}: failed ({error})", flush=True)
            continue
        row["element_s"] = time.perf_counter() - t0
        atomic_write_text(path, json.dumps(row, indent=1))
        print(f"{symbol}: cutoff {row['cutoff_ev']} eV (Δ {row['delta_mev']:.1f} meV), "
              f"label {row['label'].get('wall_s', 0):.0f} s, {row['element_s']:.0f} s in all",
              flush=True)  # fmt: skip


def write_table(out: Path, family: str, elements: list[str]) -> None:
    rows, failed = {}, {}
    for symbol in elements:
        path = out / f"{family}-{symbol}.json"
        if path.exists():
            row = json.loads(path.read_text())
            if "error" in row:
                failed[symbol] = row["error"]
                continue
            rows[symbol] = {k: v for k, v in row.items() if k != "ladder"}
    target = Path(__file__).resolve().parents[1] / "nextham" / "data" / TABLE_FILE
    table = json.loads(target.read_text()) if target.exists() else {"families": {}}
    table["families"][family] = rows
    table.setdefault("runs", {})[family] = {
        "date": str(date.today()),
        "machine": machine(),
        "command": "python benchmarks/element_table.py " + " ".join(sys.argv[1:]),
        "criterion": f"max |Δε| ≤ tol against twice the cutoff, H0 at Γ and {OFF_GAMMA.tolist()}",
        "elements": f"{len(rows)} of {len(elements)}",
        "failed": failed,
    }
    atomic_write_text(target, json.dumps(table, indent=1, sort_keys=True))
    print("| element | crystal | valence | shells | cutoff eV | Δ meV | label s | SCF |")
    print("|---|---|---|---|---|---|---|---|")
    for s, r in rows.items():
        lab = r["label"]
        scf = lab.get(
            "error", f"{lab.get('scf_cycles')} cycles, converged {lab.get('scf_converged')}"
        )
        print(f"| {s} | {r['crystal']} | {r['valence']:g} | {r['shells']} | {r['cutoff_ev']} | "
              f"{r['delta_mev']:.1f} | {lab.get('wall_s', 0):.0f} | {scf} |")  # fmt: skip
    for symbol, error in failed.items():
        print(f"failed: {symbol}: {error}")
    print(f"wrote {target} ({len(rows)} of {len(elements)} elements)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="directory of the per-element results")
    p.add_argument("--family", choices=MOLOPT_FAMILIES, default="szv-molopt-sr")
    p.add_argument("--elements", default=None, help="comma-separated; default: the family's")
    p.add_argument("--shard", default="0/1", help="i/n: every n-th element from the i-th")
    p.add_argument("--tol-mev", type=float, default=10.0)
    p.add_argument("--write-table", action="store_true", help="assemble the package table")
    args = p.parse_args()
    elements = args.elements.split(",") if args.elements else [
        chemical_symbols[z] for z in sorted(_MOLOPT)
    ]  # fmt: skip
    out = Path(args.out).expanduser()
    if args.write_table:
        write_table(out, args.family, elements)
        return
    i, n = (int(x) for x in args.shard.split("/"))
    run_shards(out, args.family, elements[i::n], args.tol_mev)


if __name__ == "__main__":
    main()
