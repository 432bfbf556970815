"""The dataset card and the cost projection, on a dataset with known contents."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms
from records import random_record

from nextham.cli.main import main
from nextham.dft.settings import EngineSettings
from nextham.generate.cost import (
    calibrated_projection,
    prior_ratio,
    projected_seconds,
    spent_seconds,
    structure_seconds,
    within_budget,
)
from nextham.store.card import dataset_card, failure_cause
from nextham.store.dataset import Dataset

BASIS = {14: (0, 1), 8: (0, 1), 6: (0, 1)}


def _atoms(symbols: str, prototype: str) -> Atoms:
    n = len(Atoms(symbols))
    atoms = Atoms(symbols, positions=np.arange(3 * n).reshape(n, 3) * 0.9, cell=np.eye(3) * 6,
                  pbc=True)  # fmt: skip
    atoms.info["prototype"] = prototype
    return atoms


@pytest.fixture()
def dataset(tmp_path):
    structures = [
        ("SiO2_rutile", _atoms("SiO2", "rutile")),
        ("SiC_zb", _atoms("SiC", "zb")),
        ("CO_rs", _atoms("CO", "rocksalt")),
        ("C2_diamond", _atoms("C2", "diamond")),
    ]
    ds = Dataset.create(tmp_path / "ds", EngineSettings(), structures)
    for k, (name, atoms) in enumerate(structures[:2]):
        record = random_record(BASIS, tuple(atoms.numbers), seed=k)
        record["meta"].update(time_h0_s=10.0, time_scf_s=20.0, time_ht_transform_s=5.0)
        ds.add(name, record)
    ds.fail("CO_rs", "spectral check failed: band error 3.28 eV at k = (0.1, 0, 0)")
    ds.fail("C2_diamond", "spectral check failed: band error 0.51 eV at k = (0, 0.2, 0)")
    return ds


def test_card_counts_per_element_prototype_and_cause(dataset):
    card = dataset_card(Dataset(dataset.path))
    assert (card["structures"], card["finished"], card["failed"]) == (4, 2, 2)
    assert card["label_s"] == pytest.approx(70.0)
    si, c, o = (card["by_element"][e] for e in ("Si", "C", "O"))
    assert (si["structures"], si["finished"], si["atoms"]) == (2, 2, 5)
    assert (c["structures"], c["finished"], c["failed"]) == (3, 1, 2)
    assert (o["structures"], o["failed"]) == (2, 1)
    assert card["by_prototype"]["rutile"]["label_s"] == pytest.approx(35.0)
    assert card["failures_by_cause"] == {"spectral check failed": 2}
    assert failure_cause("SCF did not converge in 60 cycles") == "SCF did not converge in # cycles"


def test_inspect_card_cli(dataset, tmp_path, capsys):
    out = tmp_path / "card.json"
    assert main(["inspect", str(dataset.path), "--card", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "per element" in text and "2 × spectral check failed" in text
    assert json.loads(out.read_text())["by_element"]["Si"]["finished"] == 2


def test_projection_scales_with_the_dearest_element():
    settings = EngineSettings(basis="szv-molopt-sr")
    si = structure_seconds(_atoms("Si2", "x"), settings)
    sio2 = structure_seconds(_atoms("SiO2", "x"), settings)
    assert si is not None and sio2 is not None and sio2 > 0
    big = structure_seconds(_atoms("Si4", "x"), settings)
    assert big == pytest.approx(4 * si)  # quadratic in the atom count
    dense = EngineSettings(basis="szv-molopt-sr", kmesh=(4, 4, 4))
    assert structure_seconds(_atoms("Si2", "x"), dense) == pytest.approx(8 * si)  # ∝ k-points
    total, unknown = projected_seconds([("a", _atoms("Si2", "x")), ("b", _atoms("Nd2", "x"))],
                                       settings)  # fmt: skip
    assert total == pytest.approx(si) and unknown == 1


def test_projection_calibrated_by_finished_labels():
    settings = EngineSettings(basis="szv-molopt-sr")
    si = structure_seconds(_atoms("Si2", "x"), settings)
    done = [("a", _atoms("Si2", "x")), ("b", _atoms("Nd2", "x"))]  # Nd: no table row, ignored
    entries = {"a": {"time_h0_s": 0.02 * si, "time_scf_s": 0.03 * si}, "b": {"time_scf_s": 1e6}}
    todo = [("c", _atoms("Si4", "x")), ("d", _atoms("Nd2", "x"))]
    p = calibrated_projection(todo, done, entries, settings)
    assert p.n_calibration == 1 and p.ratio == pytest.approx(0.05) and p.unknown == 1
    assert p.seconds == pytest.approx(0.05 * 4 * si)
    fresh = calibrated_projection(todo, [], {}, settings)
    assert fresh.ratio == 1.0 and fresh.n_calibration == 0
    assert fresh.seconds == pytest.approx(4 * si)
    # CPU seconds win over stage wall times; of 20 labels, one paused for an hour is trimmed
    entries = {f"n{i}": {"time_scf_s": 0.05 * si} for i in range(18)}
    entries["paused"] = {"time_scf_s": 3600.0 + 0.04 * si}
    entries["cpu"] = {"time_scf_s": 9.0 * si, "cpu_s": 0.07 * si}
    done = [(n, _atoms("Si2", "x")) for n in entries]
    p = calibrated_projection(todo, done, entries, settings)
    assert p.n_calibration == 20 and p.ratio == pytest.approx((18 * 0.05 + 0.07) / 19)
    assert spent_seconds(entries) == pytest.approx(3600.0 + (18 * 0.05 + 0.11) * si)


def test_budget_keeps_the_structures_projected_under_the_cap_calibrated():
    settings = EngineSettings(basis="szv-molopt-sr")
    si = structure_seconds(_atoms("Si2", "x"), settings)
    todo = [("big", _atoms("Si4", "x")), ("nd", _atoms("Nd2", "x")), ("small", _atoms("Si2", "x"))]
    assert [n for n, _ in within_budget(todo, [], {}, settings, 2 * si)] == ["small"]
    assert [n for n, _ in within_budget(todo, [], {}, settings, 4 * si)] == ["big", "small"]
    done = [("a", _atoms("Si2", "x"))]  # labels took half the projection: the cap reaches Si4
    entries = {"a": {"time_scf_s": 0.5 * si}}
    assert [n for n, _ in within_budget(todo, done, entries, settings, 2 * si)] == ["big", "small"]
    assert within_budget(todo, done, entries, settings, 0.4 * si) == []
    # nothing finished yet: a prior ratio (a campaign's other shards) calibrates the cap
    assert [n for n, _ in within_budget(todo, [], {}, settings, 2 * si, 0.5)] == ["big", "small"]
    # the structures' own labels win over the prior
    assert [n for n, _ in within_budget(todo, done, entries, settings, 2 * si, 0.01)] == [
        "big",
        "small",
    ]
    assert within_budget(todo, done, entries, settings, 0.4 * si, 0.01) == []


def test_prior_ratio_is_the_median_of_the_datasets_with_labels(tmp_path):
    settings = EngineSettings(basis="szv-molopt-sr")
    si = structure_seconds(_atoms("Si2", "x"), settings)
    for k, share in enumerate((0.05, 0.1, 0.3)):  # three shards, labels at these shares
        ds = Dataset.create(tmp_path / f"s{k}", settings, [("a", _atoms("Si2", "x"))])
        record = random_record({14: (0, 1)}, (14, 14), seed=k)
        record["meta"].update(time_h0_s=0.0, time_scf_s=share * si, time_ht_transform_s=0.0)
        ds.add("a", record)
    Dataset.create(tmp_path / "empty", settings, [("b", _atoms("Si2", "x"))])
    paths = [tmp_path / n for n in ("s0", "s1", "s2", "empty", "missing")]
    assert prior_ratio(paths) == pytest.approx(0.1)
    assert prior_ratio(paths[3:]) is None


def test_cards_of_several_datasets_add_up(dataset, tmp_path, capsys):
    from nextham.store.card import merged_card

    other = Dataset.create(tmp_path / "other", EngineSettings(), [("SiC_rs", _atoms("SiC", "rs"))])
    record = random_record(BASIS, (14, 6), seed=5)
    record["meta"].update(time_h0_s=1.0, time_scf_s=2.0, time_ht_transform_s=3.0)
    other.add("SiC_rs", record)
    one, two = dataset_card(Dataset(dataset.path)), dataset_card(Dataset(other.path))
    card = merged_card([one, two])
    assert (card["structures"], card["finished"], card["failed"]) == (5, 3, 2)
    assert card["pairs"] == one["pairs"] + two["pairs"]
    assert card["label_s"] == pytest.approx(76.0)
    assert card["by_element"]["Si"]["finished"] == 3 and card["by_element"]["C"]["structures"] == 4
    assert set(card["by_prototype"]) == {"rutile", "zb", "rocksalt", "diamond", "rs"}
    assert card["failures_by_cause"] == {"spectral check failed": 2}
    out = tmp_path / "card.json"
    assert main(["inspect", str(dataset.path), str(other.path), "--card", "--json", str(out)]) == 0
    assert "card of 2 datasets" in capsys.readouterr().out
    assert json.loads(out.read_text())["finished"] == 3
