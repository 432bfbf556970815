"""The split by base cell: a recipe's copies of one cell never straddle train and test."""

from __future__ import annotations

import pytest
from ase.build import bulk
from records import random_record

from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.store.dataset import Dataset
from nextham.train.config import TrainConfig
from nextham.train.data import cell_keys, split_groups, split_indices
from nextham.train.loop import prepare_data
from nextham.train.source import index_datasets


def test_groups_stay_together_and_fill_the_fractions():
    keys = [f"cell{i // 3}" for i in range(300)] + [f"single{i}" for i in range(60)]
    train, val, test = split_groups(keys, (0.8, 0.1, 0.1), seed=3)
    assert sorted(train + val + test) == list(range(len(keys)))
    part = {i: p for p, members in enumerate((train, val, test)) for i in members}
    for i, key in enumerate(keys):
        assert all(part[j] == part[i] for j, k in enumerate(keys) if k == key)
    assert abs(len(val) - 36) <= 2 and abs(len(test) - 36) <= 2
    assert split_groups(keys, (0.8, 0.1, 0.1), seed=3) == (train, val, test)
    assert split_groups(keys, (0.8, 0.1, 0.1), seed=4) != (train, val, test)
    distinct = split_groups([str(i) for i in range(50)], (0.8, 0.1, 0.1), seed=0)
    assert [len(p) for p in distinct] == [len(p) for p in split_indices(50, (0.8, 0.1, 0.1), 0)]


def test_small_sets_still_get_a_validation_and_a_test_group():
    keys = ["a", "a", "a", "b", "b", "c", "d"]
    train, val, test = split_groups(keys, (0.8, 0.1, 0.1), seed=0)
    assert train and val and test
    with pytest.raises(InputError, match="too few"):
        split_groups(["a", "a"], (0.0, 0.5, 0.5), seed=0)


def test_cell_keys_come_from_the_recipe_info(tmp_path):
    cells = []
    for k, (comp, proto) in enumerate([("Si", "diamond"), ("Si", "diamond"), ("C", "diamond")]):
        atoms = bulk(comp, "diamond", a=5.43 if comp == "Si" else 3.57)
        atoms.info.update(composition=comp, prototype=proto, variant=f"p{k}")
        cells.append((f"{comp}_diamond_p{k}", atoms))
    cells.append(("file_cell", bulk("Ge", "diamond")))
    ds = Dataset.create(tmp_path / "ds", EngineSettings(), cells)
    for seed, (name, _) in enumerate(cells):
        ds.add(name, random_record(seed=seed))
    refs, _, _ = index_datasets([str(ds.path)])
    assert cell_keys([str(ds.path)], refs) == [
        "Si/diamond",
        "Si/diamond",
        "C/diamond",
        "ds/file_cell",
    ]
    for seed in range(6):  # training's split keeps the two Si copies in one part
        cfg = {"data": {"datasets": [str(ds.path)], "split_by": "cell", "seed": seed,
                        "split": [0.5, 0.25, 0.25]}}  # fmt: skip
        data = prepare_data(TrainConfig.from_dict(cfg))
        assert any({0, 1} <= set(p) for p in (data.train, data.val, data.test))


def test_split_by_is_checked():
    with pytest.raises(InputError, match="split_by"):
        TrainConfig.from_dict({"data": {"datasets": ["x"], "split_by": "element"}})
    assert (
        TrainConfig.from_dict({"data": {"datasets": ["x"], "split_by": "cell"}}).data.split_by
        == "cell"
    )


def _parts(keys, split, stable=True, seed=0):
    parts = split_groups(keys, split, seed, stable=stable)
    return {keys[i]: p for p, members in enumerate(parts) for i in members}


def test_stable_split_keeps_every_part_when_the_data_grow():
    """With ``stable`` a key's part depends on the key and the seed alone: a larger, reordered
    list keeps every earlier key where it was (the shuffled split moves some), and the
    fractions hold on average."""
    split = (0.8, 0.1, 0.1)
    small = [f"cell{i}" for i in range(400)]
    grown = [f"cell{i}" for i in range(1000)][::-1]
    before, after = _parts(small, split), _parts(grown, split)
    assert all(after[k] == p for k, p in before.items())
    counts = [sum(p == q for p in after.values()) for q in range(3)]
    assert abs(counts[1] - 100) < 35 and abs(counts[2] - 100) < 35
    shuffled_before, shuffled_after = _parts(small, split, False), _parts(grown, split, False)
    assert any(shuffled_after[k] != p for k, p in shuffled_before.items())
    assert _parts(small, split, seed=1) != before  # the seed draws another split
    copies = ["a", "a", "b", *small]  # equal keys stay together
    train, val, test = split_groups(copies, split, 0, stable=True)
    assert any({0, 1} <= set(p) for p in (train, val, test))


def test_stable_pairs_keep_their_fate_when_the_data_grow():
    from nextham.train.holdout import binary_pairs, draw_pairs

    numbers = [(a, b) for a in range(1, 30) for b in range(a + 1, 30)]
    few = numbers[::7]
    drawn_few = set(draw_pairs(few, 0.2, seed=5, stable=True))
    drawn_all = set(draw_pairs(numbers, 0.2, seed=5, stable=True))
    assert drawn_few == drawn_all & set(binary_pairs(few)) and drawn_few
    assert abs(len(drawn_all) / len(binary_pairs(numbers)) - 0.2) < 0.07
    assert draw_pairs([(1, 2)], 0.01, seed=5, stable=True) == [(1, 2)]  # at least one
    assert draw_pairs(numbers, 0.0, seed=5, stable=True) == []


def test_stable_split_through_the_config(tmp_path):
    cells = [(f"c{k}", bulk("Si", "diamond", a=5.4 + 0.01 * k)) for k in range(12)]
    ds = Dataset.create(tmp_path / "ds", EngineSettings(), cells)
    for seed, (name, _) in enumerate(cells):
        ds.add(name, random_record(seed=seed))
    cfg = {"data": {"datasets": [str(ds.path)], "stable_split": True, "split": [0.5, 0.25, 0.25]}}
    data = prepare_data(TrainConfig.from_dict(cfg))
    keys = [f"ds/c{k}" for k in range(12)]
    expected = split_groups(keys, (0.5, 0.25, 0.25), 0, stable=True)
    assert (data.train, data.val, data.test) == expected
    with pytest.raises(InputError, match="stable_split"):
        TrainConfig.from_dict({"data": {"datasets": ["x"], "stable_split": "yes"}})
