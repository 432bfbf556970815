"""Training: resume after SIGKILL reproduces the trajectory, DDP equals one process, evaluate."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from ase.build import bulk
from model_kit import train_config_file as _config
from safetensors.torch import load_file

from nextham.cli.main import main
from nextham.errors import InputError
from nextham.generate.runner import build_dataset
from nextham.model.files import load_model
from nextham.train.config import TrainConfig
from nextham.train.loop import prepare_data


def _val_curve(out):
    lines = (out / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    col = header.index("val_gauge_mae_meV")
    return [float(line.split(",")[col]) for line in lines[1:]]


def test_train_resume_after_sigkill_reproduces_trajectory(tmp_path, tiny_dataset):
    # both runs in fresh processes alike (the test process's own state does not enter)
    ref = tmp_path / "ref"
    ref_cmd = [sys.executable, "-m", "nextham.cli.main", "train"]
    ref_cmd += [str(_config(tmp_path, tiny_dataset, ref)), "--quiet"]
    assert subprocess.run(ref_cmd, capture_output=True).returncode == 0
    out = tmp_path / "killed"
    cfg = _config(tmp_path, tiny_dataset, out)
    cmd = [sys.executable, "-m", "nextham.cli.main", "train", str(cfg), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "checkpoint" / "last.json").exists():
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads((out / "checkpoint" / "last.json").read_text())["epoch"]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert len(_val_curve(out)) == 3
    np.testing.assert_allclose(_val_curve(out), _val_curve(ref), rtol=1e-5)
    assert done < 2 or proc.returncode is not None  # the kill happened mid-run or at its end
    w_ref = load_file(ref / "model.safetensors")
    w_out = load_file(out / "model.safetensors")
    for k in w_ref:  # float32 Adam: a weight whose gradient is near 0 may move by ~1e-2 lr
        np.testing.assert_allclose(w_out[k].numpy(), w_ref[k].numpy(), rtol=1e-3, atol=1e-5)


def test_ema_resume_and_saved_model_is_the_average(tmp_path, tiny_dataset):
    """With optim.ema_decay the checkpoint carries the average, a resumed run repeats the
    uninterrupted one, and the saved model holds the averaged (not the last) parameters.
    A constant learning rate makes 2 epochs + 1 more the same schedule as 3 epochs."""
    opt = {"ema_decay": 0.9, "min_lr_ratio": 1.0}
    ref = tmp_path / "ema_ref"
    cfg = _config(tmp_path, tiny_dataset, ref, epochs=3, max_edges=300, **opt)
    assert main(["train", str(cfg), "--quiet"]) == 0
    out = tmp_path / "ema_resumed"
    for epochs in (2, 3):
        cfg = _config(tmp_path, tiny_dataset, out, epochs=epochs, max_edges=300, **opt)
        assert main(["train", str(cfg), "--quiet"]) == 0
    np.testing.assert_allclose(_val_curve(out), _val_curve(ref), rtol=1e-6)
    doc = json.loads((ref / "checkpoint" / "last.json").read_text())
    ckpt = load_file(ref / "checkpoint" / doc["tensors"])
    assert doc["ema_updates"] > 3  # several steps per epoch (max_edges holds one cell)
    raw = {k[6:]: v for k, v in ckpt.items() if k.startswith("model/")}
    avg = {k[4:]: v for k, v in ckpt.items() if k.startswith("ema/")}
    assert set(avg) <= set(raw) and avg
    assert max(float((avg[k] - raw[k]).abs().max()) for k in avg) > 1e-6
    assert doc["best"]["epoch"] == 2  # the validation error falls: the last epoch was saved
    saved = load_file(ref / "model.safetensors")
    for k, v in avg.items():
        np.testing.assert_allclose(saved[k].numpy(), v.numpy(), rtol=1e-6, atol=1e-8)


def test_resume_refuses_a_checkpoint_with_other_h0_squash(tmp_path, tiny_dataset, capsys):
    """A checkpoint written before ``h0_squash`` existed (no key in last.json) was trained
    without it: resuming under the new default is refused with the fix named; with the
    setting given the run resumes."""
    out = tmp_path / "old"
    cfg = _config(tmp_path, tiny_dataset, out, epochs=1)
    assert main(["train", str(cfg), "--quiet"]) == 0
    last = out / "checkpoint" / "last.json"
    doc = json.loads(last.read_text())
    assert doc.pop("h0_squash") is True
    last.write_text(json.dumps(doc))
    cfg = _config(tmp_path, tiny_dataset, out, epochs=2)
    assert main(["train", str(cfg), "--quiet"]) == 2
    assert "model.h0_squash: false" in capsys.readouterr().err
    data = yaml.safe_load(cfg.read_text())
    data["model"] = {**data["model"], "h0_squash": False}
    cfg.write_text(yaml.safe_dump(data))
    assert main(["train", str(cfg), "--quiet"]) == 0
    assert json.loads(last.read_text())["epoch"] == 1 and len(_val_curve(out)) == 2


def test_ema_decay_out_of_range_is_an_input_error(tmp_path, tiny_dataset, capsys):
    cfg = _config(tmp_path, tiny_dataset, tmp_path / "bad_ema", epochs=1, ema_decay=1.5)
    assert main(["train", str(cfg), "--quiet"]) == 2
    assert "optim.ema_decay must lie in [0, 1)" in capsys.readouterr().err


def test_ddp_two_processes_equal_one(tmp_path, tiny_dataset):
    torchrun = shutil.which("torchrun") or pytest.fail("torchrun not found next to torch")
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", str(_config(tmp_path, tiny_dataset, one, epochs=2)), "--quiet"]) == 0
    cfg = _config(tmp_path, tiny_dataset, two, epochs=2)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [torchrun, "--nproc_per_node=2", "--master_port=29533", "-m", "nextham.cli.main",
         "train", str(cfg), "--quiet"], capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    w1, w2 = load_file(one / "model.safetensors"), load_file(two / "model.safetensors")
    for k in w1:
        np.testing.assert_allclose(w2[k].numpy(), w1[k].numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_val_curve(two), _val_curve(one), rtol=1e-5)


def test_evaluate_reports_model_and_baselines(tmp_path, tiny_dataset, capsys):
    out = tmp_path / "run"
    assert main(["train", str(_config(tmp_path, tiny_dataset, out, epochs=1)), "--quiet"]) == 0
    report_path = tmp_path / "eval.json"
    rc = main(["evaluate", str(out / "model.safetensors"), str(tiny_dataset), "--split", "test",
               "--kmesh", "2,2,2", "--json", str(report_path)])  # fmt: skip
    assert rc == 0
    report = json.loads(report_path.read_text())
    assert set(report["summary"]) == {"model", "zero_correction", "zero_hamiltonian"}
    h0 = report["summary"]["zero_correction"]["gauge_mae"]["overall"]["mae_meV"]
    zero = report["summary"]["zero_hamiltonian"]["gauge_mae"]["overall"]["mae_meV"]
    assert 0 < h0 < zero
    assert "zero_correction" in capsys.readouterr().out.replace("\n", "")


def test_holdout_elements_form_the_ood_split(tmp_path, tiny_dataset):
    """Structures with a held-out element never enter train/val/test; evaluate --split ood."""
    from nextham.store.dataset import Dataset

    si = tmp_path / "si"
    atoms = bulk("Si", "diamond", a=5.43)
    build_dataset(si, [("si0", atoms)], Dataset(tiny_dataset).settings, spectral_gate=False)
    cfg = {"data": {"datasets": [str(tiny_dataset), str(si)], "holdout_elements": ["Si"]}}
    data = prepare_data(TrainConfig.from_dict(cfg))
    assert [data.names[i] for i in data.ood] == ["si/si0"]
    assert sorted(data.train + data.val + data.test) == list(range(6))
    with pytest.raises(Exception, match="not element symbols"):
        TrainConfig.from_dict({"data": {"datasets": ["x"], "holdout_elements": ["Xx"]}})


def test_bad_model_file(tmp_path, tiny_dataset, capsys):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x00" * 64)
    assert main(["evaluate", str(bad), str(tiny_dataset)]) == 2
    assert "not a safetensors model file" in capsys.readouterr().err


def test_bad_config(tmp_path, tiny_dataset, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"datasets": [str(tiny_dataset)]}, "optimizer": {}}))
    assert main(["train", str(path)]) == 2
    assert "unknown top-level config keys ['optimizer']" in capsys.readouterr().err


def test_streamed_records_train_exactly_like_cached_ones(tmp_path, tiny_dataset):
    """A cache of about two records (the store is read again and again) gives the same
    trajectory and model as a cache holding everything; the cache never exceeds its budget."""

    runs = {}
    for name, cache_mb in (("all", 4000.0), ("two", None)):
        cfg = yaml.safe_load(_config(tmp_path, tiny_dataset, tmp_path / name, epochs=2).read_text())
        if cache_mb is None:
            data = prepare_data(TrainConfig.from_dict(cfg))
            cache_mb = 2.5 * max(r.nbytes for r in data.refs) / 2**20
        cfg["data"]["cache_mb"] = cache_mb
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        assert main(["train", str(path)]) == 0
        runs[name] = (_val_curve(tmp_path / name), load_file(tmp_path / name / "model.safetensors"))
    assert runs["all"][0] == runs["two"][0]
    assert runs["all"][1].keys() == runs["two"][1].keys()
    assert all(np.array_equal(runs["all"][1][k], runs["two"][1][k]) for k in runs["all"][1])
    data = prepare_data(
        TrainConfig.from_dict({**cfg, "data": {**cfg["data"], "cache_mb": cache_mb}})
    )
    for _ in range(2):
        for i in range(len(data.records)):
            data.records[i]
    assert data.records.peak_bytes <= cache_mb * 2**20
    assert data.records.loads == 2 * len(data.records)  # each pass reads the store again


def test_element_balanced_sampling():
    from nextham.train.sampling import element_weights, epoch_structures

    elements = [(14, 14)] * 90 + [(32, 32)] * 10  # Si in 90 structures, Ge in 10
    w = element_weights(elements)
    assert np.isclose(w[:90].sum(), 0.5) and np.isclose(w[90:].sum(), 0.5)
    mixed = element_weights([(14,), (14, 32), (32,)])  # n_Si = n_Ge = 2
    assert np.allclose(mixed, [1 / 3] * 3)
    train = list(range(100, 200))
    draw = epoch_structures(train, elements, "element", seed=3, epoch=5, size=4000)
    assert draw == epoch_structures(train, elements, "element", seed=3, epoch=5, size=4000)
    assert draw != epoch_structures(train, elements, "element", seed=3, epoch=6, size=4000)
    ge = sum(i >= 190 for i in draw) / len(draw)
    assert 0.45 < ge < 0.55  # unbalanced: 0.10
    assert epoch_structures(train, elements, "none", 3, 5) == train
    # tempered: τ = 0.5 puts Ge between its share (0.1) and the full balance (0.5)
    half = element_weights(elements, 0.5)[90:].sum()
    assert np.isclose(half, 10 * 0.1**0.5 / (10 * 0.1**0.5 + 90 * (1 / 90) ** 0.5))
    assert np.allclose(element_weights(elements, 0.0), 0.01)
    with pytest.raises(InputError, match=r"data\.balance_power"):
        TrainConfig.from_dict({"data": {"datasets": ["x"], "balance_power": 2.0}})
    with pytest.raises(InputError, match=r"data\.balance"):
        TrainConfig.from_dict({"data": {"datasets": ["x"], "balance": "elements"}})


def test_holdout_pairs_keep_every_structure_with_both_elements_out():
    """A held-out pair removes the structures holding both elements, not those with one."""
    from nextham.train.holdout import binary_pairs, draw_pairs, held_out, pair_name, parse_pair

    numbers = [(31, 33), (31, 15), (13, 33), (31, 31), (31, 33, 8, 8), (33, 33)]
    assert parse_pair("As-Ga") == parse_pair("Ga-As") == (31, 33)
    assert pair_name((31, 33)) == "Ga-As"
    assert held_out(numbers, set(), [(31, 33)]) == [0, 4]
    assert held_out(numbers, {15}, [(31, 33)]) == [0, 1, 4]
    assert binary_pairs(numbers) == [(13, 33), (15, 31), (31, 33)]
    drawn = draw_pairs(numbers, 0.5, seed=3)
    assert len(drawn) == 2 and set(drawn) <= set(binary_pairs(numbers))
    assert drawn == draw_pairs(numbers, 0.5, seed=3)  # seeded: a resumed run draws the same
    assert draw_pairs(numbers, 0.0, seed=3) == []
    for bad in ("Ga", "Ga-Ga", "Ga-Xx", "Ga-As-P"):
        with pytest.raises(Exception, match="pair of two elements"):
            parse_pair(bad)


def test_holdout_pairs_form_the_ood_split(tmp_path, tiny_dataset):
    from nextham.store.dataset import Dataset

    extra = tmp_path / "extra"
    build_dataset(extra, [("sic", bulk("SiC", "zincblende", a=4.36))],
                  Dataset(tiny_dataset).settings, spectral_gate=False)  # fmt: skip
    cfg = {"data": {"datasets": [str(tiny_dataset), str(extra)], "holdout_pairs": ["Si-C"]}}
    data = prepare_data(TrainConfig.from_dict(cfg))
    assert [data.names[i] for i in data.ood] == ["extra/sic"]
    assert data.holdout_pairs == ((6, 14),)
    assert sorted(data.train + data.val + data.test) == list(range(6))
    with pytest.raises(Exception, match="holdout_pair_fraction"):
        TrainConfig.from_dict({"data": {"datasets": ["x"], "holdout_pair_fraction": 1.5}})


def test_evaluate_several_datasets_together(tmp_path, tiny_dataset):
    """A campaign's shards are evaluated as one set: names carry their dataset, groups span."""
    from nextham.store.dataset import Dataset

    extra = tmp_path / "extra"
    build_dataset(extra, [("sic", bulk("SiC", "zincblende", a=4.36))],
                  Dataset(tiny_dataset).settings, spectral_gate=False)  # fmt: skip
    out = tmp_path / "run"
    cfg_path = _config(tmp_path, tiny_dataset, out, epochs=1)
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["data"]["datasets"].append(str(extra))
    cfg["data"]["holdout_pairs"] = ["Si-C"]
    cfg_path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(cfg_path), "--quiet"]) == 0
    report_path = tmp_path / "eval.json"
    rc = main(["evaluate", str(out / "model.safetensors"), str(tiny_dataset), str(extra),
               "--split", "ood", "--kmesh", "1,1,1", "--by", "element",
               "--json", str(report_path)])  # fmt: skip
    assert rc == 0
    report = json.loads(report_path.read_text())
    assert list(report["structures"]) == ["extra/sic"]  # tiny has no ood entry: passed over
    assert list(report["by"]["element"]) == ["C", "Si"]
    rc = main(["evaluate", str(out / "model.safetensors"), str(tiny_dataset), str(extra),
               "--kmesh", "1,1,1", "--json", str(report_path)])  # fmt: skip
    names = list(json.loads(report_path.read_text())["structures"])
    assert rc == 0 and len(names) == 7 and names[-1] == "extra/sic"
    assert all(n.startswith("tiny/") for n in names[:6])


def test_pair_scales_auto_are_computed_stored_and_loaded(tmp_path, tiny_dataset):

    out = tmp_path / "run"
    cfg_path = _config(tmp_path, tiny_dataset, out, epochs=1)
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["model"] = {**cfg["model"], "pair_scales": "auto"}
    cfg_path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(cfg_path), "--quiet"]) == 0
    model, _ = load_model(out / "model.safetensors")
    scales = model.config.pair_scales
    assert set(scales) == {"6", "6-6"} and all(v > 0 for v in scales.values())
    assert scales["6"] != scales["6-6"]  # on-site and other carbon blocks differ


def test_entries_whose_scf_did_not_converge_are_left_out(tmp_path, tiny_dataset, capsys):
    """A dataset written before `generate` refused unconverged SCFs: training leaves such an
    entry out of every split and says so."""
    from nextham.record import keys as K
    from nextham.store.dataset import Dataset

    data = tmp_path / "tiny"
    shutil.copytree(tiny_dataset, data)
    ds = Dataset(data)
    bad = ds.names[2]
    record = ds.load(bad)
    record[K.META]["scf_converged"] = False
    ds.add(bad, record)
    cfg = TrainConfig.load(_config(tmp_path, data, tmp_path / "run", epochs=1))
    split = prepare_data(cfg)
    assert split.skipped == (f"tiny/{bad}",) and f"tiny/{bad}" not in split.names
    assert len(split.names) == len(ds.names) - 1
    assert main(["train", str(tmp_path / "run.yaml")]) == 0
    assert f"left out 1 entries whose SCF did not converge: tiny/{bad}" in capsys.readouterr().out
