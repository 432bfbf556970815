"""nextham's DeepX export read by DeepH-dock: the same eigenvalues, atom order and occupation.

Each structure's record is written with ``nextham.formats.deepx.write``; DeepH-dock
(``deepx-dock``, in its own environment, ``benchmarks/setup_deephdock.sh``) reads the directory
with its own ``HamiltonianObj`` and diagonalizes H(k) c = ε S(k) c at the same fractional
k-points (``benchmarks/deephdock_eigs.py``, run through a subprocess); nextham's
``band_energies`` runs on the record itself. No factor or ordering is adjusted.

Rows (``--structures``):

- ``Si2``, ``AlP``: the engine's scalar records (diamond 5.43 Å, zincblende 5.46 Å; default
  settings: gth-szv, PBE, 2×2×2 SCF), about 20 s and 40 s on one core;
- ``TB-soc``: ``nextham.testing.tight_binding_record`` (3 sites in a row, s/p, non-orthogonal,
  with an on-site p spin–orbit term; elements relabelled Si, C, Si): complex spin-major spinor
  blocks and a POSCAR with a repeated species group, no engine run;
- ``PbS-soc`` (opt-in, about 6 min on one core): the engine's spin–orbit record of rocksalt PbS
  (Pb with its SO-ECP and def2-SVP, S with GTH; 1×1×1 SCF, 300 eV mesh cutoff).

Columns: max |Δε| over all bands and k (eV); atom order kept (DeepH-dock's elements and
fractional coordinates against the record's); occupation kept (``info.json``'s ``occupation``
equals the record's electron count, and DeepH-dock's Fermi level from it, the midpoint of the
N-th and (N+1)-th level on its own mesh with N = n_k · occupation / (2 − spinful), agrees with
the same count done on nextham's eigenvalues with nextham's electrons per level); E_F of
``info.json`` kept; for engine records, max |ΔS(k)| between S(k) of ``overlap.h5`` and PySCF's
S(k) of the same structure and basis in the orbital order of DeepH-dock's own PySCF converter
(eigenvalues cannot see the order of orbitals inside an atom, this does; the difference left
is the pair cutoff's, PySCF summing every lattice vector).

    bash benchmarks/setup_deephdock.sh           # DeepH-dock in ~/nextham-data/envs/deephdock
    OMP_NUM_THREADS=1 python benchmarks/deepx_vs_deephdock.py [--structures Si2,AlP,TB-soc]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.data import chemical_symbols

from nextham.conventions import electrons_per_level
from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.formats import deepx
from nextham.record import keys as K
from nextham.spectra.eigen import band_energies
from nextham.testing import tight_binding_record

DRIVER = Path(__file__).with_name("deephdock_eigs.py")
DEFAULT_ENV = Path(os.environ.get("DEEPHDOCK_ENV", Path.home() / "nextham-data/envs/deephdock"))
TOL_EV = 1e-8
TOL_S = 1e-3
"""S(k) from the stored pairs against PySCF's full lattice sum: the pair cutoff's size (about
1e-4 at the default ``overlap_threshold`` 1e-5); a wrong orbital order inside an atom is O(1)."""


def _engine(atoms_fn: Callable, settings: EngineSettings) -> Callable[[], dict]:
    return lambda: compute_record(atoms_fn(), settings)


STRUCTURES: dict[str, Callable[[], dict]] = {
    "Si2": _engine(lambda: bulk("Si", "diamond", a=5.43), EngineSettings()),
    "AlP": _engine(lambda: bulk("AlP", "zincblende", a=5.46), EngineSettings()),
    "TB-soc": lambda: interleaved(tight_binding_record(cells=(1, 1, 3), spinor=True)),
    "PbS-soc": _engine(
        lambda: bulk("PbS", "rocksalt", a=5.94),
        EngineSettings(spin="soc", kmesh=(1, 1, 1), ke_cutoff_ev=300.0),
    ),
}


def interleaved(record: dict) -> dict:
    """The 3-site tight-binding record with elements Si, C, Si (s and p shells each), so that
    the POSCAR needs a repeated species group and atom order can be lost."""
    return {**record, K.NUMBERS: np.array([14, 6, 14]), K.BASIS_LS: {14: (0, 1), 6: (0, 1)}}


def kpoints(n: int, seed: int = 0) -> np.ndarray:
    """Γ, three zone-boundary points and n − 4 random fractional k-points, (n, 3)."""
    fixed = np.array([[0, 0, 0], [0.5, 0, 0], [0.5, 0.5, 0], [0.5, 0.25, 0.75]])
    rand = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(max(n - 4, 0), 3))
    return np.concatenate([fixed, rand])[:n]


def run_driver(python: Path, folder: Path, kpts: np.ndarray, dk: float, basis: dict | None) -> dict:
    """DeepH-dock's reading of ``folder``: its JSON (see ``deephdock_eigs.py``); ``basis``
    (symbol → PySCF basis name) adds the S(k) comparison with DeepH-dock's PySCF order."""
    kfile, out = folder.parent / f"{folder.name}_k.json", folder.parent / f"{folder.name}.json"
    kfile.write_text(json.dumps(kpts.tolist()))
    cmd = [str(python), str(DRIVER), str(folder), "--kpts", str(kfile), "--out", str(out)]
    cmd += ["--dk", str(dk)] + (["--pyscf-basis", json.dumps(basis)] if basis else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)  # DeepH-dock's environment only
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"DeepH-dock failed on {folder}:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(out.read_text())


def pyscf_basis(record: dict) -> dict[str, str] | None:
    """Symbol → PySCF basis name of an engine record (``META["elements"]``), else None."""
    elements = record[K.META].get("elements")
    return {s: e["basis"] for s, e in elements.items()} if elements else None


def counting_fermi(eps: np.ndarray, n_electrons: float, spinor: bool) -> float:
    """Midpoint of the N-th and (N+1)-th lowest of all ``eps`` (n_k, n_bands), eV, with
    N = n_k · n_electrons / (electrons per level): the count DeepH-dock does."""
    flat = np.sort(eps.ravel())
    n = int(len(eps) * n_electrons / electrons_per_level(spinor))
    return float(0.5 * (flat[n - 1] + flat[n]))


def compare(record: dict, theirs: dict, kpts: np.ndarray) -> dict:
    """max |Δε| (eV) at ``kpts``, atom order kept, occupation kept, mesh Fermi level Δ (eV)."""
    ours = band_energies(record, record[K.HT], kpts)
    eps = np.asarray(theirs["eigenvalues"])
    symbols = [chemical_symbols[int(z)] for z in record[K.NUMBERS]]
    frac = np.asarray(record[K.POSITIONS]) @ np.linalg.inv(np.asarray(record[K.CELL]))
    nelec = record[K.META].get("n_electrons")
    row = {
        "n_k": len(kpts),
        "n_bands": ours.shape[1],
        "d_eps": float(np.abs(ours - eps).max()) if ours.shape == eps.shape else float("inf"),
        "order": theirs["elements"] == symbols
        and bool(np.allclose(theirs["frac_coords"], frac, rtol=0, atol=1e-12)),
        "occupation": theirs["occupation"] == nelec,
        "ef_kept": theirs["fermi_energy_eV"] == record[K.META].get("fermi_level"),
        "d_fermi": None,
        "n_mesh": 0,
        "d_s": theirs["pyscf_overlap"],
    }
    if theirs["fermi_mesh"] is not None:
        mesh = np.asarray(theirs["fermi_mesh"]["kpts"])
        ours_ef = counting_fermi(band_energies(record, record[K.HT], mesh), nelec, record[K.SPINOR])
        row["d_fermi"] = abs(ours_ef - theirs["fermi_mesh"]["fermi_level"])
        row["n_mesh"] = len(mesh)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--python", type=Path, default=DEFAULT_ENV / "bin/python",
                   help="DeepH-dock's python (benchmarks/setup_deephdock.sh)")  # fmt: skip
    p.add_argument("--structures", default="Si2,AlP,TB-soc", help=f"of {', '.join(STRUCTURES)}")
    p.add_argument("--nk", type=int, default=16, help="k-points compared per structure")
    p.add_argument("--dk", type=float, default=0.3, help="DeepH-dock's Fermi mesh spacing (Å⁻¹)")
    p.add_argument("--work", type=Path, default=None, help="keep the DeepX directories here")
    args = p.parse_args()
    if not (args.python.is_file() and os.access(args.python, os.X_OK)):
        sys.exit(f"{args.python}: no DeepH-dock python; run `bash benchmarks/setup_deephdock.sh` "
                 "or pass --python")  # fmt: skip
    names = args.structures.split(",")
    unknown = sorted(set(names) - set(STRUCTURES))
    if unknown:
        sys.exit(f"unknown structures {', '.join(unknown)}; choose from {', '.join(STRUCTURES)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="deepx-vs-deephdock-"))
    kpts, rows = kpoints(args.nk), []
    for name in names:
        t0 = time.perf_counter()
        record = STRUCTURES[name]()
        deepx.write(record, work / name)
        t1 = time.perf_counter()
        theirs = run_driver(args.python, work / name, kpts, args.dk, pyscf_basis(record))
        row = compare(record, theirs, kpts)
        print(f"  {name}: record {t1 - t0:.0f} s, DeepH-dock + comparison "
              f"{time.perf_counter() - t1:.0f} s", flush=True)  # fmt: skip
        rows.append((name, "spinor" if record[K.SPINOR] else "scalar", row))
    print_table(rows, work)


def print_table(rows: list[tuple[str, str, dict]], work: Path) -> None:
    """The comparison table (markdown) and whether every row agrees."""
    print(f"\nDeepX directories in {work}\n")
    print("| structure | spin | n_k | bands | max abs Δε (eV) | atom order kept | "
          "occupation kept | Δ E_F mesh (eV, n_k) | E_F of info.json kept | "
          "max abs ΔS(k) vs PySCF |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for name, spin, r in rows:
        ef = "–" if r["d_fermi"] is None else f"{r['d_fermi']:.1e} ({r['n_mesh']})"
        ds = "–" if r["d_s"] is None else f"{r['d_s']:.1e}"
        print(f"| {name} | {spin} | {r['n_k']} | {r['n_bands']} | {r['d_eps']:.1e} | "
              f"{r['order']} | {r['occupation']} | {ef} | {r['ef_kept']} | {ds} |")  # fmt: skip
        ok &= r["d_eps"] <= TOL_EV and r["order"] and r["occupation"] and r["ef_kept"]
        ok &= r["d_fermi"] is None or r["d_fermi"] <= TOL_EV
        ok &= r["d_s"] is None or r["d_s"] <= TOL_S
    print(
        f"\n{'all agree' if ok else 'DISAGREEMENT'} (ε and E_F within {TOL_EV:g} eV, "
        f"S(k) within {TOL_S:g})"
    )


if __name__ == "__main__":
    main()
