"""DeePTB side of the DeePTB-E3 baseline; runs inside the DeePTB virtualenv (imports ``dptb``,
never ``nextham``). Called by :mod:`benchmarks.suite.deeptb` through a subprocess; data go
through files only (DeePTB directory layout in, HDF5 blocks out).

Commands
--------
``train INPUT OUT [--restart CKPT]``
    ``dptb train`` of ``INPUT`` into ``OUT`` (checkpoints in ``OUT/checkpoint``).
``predict ROOT OUT --model CKPT``
    H blocks of every structure folder of ``ROOT`` predicted by a trained checkpoint.
``identity ROOT OUT --basis JSON --r-max JSON``
    The reference blocks of every folder of ``ROOT`` packed into DeePTB's features and unpacked
    again (no model): tests the block ↔ feature path and the neighbour list.

``OUT`` of ``predict``/``identity`` is an HDF5 file with one group per folder name holding
datasets ``"i_j_Rx_Ry_Rz"`` (DeePTB's basis order, eV, float64; one orientation per pair as
``dptb.data.feature_to_block`` returns it) and the attribute ``seconds`` (neighbour list,
model and block assembly of that structure).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import h5py
import numpy as np
import torch


def _graph(folder: Path, r_max: float | dict) -> object:
    """``AtomicData`` of one DeePTB folder (cell, positions, numbers), edges within ``r_max``."""
    from dptb.data import AtomicData

    numbers = np.atleast_1d(np.loadtxt(folder / "atomic_numbers.dat", dtype=np.int64))
    return AtomicData.from_points(
        pos=np.loadtxt(folder / "positions.dat").reshape(-1, 3),
        cell=np.loadtxt(folder / "cell.dat"),
        pbc=True,
        r_max=r_max,
        atomic_numbers=numbers,
    )


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "positions.dat").is_file())


def _write(out: Path, results: dict[str, dict], seconds: dict[str, float]) -> None:
    with h5py.File(out, "w") as f:
        for name, blocks in results.items():
            g = f.create_group(name)
            g.attrs["seconds"] = seconds[name]
            for key, blk in blocks.items():
                g[key] = blk.detach().cpu().double().numpy()


def predict(root: Path, out: Path, model_path: Path) -> None:
    """Blocks predicted by a checkpoint for every folder of ``root``."""
    from dptb.data import AtomicData, feature_to_block
    from dptb.nn.build import build_model
    from dptb.utils.argcheck import get_cutoffs_from_model_options

    ckpt = torch.load(model_path, map_location="cpu", weights_only=True)
    torch.set_default_dtype(getattr(torch, ckpt["config"]["common_options"]["dtype"]))
    model = build_model(str(model_path))
    model.eval()
    r_max, _, _ = get_cutoffs_from_model_options(model.model_options)
    results, seconds = {}, {}
    for folder in _folders(root):
        t0 = time.perf_counter()
        data = AtomicData.to_AtomicDataDict(_graph(folder, r_max))
        with torch.no_grad():
            data = model(model.idp(data))
            results[folder.name] = feature_to_block(data, model.idp)
        seconds[folder.name] = time.perf_counter() - t0
    _write(out, results, seconds)


def identity(root: Path, out: Path, basis: dict, r_max: float | dict) -> None:
    """Reference blocks → DeePTB features → blocks, without a model."""
    from dptb.data import AtomicData, OrbitalMapper, block_to_feature, feature_to_block

    torch.set_default_dtype(torch.float64)
    idp = OrbitalMapper(basis, method="e3tb")
    results, seconds = {}, {}
    for folder in _folders(root):
        graph = _graph(folder, r_max)
        with h5py.File(folder / "hamiltonians.h5", "r") as f:
            block_to_feature(graph, idp, f["0"])
        data = idp(AtomicData.to_AtomicDataDict(graph))
        results[folder.name], seconds[folder.name] = feature_to_block(data, idp), 0.0
    _write(out, results, seconds)


def train(input_json: Path, out: Path, restart: Path | None) -> None:
    """``dptb train INPUT -o OUT`` (optionally ``--restart``)."""
    from dptb.entrypoints.train import train as dptb_train

    dptb_train(
        INPUT=str(input_json),
        init_model=None,
        restart=str(restart) if restart else None,
        output=str(out),
        log_level=20,
        log_path=None,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["train", "predict", "identity"])
    ap.add_argument("src", type=Path, help="input.json (train) or data root")
    ap.add_argument("out", type=Path)
    ap.add_argument("--restart", type=Path)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--basis", type=json.loads)
    ap.add_argument("--r-max", type=json.loads)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.command == "train":
        train(a.src, a.out, a.restart)
    elif a.command == "predict":
        predict(a.src, a.out, a.model)
    else:
        identity(a.src, a.out, a.basis, a.r_max)


if __name__ == "__main__":
    main()
