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
