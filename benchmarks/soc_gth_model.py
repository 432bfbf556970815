"""Spin–orbit crystals of heavy elements: a scalar model trained on GTH spin–orbit labels.

The labels (``nextham generate --spin soc --soc-method gth``, made by
``benchmarks/soc_dataset.sh``) carry V_SO in H0; ΔH = HT − H0 is spin-diagonal and real to the
density's response, so the model is a scalar one trained on the labels' scalar part
(``data.scalar_part``) and applied as H = H0 + ΔH ⊗ I₂ (:mod:`nextham.predict.spin_orbit`).
This script trains it (the benchmark's base model and optimizer, cached in ``--work``) and
compares H0 and the prediction with the SCF on the model's test split and on held-out
compositions (element pairs never in training):

* band MAE in the window of the reference (VBM − 2 … CBM + 2 eV, metals E_F ± 2 eV) on a
  4×4×4 Γ-centred mesh, after the Gauge μ* and aligned (each spectrum read from its own VBM
  or E_F), ghost states, Gauge MAE over all entries and per spin block (meV);
* the levels at Γ in the band window: largest error after removing their mean offset, which
  bounds the error of every level spacing there, spin–orbit splittings included (meV);
* the spin–orbit splitting of the valence top at Γ where it is a j = 3/2 / 1/2 pair
  (zincblende, diamond): mean of the top four levels minus the next two.

    bash benchmarks/soc_dataset.sh ~/nextham-data/soc-gth5
    OMP_NUM_THREADS=1 python benchmarks/soc_gth_model.py --data ~/nextham-data/soc-gth5 \
        --work W --train-sets train,train2,train3,train4 --holdout-pairs Sn-Se,Sn-S \
        --init-from UNIVERSAL_MODEL --loss k_pp=3,k_pq=3,k_qq=0.1 --eval-sets heldout,symmetric

``--model FILE`` evaluates a given model instead (e.g. ``nextham committee`` of several such
fine-tunes; ``--no-gate`` for its raw mean correction).
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np
from ase.data import chemical_symbols

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import steps
from suite.recipe import MODEL, OPTIM, SOC_FINE_TUNE_LR
from suite.spin_orbit import has_split_top, splitting_error

from nextham.evaluate import select_names
from nextham.loss.metrics import energy_window, occupied_levels
from nextham.loss.report import ZERO_CORRECTION, evaluate_structure
from nextham.model.files import read_model_metadata
from nextham.predict import Predictor
from nextham.record import keys as K
from nextham.spectra.eigen import band_energies
from nextham.spectra.kspace import gamma_mesh
from nextham.store.dataset import Dataset

EPOCHS = 80


EVAL_TITLES = {
    "heldout": "Held-out compositions (element pairs never in training)",
    "symmetric": "Ideal zincblende and diamond cells (Δ_SO of the j = 3/2 / 1/2 valence top)",
}
"""Table titles of the ``--eval-sets`` that benchmarks/soc_dataset.sh makes."""


def train(
    sets: list[Path], work: Path, epochs: int, pair_scales: bool = False, holdout=(),
    init_from: str | None = None, overlap_shift: bool = False, seed: int = 0,
    loss: dict | None = None,
    lr: float = SOC_FINE_TUNE_LR,
) -> str:  # fmt: skip
    """Train (or reuse) the scalar-part model on the datasets ``sets``; its model file.
    ``pair_scales``: output scales per element and element pair from the training split
    (``model.pair_scales: auto``, docs/training.md) instead of one global scale; ``holdout``:
    element pairs ("A-B") kept out of training (e.g. the held-out compositions, where a
    dataset of the universal recipe has them); ``init_from``: start from that model file
    (e.g. the universal scalar model; its architecture and scales, learning rate ``lr``);
    ``overlap_shift``: the model's charge-transfer shift (``model.overlap_shift``); ``seed``:
    the training's seed (initial weights, batch order), the split's stays 0; ``loss``: weights
    of the loss terms named (``LossWeights`` fields, e.g. ``k_pp``); the others keep their
    defaults."""
    model = {**MODEL, "pair_scales": "auto"} if pair_scales else dict(MODEL)
    if overlap_shift:
        model["overlap_shift"] = True
    config = {
        "data": {"datasets": [str(d) for d in sets], "split": [0.8, 0.1, 0.1], "seed": 0,
                 "max_edges": 700, "scalar_part": True, "holdout_pairs": list(holdout)},
        "model": model, "optim": {**OPTIM, "epochs": epochs},
        "out": str(work / "model"), "seed": seed, "device": "cpu",
    }  # fmt: skip
    if loss:
        config["loss"] = dict(loss)
    if init_from is not None:
        del config["model"]
        config["init_from"] = str(init_from)
        config["optim"]["lr"] = lr
    return steps.cached(work / "train.json", lambda: steps.train(config, work / "train.yaml"))[
        "model"
    ]


def gamma_spacing_error(record: dict, h: np.ndarray) -> float:
    """Largest error (meV) of the Γ levels in the reference's band window after removing their
    mean offset: every level spacing at Γ, spin–orbit splittings included, is within it."""
    ref = band_energies(record, record[K.HT], np.zeros((1, 3)))[0]
    got = band_energies(record, h, np.zeros((1, 3)))[0]
    mesh = band_energies(record, record[K.HT], gamma_mesh((4, 4, 4)))
    win = energy_window(mesh, float(record[K.META]["fermi_level"]), occupied_levels(record))
    d = (got - ref)[(ref >= win.lo) & (ref <= win.hi)]
    return 1e3 * float(np.abs(d - d.mean()).max()) if d.size else float("nan")


def row(name: str, record: dict, predictor: Predictor) -> dict:
    prediction = predictor.predict_record(record, name)
    pred = prediction.record[K.HT]
    m = evaluate_structure(record, pred, gamma_mesh((4, 4, 4)))
    model, h0 = m["model"], m[ZERO_CORRECTION]
    out = {
        "name": name,
        "gauge": (h0["gauge_mae"]["overall"]["mae_meV"], model["gauge_mae"]["overall"]["mae_meV"]),
        "spin": (model["gauge_mae"]["spin"]["uu_dd_real"]["mae_meV"],
                 model["gauge_mae"]["spin"]["ud_du"]["mae_meV"]),
        "band": (h0["bands"]["mae_meV"], model["bands"]["mae_meV"]),
        "aligned": (h0["bands"]["mae_aligned_meV"], model["bands"]["mae_aligned_meV"]),
        "ghosts": model["ghost_states"]["count"],
        "gamma": tuple(gamma_spacing_error(record, h) for h in (record[K.H0], pred)),
        "flag": prediction.reliability.get("flag", "–"),
        "dso": None,
    }  # fmt: skip
    if has_split_top(name, record):
        out["dso"] = splitting_error(record, pred)
    return out


def _print(rows: list[dict], title: str) -> None:
    print(f"\n{title}\n")
    if not rows:
        print("(no structures)")
        return
    print(
        "| structure | Gauge MAE H0 / pred | pred ↑↑+↓↓ real / ↑↓+↓↑ | band MAE H0 / pred "
        "| aligned H0 / pred | ghosts | Γ spacings max err H0 / pred | Δ_SO SCF eV (err H0 / pred) "
        "| flag |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        dso = (
            "–"
            if r["dso"] is None
            else f"{r['dso'][0]:.3f} ({r['dso'][1]:.1f} / {r['dso'][2]:.1f})"
        )
        print(f"| {r['name']} | {r['gauge'][0]:.2f} / {r['gauge'][1]:.2f} | {r['spin'][0]:.2f} / "
              f"{r['spin'][1]:.2f} | {r['band'][0]:.1f} / {r['band'][1]:.1f} | "
              f"{r['aligned'][0]:.1f} / {r['aligned'][1]:.1f} | {r['ghosts']} | "
              f"{r['gamma'][0]:.1f} / {r['gamma'][1]:.1f} | {dso} | {r['flag']} |")  # fmt: skip
    band = np.array([r["band"] for r in rows if None not in r["band"]])
    aligned = np.array([r["aligned"] for r in rows if None not in r["aligned"]])
    gam = np.array([r["gamma"] for r in rows])
    print(f"\nband MAE mean H0 {band[:, 0].mean():.1f} → pred {band[:, 1].mean():.1f} meV "
          f"(ratio {band[:, 1].mean() / band[:, 0].mean():.2f}), median pred "
          f"{np.median(band[:, 1]):.1f}; aligned at each spectrum's VBM / E_F: H0 "
          f"{aligned[:, 0].mean():.1f} → pred {aligned[:, 1].mean():.1f} (ratio "
          f"{aligned[:, 1].mean() / aligned[:, 0].mean():.2f}), median pred "
          f"{np.median(aligned[:, 1]):.1f}; ghosts {sum(r['ghosts'] for r in rows)}; Γ spacings "
          f"max error H0 {np.nanmax(gam[:, 0]):.1f} → pred {np.nanmax(gam[:, 1]):.1f} meV "
          f"(median pred {np.nanmedian(gam[:, 1]):.1f})")  # fmt: skip


def _weights(text: str) -> dict[str, float]:
    """``"k_pp=1,k_pq=1"`` as {name: weight}; ``argparse``'s error for anything else."""
    out = {}
    for item in filter(str.strip, text.split(",")):
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--loss takes NAME=WEIGHT,…, got {item!r}") from None
    return out


def _names(ds: Dataset, meta: dict) -> list[str]:
    wanted = {n.split("/", 1)[0] for n in meta["split"].get("test", [])}
    return select_names(ds, meta, "test") if ds.path.name in wanted else []


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="directory with train/ and heldout/ datasets")
    p.add_argument("--work", required=True, help="model and cached steps")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--train-sets", default="train,train2",
                   help="datasets under --data to train on (those present)")  # fmt: skip
    p.add_argument(
        "--pair-scales",
        action="store_true",
        help="output scales per element and element pair (model.pair_scales auto)",
    )
    p.add_argument("--extra-sets", default="",
                   help="more datasets to train on, as paths (e.g. a spin–orbit run of the "
                        "universal recipe)")  # fmt: skip
    p.add_argument("--holdout-pairs", default="",
                   help="element pairs kept out of training, e.g. Sn-Se,Sn-S")  # fmt: skip
    p.add_argument("--overlap-shift", action="store_true",
                   help="the model's charge-transfer shift (model.overlap_shift)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0,
                   help="training seed (weights, batch order); the split's is fixed")  # fmt: skip
    p.add_argument("--init-from", default=None,
                   help="start from this scalar model file (e.g. the universal model)")  # fmt: skip
    p.add_argument("--model", default=None,
                   help="evaluate this model file (e.g. a committee of fine-tunes) instead "
                        "of training one; its split names the test set")  # fmt: skip
    p.add_argument("--lr", type=float, default=SOC_FINE_TUNE_LR,
                   help=f"a fine-tune's learning rate ({SOC_FINE_TUNE_LR})")  # fmt: skip
    p.add_argument("--no-gate", action="store_true",
                   help="a committee's raw mean correction, without its gate")  # fmt: skip
    p.add_argument("--eval-sets", default="heldout",
                   help="datasets under --data evaluated whole, each its own table (e.g. "
                        "heldout,symmetric)")  # fmt: skip
    p.add_argument(
        "--loss",
        type=_weights,
        default={},
        help="weights of the loss terms named, e.g. k_pp=1,k_pq=1 (others: defaults)",
    )
    args = p.parse_args()
    data, work = Path(args.data).expanduser(), Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    sets = [data / n for n in args.train_sets.split(",") if (data / n).is_dir()]
    sets += [Path(x).expanduser() for x in args.extra_sets.split(",") if x]
    holdout = [x for x in args.holdout_pairs.split(",") if x]
    model = args.model or train(
        sets,
        work,
        args.epochs,
        args.pair_scales,
        holdout,
        args.init_from,
        args.overlap_shift,
        args.seed,
        args.loss,
        args.lr,
    )
    predictor = Predictor.from_file(model)
    predictor.verify = "never"  # the model's own correction (the check: benchmarks/gate.py)
    predictor.gate = not args.no_gate
    meta = read_model_metadata(model)
    start = f", started from {args.init_from}" if args.init_from else ""
    how = "given" if args.model else f"{args.epochs} epochs{start}"
    print(f"{date.today()}, {platform.machine()}; model {model} ({how}, "
          f"{len(meta['split']['train'])} training structures, elements "
          f"{', '.join(meta['elements'])}); meV unless stated")  # fmt: skip
    test = []
    for ds in map(Dataset, sets):
        test += [(f"{ds.path.name}/{n}", ds.load(n)) for n in _names(ds, meta)]
    _print([row(n, r, predictor) for n, r in test], "Test split (same compositions)")
    covered = set(meta["elements"])
    for name in filter(None, args.eval_sets.split(",")):
        held = Dataset(data / name)
        records = {n: held.load(n) for n in held.names}
        left = [n for n, r in records.items() if not _symbols(r) <= covered]
        _print([row(n, r, predictor) for n, r in records.items() if n not in left],
               EVAL_TITLES.get(name, name))  # fmt: skip
        if left:
            print(f"not evaluated (an element outside the model's set): {', '.join(left)}")


def _symbols(record: dict) -> set[str]:
    return {chemical_symbols[int(z)] for z in record[K.NUMBERS]}


if __name__ == "__main__":
    main()
