"""The benchmark recipe end to end in its tiny mode: data, nextham and its ablations, baselines,
out-of-distribution and spin–orbit subsets, speed and scaling tables, the report; and resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def _run(work: Path, report: Path, *extra: str) -> None:
    cmd = [sys.executable, str(RUN), "--mode", "tiny", "--work", str(work),
           "--report", str(report), "--no-deeptb", *extra]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def test_tiny_recipe_end_to_end(tmp_path):
    work, report = tmp_path / "work", tmp_path / "report.md"
    # one variant first, as a second process would: only it is trained, and the full run reuses it
    _run(work, report, "--part", "variants", "--variants", "no_h0_input")
    assert {p.name for p in work.glob("train_*.json")} == {"train_no_h0_input.json"}
    assert not report.exists()
    early = (work / "train_no_h0_input.json").read_text()
    _run(work, report)
    assert (work / "train_no_h0_input.json").read_text() == early
    res = json.loads((work / "results.json").read_text())
    assert set(res["eval"]) == {"nextham", "no_kspace", "no_tracegrad", "no_h0_input", "soc"}
    test = res["eval"]["nextham"]["test"]["summary"]
    mae = {k: v["gauge_mae"]["overall"]["mae_meV"] for k, v in test.items()}
    assert 0 < mae["zero_correction"] < mae["zero_hamiltonian"] and mae["model"] > 0
    # the held-out element forms the ood subset and never enters training
    _, ood = res["eval"]["nextham"]["test"]["names"], res["eval"]["nextham"]["ood"]["names"]
    assert ood and all("Si" in n for n in ood)
    assert res["data"]["scalar"]["n_structures"] == 8 and res["data"]["soc"]["n_structures"] == 6
    # the spin–orbit model: scalar, on the GTH labels' scalar part, SiC (the held-out pair) its
    # ood subset; its predictions are spinor (H0 + ΔH ⊗ I₂) with Δ_SO on the zincblende cells
    soc = res["eval"]["soc"]
    assert soc["ood"]["names"] and all("SiC" in n or "CSi" in n for n in soc["ood"]["names"])
    spin = soc["ood"]["summary"]["model"]["gauge_mae"]["spin"]
    assert set(spin) >= {"uu_dd_real", "uu_dd_imag", "ud_du_real", "ud_du_imag"}
    assert spin["ud_du_real"]["mae_meV"] < 1e-6 and spin["ud_du_imag"]["mae_meV"] < 1e-6
    assert len(soc["ood"]["so_splitting"]["rows"]) == len(soc["ood"]["names"])
    # the ideal cell (SiC zincblende, no strain or rattle), evaluated whole with its Δ_SO
    assert res["data"]["soc_ideal"]["n_structures"] == 1
    assert "--strain" in res["data"]["soc_ideal"]["options"]
    assert len(soc["ideal"]["so_splitting"]["rows"]) == len(soc["ideal"]["names"]) == 1
    assert [r["atoms"] for r in res["scaling"]["rows"]] == [8, 16]
    text = report.read_text()
    for heading in ("## Test split", "## Out of distribution", "## Spin–orbit set: test",
                    "## Spin–orbit set: held-out element pairs C-Si",
                    "## Spin–orbit set: ideal zincblende cells",
                    "## Predict time", "## Model cost", "## Goals"):  # fmt: skip
        assert heading in text
    row = next(line for line in text.splitlines() if line.startswith("| H0 alone (no corr"))
    assert f"{mae['zero_correction']:.4g}" in row
    assert "without H0 input" in text and "DeePTB-E3 was not run" in text
    assert "- spin–orbit ood: band MAE" in text and "within 10 meV of the SCF: " in text
    assert "- spin–orbit ideal: band MAE" in text and "| cell | Δ_SO of the SCF (eV) |" in text
    # a rerun reuses every cached step and rewrites the same tables
    before = {p.name: p.read_text() for p in work.glob("*.json") if p.name != "results.json"}
    report.unlink()
    _run(work, report)
    after = {p.name: p.read_text() for p in work.glob("*.json") if p.name != "results.json"}
    assert before == after and report.read_text() == text
    _universal_part(tmp_path, work, report)


def _universal_part(tmp_path: Path, work: Path, report: Path) -> None:
    """A one-shard "campaign" (C, Si, SiC) and a small model with the Si–C pair held out:
    the report gains the universal model's section, the old set relabelled with its settings."""
    sys.path.insert(0, str(RUN.parent))
    from suite.recipe import RECIPES, TINY_ENGINE, TINY_MODEL

    camp = tmp_path / "campaign"
    structures = ["--elements", "C,Si", "--elemental-prototypes", "diamond", "--binaries",
                  "Si-C", "--binary-prototypes", "zincblende", "--n", "2",
                  "--seed", "1"]  # fmt: skip
    nextham = [sys.executable, "-m", "nextham.cli.main"]
    subprocess.run([*nextham, "generate", str(camp / "p-light"), *structures, *TINY_ENGINE],
                   check=True, capture_output=True)  # fmt: skip
    config = {"data": {"datasets": [str(camp / "p-light")], "split": [0.5, 0.25, 0.25],
                       "holdout_pairs": ["C-Si"], "max_edges": 3000},
              "model": {**TINY_MODEL, "overlap_shift": True},
              "optim": RECIPES["tiny"].optim, "out": str(tmp_path / "uni")}  # fmt: skip
    (tmp_path / "uni.json").write_text(json.dumps(config))
    subprocess.run([*nextham, "train", str(tmp_path / "uni.json"), "--quiet"], check=True,
                   capture_output=True)  # fmt: skip
    model = tmp_path / "uni" / "model.safetensors"
    _run(work, report, "--universal-data", str(camp), "--universal-model", str(model))
    res = json.loads((work / "results.json").read_text())["universal"]
    assert res["eval"]["ood"]["names"] and all(
        "SiC" in n or "CSi" in n for n in res["eval"]["ood"]["names"]
    )
    assert set(res["eval"]["test"]["by"]["block"]) == {"p"}
    assert res["old_set"]["ood"]["names"] == res["old_eval"]["ood"]["names"]
    text = report.read_text()
    for heading in ("## The universal model", "### Unseen compositions", "Worst ten",
                    "### The old small model's structures", "### Goals (issue 22)"):  # fmt: skip
        assert heading in text
    assert "unseen compositions: universal / H0 Gauge MAE" in text
    # predictions given by name (DeePTB's path): H0 itself scores as the H0 baseline
    from suite.universal import evaluate_predictions

    from nextham.model.files import read_model_metadata
    from nextham.record import keys as K
    from nextham.store.dataset import Dataset

    shard = Dataset(camp / "p-light")
    names = read_model_metadata(model)["split"]["ood"]  # "<shard>/<entry>" labels
    h0 = {n: shard.load(n.split("/", 1)[1])[K.H0] for n in names}
    ev = evaluate_predictions(h0, [str(camp / "p-light")], (2, 2, 2))
    gauge = {k: v["gauge_mae"]["overall"]["mae_meV"] for k, v in ev["summary"].items()}
    assert gauge["model"] == gauge["zero_correction"] > 0 and len(ev["names"]) == len(names)
    assert ev["names"] == sorted(names) and all(
        s["model"] == s["zero_correction"] for s in ev["structures"].values()
    )


def test_variants_option_rejects_unknown_names(tmp_path):
    cmd = [sys.executable, str(RUN), "--mode", "tiny", "--work", str(tmp_path / "w"),
           "--part", "variants", "--variants", "nextham,no_such"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 2 and "no_such" in res.stderr and not (tmp_path / "w").exists()


_WORKER = """
import sys, time
sys.path.insert(0, {bench!r})
from pathlib import Path
from suite.steps import cached

def compute():
    with open({log!r}, "a") as f:
        f.write("computed\\n")
    time.sleep(1.0)
    return {{"value": 42}}

print(cached(Path({path!r}), compute)["value"])
"""


def test_cached_step_runs_once_across_processes(tmp_path):
    """Two processes asking for the same step: one computes, the other waits and reads it."""
    log, path = tmp_path / "log.txt", tmp_path / "work" / "step.json"
    code = _WORKER.format(bench=str(RUN.parent), log=str(log), path=str(path))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["42", "42"]
    assert log.read_text().splitlines() == ["computed"]
    assert json.loads(path.read_text()) == {"value": 42}


def test_soc_model_of_the_documented_modes_fine_tunes_the_shipped_model(tmp_path):
    """small and full: the spin–orbit model starts from the shipped universal model's first
    member with the k-space loss, a config `nextham train` reads; tiny trains from scratch."""
    sys.path.insert(0, str(RUN.parent))
    from suite.recipe import RECIPES, SOC_FINE_TUNE_LOSS, soc_config

    from nextham.predict.predictor import default_model_path
    from nextham.train.config import TrainConfig

    for mode in ("small", "full"):
        cfg = soc_config(RECIPES[mode], str(tmp_path / "soc"), str(tmp_path / "out"))
        assert "model" not in cfg and cfg["init_from"] == str(default_model_path())
        parsed = TrainConfig.from_dict(cfg)
        assert parsed.init_member == 0 and parsed.data.scalar_part
        assert parsed.loss.as_dict()["k_pp"] == SOC_FINE_TUNE_LOSS["k_pp"] > 0
    tiny = soc_config(RECIPES["tiny"], str(tmp_path / "soc"), str(tmp_path / "out"))
    assert "init_from" not in tiny and tiny["model"] == RECIPES["tiny"].soc_model
