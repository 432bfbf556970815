"""Spin–orbit crystals with the scalar model: H0 (GTH spin–orbit projectors) + ΔH_scalar ⊗ I₂.

For each structure, a spin–orbit label in the model's own basis (``spin="soc"``,
``soc_method="gth"``: H0 = H0_scalar ⊗ I₂ + V_SO, HT from the KGKS SCF whose core Hamiltonian
holds V_SO) is made (cached in ``--work``), the model's spin-diagonal correction is applied
(:mod:`nextham.predict.spin_orbit`), and the prediction and H0 are compared with the SCF:

* Gauge MAE over all entries and per spin block (meV), band MAE in the window of the
  reference (VBM − 2 … CBM + 2 eV) on a 4×4×4 Γ-centred mesh (meV), ghost states;
* the spin–orbit splitting of the valence band top at Γ: the mean of the top four valence
  levels (j = 3/2) minus the mean of the next two (j = 1/2), prediction and H0 against the SCF;
* the prediction's reliability flag (computed on the scalar part).

    OMP_NUM_THREADS=1 python benchmarks/soc_scalar_model.py --work ~/nextham-data/soc-scalar
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite.spin_orbit import splitting_error

from nextham.dft.label import compute_record
from nextham.loss.report import ZERO_CORRECTION, evaluate_structure
from nextham.predict import Predictor
from nextham.predict.spin_orbit import soc_settings
from nextham.record import keys as K
from nextham.spectra.kspace import gamma_mesh
from nextham.store.hdf5 import read_record, write_record

STRUCTURES = {
    "GaAs-0": ("GaAs", "zincblende", 5.65, 0),
    "GaAs-1": ("GaAs", "zincblende", 5.65, 1),
    "AlAs-0": ("AlAs", "zincblende", 5.66, 0),
    "GaP-0": ("GaP", "zincblende", 5.45, 0),
    "Ge-0": ("Ge", "diamond", 5.66, 0),
}
"""Name → (formula, prototype, a in Å, rattle seed); rattled by 0.05 Å."""


def structure(name: str):
    formula, kind, a, seed = STRUCTURES[name]
    atoms = bulk(formula, kind, a=a)
    atoms.positions += np.random.default_rng(seed).normal(0, 0.05, atoms.positions.shape)
    return atoms


def label(name: str, settings, work: Path) -> tuple[dict, float]:
    """The spin–orbit label of ``name`` (cached) and the seconds it took to make."""
    path = work / f"{name}.h5"
    if not path.exists():
        t0 = time.perf_counter()
        rec = compute_record(structure(name), settings)
        rec[K.META]["time_label_s"] = time.perf_counter() - t0
        write_record(path, rec, name)
    rec = read_record(path)
    return rec, float(rec[K.META].get("time_label_s", float("nan")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True)
    p.add_argument("--only", default=None, help="comma-separated structure names")
    p.add_argument("--model", default=None, help="a scalar model file (default: shipped)")
    args = p.parse_args()
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    predictor = Predictor.from_file(args.model)
    predictor.verify = "never"  # the model's own correction (the check: benchmarks/gate.py)
    settings = soc_settings(predictor.settings)
    names = args.only.split(",") if args.only else list(STRUCTURES)
    print(f"{date.today()}, {platform.machine()}; model {predictor.path}; spin-orbit labels "
          f"{settings.basis}, GTH projectors; meV unless stated")  # fmt: skip
    print("| structure | label s | Gauge MAE H0 / pred | pred ↑↑+↓↓ real / ↑↓+↓↑ | band MAE "
          "H0 / pred | ghosts | Δ_SO SCF (eV) | Δ_SO error H0 / pred | flag |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    kpts = gamma_mesh((4, 4, 4))
    for name in names:
        rec, t_label = label(name, settings, work)
        prediction = predictor.predict_record(rec, name)
        pred, flag = prediction.record[K.HT], prediction.reliability["flag"]
        m = evaluate_structure(rec, pred, kpts)
        model, h0 = m["model"], m[ZERO_CORRECTION]
        spin = model["gauge_mae"]["spin"]
        d_ref, *d_err = splitting_error(rec, pred)
        print(f"| {name} | {t_label:.0f} | {h0['gauge_mae']['overall']['mae_meV']:.2f} / "
              f"{model['gauge_mae']['overall']['mae_meV']:.2f} | "
              f"{spin['uu_dd_real']['mae_meV']:.2f} / {spin['ud_du']['mae_meV']:.2f} | "
              f"{h0['bands']['mae_meV']:.1f} / {model['bands']['mae_meV']:.1f} | "
              f"{model['ghost_states']['count']} | {d_ref:.4f} | "
              f"{d_err[0]:.1f} / {d_err[1]:.1f} | {flag} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
