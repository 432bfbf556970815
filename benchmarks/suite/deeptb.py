"""DeePTB-E3 baseline (package ``dptb`` 2.2.1, SLEM embedding + ``e3tb`` prediction).

DeePTB runs in its own virtualenv (:func:`ensure_venv`); everything importing ``dptb`` lives in
``deeptb_driver.py`` beside this file and runs there in a subprocess. Data go through files:
records are exported with :func:`nextham.formats.deeptb.write` (DeePTB's ``DefaultDataset``
layout, orbitals in DeePTB's order), predictions come back as HDF5 blocks and are mapped back
with the inverse of the same per-atom matrices into nextham's flat layout.

Details of the setup
--------------------
* ``info.json``: dptb 2.2.1 checks it with dargs in strict mode and rejects the extra keys
  the nextham writer adds (``isspinful``, ``fermi_level``, ``basis``, ``shell_ls``), so
  :func:`export` rewrites it with the accepted keys only (``nframes``, ``natoms``,
  ``pos_type``, ``pbc``).
* Blocks: dptb reads block (i, j, R) or, if absent, the transpose of (j, i, −R); the writer
  stores both. Pairs inside dptb's cutoff that the record lacks are trained as zero blocks.
  ``feature_to_block`` returns one orientation per pair; the other is its transpose.
* Cutoffs: one ``r_max`` per element (dptb takes ½(r_A + r_B) for an A–B pair) covering
  every pair of every record given, plus ``r_margin``; record pairs outside are counted in
  ``missing_pairs`` and predicted as zero.
* Loss: ``hamil_abs`` with ``onsite_shift`` (DeePTB's own fit of a uniform shift μ S, which
  needs the overlaps, the matching choice for nextham's gauge-corrected metrics).
* Versions: dptb 2.2.1 declares ``torch<=2.5.1`` and ``scipy<1.13``; it is installed with
  ``--no-deps`` next to torch 2.13.0 (CPU) and scipy 1.17; training, checkpoints and
  prediction work unchanged with these (no workaround needed so far).
* Scalar records only (dptb has no spin–orbit E3 model).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from ase.data import chemical_symbols
from ase.neighborlist import primitive_neighbor_list

from nextham.formats.deeptb import atom_map, basis_string, write
from nextham.record import keys as K
from nextham.store.atomic import atomic_output

DRIVER = Path(__file__).with_name("deeptb_driver.py")
MARKER = ".nextham-deeptb-ready"
INSTALL = [
    ["torch==2.13.0"],
    ["wheel", "setuptools"],
    ["--no-build-isolation", "torch_scatter==2.1.2"],
    ["--no-deps", "dptb==2.2.1"],
    ["numpy<2.3", "scipy>=1.11", "spglib", "matplotlib", "ase", "pyyaml", "dargs==0.4.4",
     "e3nn>=0.5.1", "torch-runstats==0.2.0", "torch_geometric>=2.4.0", "opt-einsum==3.3.0",
     "h5py!=3.10.0,<3.12,>=3.7.0", "lmdb==1.4.1", "pyfiglet==1.0.2", "tensorboard", "seekpath",
     "rich>=13.0.0"],
]  # fmt: skip
"""``pip install`` steps of the virtualenv (the order matters: torch_scatter builds against
the installed torch, ``dptb`` itself without its pins)."""

DEFAULT_BUDGET = {
    "epochs": 100,
    "lr": 5e-3,
    "batch_size": 1,
    "n_layers": 2,
    "hidden_mul": 16,
    "n_radial_basis": 8,
    "latent_dim": 32,
    "neurons": [32, 32],
    "r_margin": 0.2,
    "onsite_shift": True,
    "seed": 0,
    "threads": 2,
}
"""Small SLEM model (≈ 5 s per epoch for 28 two-atom cells of ``scalar40`` on 2 cores);
``budget`` overrides any key. Hidden irreps: ``hidden_mul``×0e + ``hidden_mul/2``×1o + …
up to l = 2 l_max of the basis (at least 2 of each)."""


def ensure_venv(venv: Path) -> Path:
    """Create/complete the DeePTB virtualenv (idempotent: a marker file after success);
    return its python."""
    venv = Path(venv).absolute()
    python = venv / "bin" / "python"
    if (venv / MARKER).is_file():
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "MAX_JOBS": "2"}
    for step in INSTALL:
        cmd = [str(python), "-m", "pip", "install", "-q", *step]
        subprocess.run(cmd, check=True, env={**os.environ, **env})
    check = "import dptb, torch_scatter; assert dptb.__version__ == '2.2.1'"
    subprocess.run([str(python), "-c", check], check=True)
    (venv / MARKER).write_text("dptb 2.2.1\n")
    return python


def pair_lengths(record: dict) -> np.ndarray:
    """|r_j + R·cell − r_i| of every stored pair, Å."""
    pos, cell = np.asarray(record[K.POSITIONS]), np.asarray(record[K.CELL])
    ei, shift = np.asarray(record[K.EDGE_INDEX]), np.asarray(record[K.CELL_SHIFT])
    return np.linalg.norm(pos[ei[:, 1]] + shift @ cell - pos[ei[:, 0]], axis=1)


def cutoffs(records: Sequence[dict], margin: float) -> dict[str, float]:
    """Per-element ``r_max`` covering every pair of ``records`` (A–B uses ½(r_A + r_B))."""
    r: dict[str, float] = {}
    for rec in records:
        z, d = np.asarray(rec[K.NUMBERS]), pair_lengths(rec)
        ei = np.asarray(rec[K.EDGE_INDEX])
        for zz in set(z.tolist()):
            sel = (z[ei[:, 0]] == zz) | (z[ei[:, 1]] == zz)
            sym = chemical_symbols[zz]
            r[sym] = max(r.get(sym, 0.0), float(d[sel].max(initial=1.0)) + margin)
    return {k: float(np.ceil(v * 1000) / 1000) for k, v in sorted(r.items())}


def mean_neighbours(records: Sequence[dict], r_max: dict[str, float]) -> float:
    """Mean number of DeePTB edges per atom (both orientations) under ``r_max``."""
    counts = []
    for rec in records:
        z = np.asarray(rec[K.NUMBERS])
        rz = np.array([r_max[chemical_symbols[x]] for x in z])
        i, j, d = primitive_neighbor_list(
            "ijd", [True] * 3, np.asarray(rec[K.CELL]), np.asarray(rec[K.POSITIONS]),
            max(r_max.values()),
        )  # fmt: skip
        counts.append(np.sum(d <= 0.5 * (rz[i] + rz[j])) / len(z))
    return float(np.mean(counts))


def dptb_basis(records: Sequence[dict]) -> dict[str, str]:
    """DeePTB basis strings per element, e.g. ``{"Ga": "1s1p1d"}``; one basis per element."""
    basis: dict[str, str] = {}
    for rec in records:
        if rec[K.SPINOR]:
            raise ValueError("DeePTB-E3 baseline: scalar records only")
        for z, ls in rec[K.BASIS_LS].items():
            sym, b = chemical_symbols[int(z)], basis_string(tuple(ls))
            if basis.setdefault(sym, b) != b:
                raise ValueError(f"{sym}: two bases ({basis[sym]}, {b})")
    return dict(sorted(basis.items()))


def export(records: Sequence[dict], root: Path) -> list[str]:
    """Write ``records`` as DeePTB folders ``root/set.NNNN`` (fresh root); folder names."""
    shutil.rmtree(root, ignore_errors=True)
    names = []
    for k, rec in enumerate(records):
        out = root / f"set.{k:04d}"
        write(rec, out)
        info = {"nframes": 1, "natoms": len(rec[K.NUMBERS]), "pos_type": "cart", "pbc": True}
        (out / "info.json").write_text(json.dumps(info, indent=1))
        (out / "h0.h5").unlink()
        names.append(out.name)
    return names


def to_flat(record: dict, blocks: dict[tuple, np.ndarray]) -> tuple[np.ndarray, int]:
    """nextham flat H of ``record`` from DeePTB blocks {(i, j, Rx, Ry, Rz): block} (either
    orientation); returns (h_flat, number of record pairs without a block, left zero)."""
    ls = [tuple(record[K.BASIS_LS][int(z)]) for z in record[K.NUMBERS]]
    maps = [atom_map(x, False) for x in ls]
    ptr = np.asarray(record[K.BLOCK_PTR])
    out, missing = np.zeros(int(ptr[-1])), 0
    for e, ((i, j), shift) in enumerate(zip(record[K.EDGE_INDEX], record[K.CELL_SHIFT])):
        i, j, rx, ry, rz = (int(x) for x in (i, j, *shift))
        blk = blocks.get((i, j, rx, ry, rz))
        if blk is None and (partner := blocks.get((j, i, -rx, -ry, -rz))) is not None:
            blk = partner.T
        if blk is None:
            missing += 1
            continue
        out[ptr[e] : ptr[e + 1]] = (maps[i].T @ blk @ maps[j]).ravel()
    return out, missing


def read_blocks(path: Path) -> dict[str, tuple[dict[tuple, np.ndarray], float]]:
    """Driver output: folder name → ({(i, j, Rx, Ry, Rz): block}, model seconds)."""
    with h5py.File(path, "r") as f:
        return {
            name: ({tuple(int(x) for x in k.split("_")): g[k][()] for k in g},
                   float(g.attrs["seconds"]))
            for name, g in f.items()
        }  # fmt: skip


def driver(python: Path, *args: str, threads: int = 2, log: Path | None = None) -> None:
    """Run ``deeptb_driver.py ARGS`` with the venv's python (output appended to ``log``)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [str(python), str(DRIVER), *args, "--threads", str(threads)]
    if log is None:
        subprocess.run(cmd, check=True, env=env)
        return
    with open(log, "a") as fh:
        subprocess.run(cmd, check=True, env=env, stdout=fh, stderr=subprocess.STDOUT)


def input_config(
    basis: dict, r_max: dict, avg_nn: float, roots: dict[str, Path], n_train: int, budget: dict
) -> dict:
    """``dptb train`` input of the SLEM/e3tb model (``roots``: "train" and "validation"); the
    latest checkpoint is saved once per epoch (``n_train`` structures), the best one (lowest
    validation loss) at the end of an epoch."""
    lmax = 2 * max("spdf".index(c) for b in basis.values() for c in b if c.isalpha())
    mul, lr, epochs = budget["hidden_mul"], budget["lr"], budget["epochs"]
    latent = budget["latent_dim"]
    irreps = "+".join(f"{max(mul >> l, 2)}x{l}{'eo'[l % 2]}" for l in range(lmax + 1))
    loss = {"method": "hamil_abs", "onsite_shift": bool(budget["onsite_shift"])}
    data = {
        key: {"root": str(root), "prefix": "set", "get_Hamiltonian": True,
              "get_overlap": bool(budget["onsite_shift"])}
        for key, root in roots.items()
    }  # fmt: skip
    embedding = {
        "method": "slem", "r_max": r_max, "irreps_hidden": irreps,
        "n_layers": budget["n_layers"], "avg_num_neighbors": round(avg_nn, 2),
        "n_radial_basis": budget["n_radial_basis"], "tp_radial_emb": True,
        "tp_radial_channels": [latent], "latent_channels": [latent], "latent_dim": latent,
    }  # fmt: skip
    train_options = {
        "num_epoch": int(epochs), "batch_size": int(budget["batch_size"]),
        "optimizer": {"type": "Adam", "lr": float(lr)},
        "lr_scheduler": {"type": "cos", "T_max": int(epochs), "eta_min": float(lr) / 100},
        "loss_options": {"train": loss, "validation": loss},
        "save_freq": -(-n_train // int(budget["batch_size"])), "validation_freq": 10**6,
        "display_freq": 10**6, "max_ckpt": 1, "valid_fast": False,
    }  # fmt: skip
    common = {"basis": basis, "device": "cpu", "dtype": "float32", "overlap": False,
              "seed": int(budget["seed"])}  # fmt: skip
    return {
        "common_options": common,
        "model_options": {
            "embedding": embedding,
            "prediction": {"method": "e3tb", "neurons": list(budget["neurons"])},
        },
        "train_options": train_options,
        "data_options": data,
    }


def train_and_predict(
    train: list[tuple[str, dict]],
    val: list[tuple[str, dict]],
    predict: list[tuple[str, dict]],
    work: Path,
    python: Path,
    budget: dict,
) -> dict:
    """Train DeePTB-E3 on `train` (validation `val`), predict H for every record of `predict`.

    Returns {"h": {name: h_flat (np.ndarray, nextham flat layout, eV)}, "train_s": float,
    "predict_s": float (model seconds per structure), "missing_pairs": int (record pairs
    without a DeePTB block, left zero), "config": dict (the ``dptb train`` input)}.
    Resumable/cached under `work` (skip training if a finished model exists; an interrupted
    run restarts from its latest checkpoint, ``train_s`` then counts the last run only).
    Basis and cutoffs are taken over all three lists (geometry only), so a later call must
    not bring new elements or longer pairs to a cached model.
    """
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    b = {**DEFAULT_BUDGET, **budget}
    everything = [r for _, r in (*train, *val, *predict)]
    r_max = cutoffs(everything, float(b["r_margin"]))
    roots = {"train": work / "data" / "train", "validation": work / "data" / "val"}
    if not val:
        roots.pop("validation")
    avg_nn = mean_neighbours([r for _, r in train], r_max)
    config = input_config(dptb_basis(everything), r_max, avg_nn, roots, len(train), b)
    out, done = work / "model", work / "train.json"
    ckpt = out / "checkpoint"
    if not done.is_file():
        export([r for _, r in train], roots["train"])
        if val:
            export([r for _, r in val], roots["validation"])
        (work / "input.json").write_text(json.dumps(config, indent=1))
        latest = ckpt / "nnenv.latest.pth"
        restart = ["--restart", str(latest.resolve())] if latest.exists() else []
        t0 = time.perf_counter()
        driver(python, "train", str(work / "input.json"), str(out), *restart,
               threads=int(b["threads"]), log=work / "train.log")  # fmt: skip
        info = {"train_s": time.perf_counter() - t0, "restarted": bool(restart)}
        with atomic_output(done) as tmp:
            tmp.write_text(json.dumps(info, indent=1))
    train_s = json.loads(done.read_text())["train_s"]
    model = ckpt / "nnenv.best.pth" if (ckpt / "nnenv.best.pth").exists() else latest_ckpt(ckpt)
    names = export([r for _, r in predict], work / "data" / "predict")
    key = hashlib.sha1(json.dumps([n for n, _ in predict]).encode()).hexdigest()[:12]
    pred = work / f"predictions_{key}.h5"
    if not pred.is_file():
        with atomic_output(pred) as tmp:
            driver(python, "predict", str(work / "data" / "predict"), str(tmp),
                   "--model", str(model.resolve()), threads=int(b["threads"]))  # fmt: skip
    blocks = read_blocks(pred)
    h, missing, seconds = {}, 0, []
    for folder, (name, rec) in zip(names, predict, strict=True):
        h[name], m = to_flat(rec, blocks[folder][0])
        missing += m
        seconds.append(blocks[folder][1])
    return {
        "h": h,
        "train_s": float(train_s),
        "predict_s": float(np.mean(seconds)) if seconds else None,
        "missing_pairs": int(missing),
        "config": config,
    }


def latest_ckpt(ckpt: Path) -> Path:
    """The latest checkpoint of a finished ``dptb train`` run."""
    link = ckpt / "nnenv.latest.pth"
    if link.exists():
        return link
    found = sorted(ckpt.glob("nnenv.*.pth"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no DeePTB checkpoint in {ckpt}")
    return found[-1]
