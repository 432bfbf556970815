"""Never worse than H0 on the universal dataset: a committee of universal models, its gate and flag.

The members are universal models of one config that differ only in their seed
(initialization and batch order; same data split), trained by

    bash benchmarks/universal_model.sh DATA OUT EPOCHS SEED

for SEED = 0, 1, 2 on one frozen copy DATA of the campaign (benchmarks/universal_dataset.sh),
with ``CONFIG=benchmarks/configs/universal_gate.yaml`` (the universal config with three elements
held out of training, one per block, so that a held-out-element table exists).
This script joins them into a calibrated committee (``nextham committee``: uncertainty scale
and gate τ from the validation split) and evaluates H0, one member, the ungated and the gated
committee on

* the test split (in distribution): what the gate costs;
* the held-out elements (structures holding an element of ``data.holdout_elements``);
* the held-out compositions (element pairs never in training, the rest of the ``ood`` split);
* held-out prototypes (:mod:`suite.heldout_prototypes`): NiAs-type AB and 1T (CdI₂-type)
  MX₂ cells of training compositions, never made by the recipe, labelled here with the
  campaign's engine settings;

then tabulates how well the flag separates the structures where the ungated model is worse
than H0 from those where it is better, and writes the report.

    export OMP_NUM_THREADS=1
    python benchmarks/gate_universal.py --members runs/U0/model.safetensors \\
        runs/U1/model.safetensors runs/U2/model.safetensors --work ~/nextham-data/gate-uni \\
        --report docs/gate-universal.md

Every step is cached under ``--work`` (a rerun resumes).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ase.data import chemical_symbols
from run import machine
from suite import gate_eval, steps
from suite.gate_universal_report import write_universal_report
from suite.heldout_prototypes import build, distorted, nearest_distance

from nextham.evaluate import select_names
from nextham.model.files import read_model_metadata
from nextham.predict import Predictor
from nextham.store.dataset import Dataset

HELDOUT = {
    "nickelarsenide": ("rocksalt", [
        ("Ge", "Te"), ("Sn", "Te"), ("Pb", "S"), ("Sn", "Se"), ("Al", "P"), ("Ba", "S"),
        ("Ca", "S"), ("K", "Cl"), ("Sr", "O"), ("Pd", "Te"), ("Pd", "S"), ("Cd", "Se"),
        ("Ru", "Sb"), ("Ru", "As"), ("Au", "Sb"), ("Hg", "S"), ("Os", "Si"), ("K", "H"),
        ("Li", "H"), ("Ti", "N"), ("Ti", "P"),
    ]),
    "1T-MX2": ("1L-MX2", [("Ti", "S"), ("Ti", "Se"), ("Ti", "Te"), ("Mo", "Te")]),
}  # fmt: skip
"""Held-out prototype → (the recipe prototype whose training structure gives the bond length,
compositions (cation, anion)). Every composition occurs in the members' training split."""
ENGINE = ["--basis", "szv-molopt-sr", "--kspacing", "1.2"]
"""The campaign's engine settings (benchmarks/universal_dataset.sh)."""
RATTLE, SEED = 0.03, 7


def _formula(a: str, x: str, kind: str) -> str:
    return f"{a}{x}2" if kind.endswith("MX2") else f"{a}{x}"


def heldout_structures(
    meta: dict, shards: dict[str, Path], out: Path
) -> tuple[list[str], list[str]]:
    """Write one structure file per held-out cell (bond length from the composition's
    training structure ``<formula>_<source>_p0``); their paths, and the cells skipped because
    that structure is not in the training split (a partial campaign has not labelled it yet,
    or the split put it elsewhere)."""
    train = set(meta["split"]["train"])
    atoms_of = {}
    for shard, path in shards.items():
        for name, atoms in Dataset(path).structures():
            if f"{shard}/{name}" in train:
                atoms_of[name] = atoms
    out.mkdir(parents=True, exist_ok=True)
    files, skipped = [], []
    for k, (kind, (source, comps)) in enumerate(HELDOUT.items()):
        for j, (a, x) in enumerate(comps):
            src = atoms_of.get(f"{_formula(a, x, kind)}_{source}_p0")
            if src is None:
                skipped.append(f"{_formula(a, x, kind)} {kind}")
                continue
            cell = build(kind, a, x, nearest_distance(src, a, x))
            path = out / f"{_formula(a, x, kind)}_{kind}.extxyz"
            distorted(cell, RATTLE, SEED + 100 * k + j, kind).write(path, format="extxyz")
            files.append(str(path))
    if skipped:
        print(f"held-out prototypes skipped (no training structure): {', '.join(skipped)}")
    return files, skipped


def subsets(model: str, shards: dict[str, Path], heldout: str) -> dict[str, list]:
    """(dataset, entry) of each evaluated subset: the test split, the held-out elements (the
    ``ood`` structures holding an element of the config's ``data.holdout_elements``), the
    held-out compositions (the other ``ood`` structures: element pairs never trained
    together) and the held-out prototypes."""
    meta = read_model_metadata(model)
    elements = set(meta["train_config"]["data"].get("holdout_elements") or ())
    out = {"test": [], "element": [], "ood": []}
    for p in shards.values():
        ds = Dataset(p)
        out["test"] += [(str(p), n) for n in select_names(ds, meta, "test", required=False)]
        for n in select_names(ds, meta, "ood", required=False):
            numbers = ds.manifest["entries"][n]["numbers"]
            held = elements & {chemical_symbols[z] for z in numbers}
            out["element" if held else "ood"].append((str(p), n))
    if not out["element"]:
        del out["element"]
    out["prototype"] = [(heldout, n) for n in Dataset(heldout).names]
    return out


def evaluate(model: str, named: list[tuple[str, str]], kmesh) -> list[dict]:
    predictor = Predictor.from_file(model)
    recs = [(f"{Path(d).name}/{n}", Dataset(d).load(n)) for d, n in named]
    return gate_eval.evaluate_records(predictor, recs, kmesh)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", nargs="+", required=True, help="member model files (≥ 2)")
    ap.add_argument("--work", required=True, help="work directory (cached steps, data)")
    ap.add_argument("--kmesh", default="4,4,4", help="band MAE mesh (4,4,4)")
    ap.add_argument("--report", default="docs/gate-universal.md")
    args = ap.parse_args(argv)
    work, kmesh = Path(args.work).expanduser().resolve(), [int(k) for k in args.kmesh.split(",")]
    meta = read_model_metadata(args.members[0])
    shards = {Path(p).name: Path(p) for p in meta["train_config"]["data"]["datasets"]}
    committee = steps.cached(work / "committee.json", lambda: _committee(args.members, work))
    files, skipped = heldout_structures(meta, shards, work / "heldout-structures")
    heldout = steps.cached(
        work / "data_prototype.json",
        lambda: steps.generate(work / "heldout-data", [*files, *ENGINE], allow_failed=True),
    )
    named = subsets(committee["model"], shards, heldout["path"])
    rows = {
        s: steps.cached(work / f"gate_eval_{s}.json",
                        lambda s=s: {"rows": evaluate(committee["model"], named[s], kmesh)})["rows"]
        for s in named
    }  # fmt: skip
    rows = {s: gate_eval.complete(rs, named[s]) for s, rs in rows.items()}
    results = {
        "command": " ".join(["python benchmarks/gate_universal.py", *(argv or sys.argv[1:])]),
        "date": str(date.today()), "machine": machine(), "members": args.members,
        "datasets": {k: str(v) for k, v in shards.items()}, "kmesh": kmesh,
        "epochs": meta["train_config"]["optim"]["epochs"], "committee": committee, "rows": rows,
        "holdout_elements": list(meta["train_config"]["data"].get("holdout_elements") or ()),
        "heldout": {"data": heldout, "prototypes": {k: v[0] for k, v in HELDOUT.items()},
                    "skipped": skipped},
    }  # fmt: skip
    (work / "gate_results.json").write_text(json.dumps(results, indent=1, default=str))
    write_universal_report(results, Path(args.report))
    print(f"wrote {args.report}")
    return 0


def _committee(members: list[str], work: Path) -> dict:
    out = work / "committee.safetensors"
    steps.nextham_cli("committee", *members, "--out", str(out))
    return {"model": str(out), "uncertainty": read_model_metadata(out)["uncertainty"]}


if __name__ == "__main__":
    raise SystemExit(main())
