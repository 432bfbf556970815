"""The subsets of benchmarks/gate_universal.py: held-out elements apart from compositions."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import gate_universal
from ase.build import bulk


class _Shard:
    """A dataset directory's name, entries and their atomic numbers (as the manifest has them)."""

    def __init__(self, path, numbers: dict[str, list[int]]):
        self.path = Path(path)
        self.names = list(numbers)
        self.manifest = {"entries": {n: {"numbers": z} for n, z in numbers.items()}}


def test_ood_structures_with_a_held_out_element_form_their_own_subset(monkeypatch, tmp_path):
    shards = {
        "s": _Shard(tmp_path / "s", {"CsCl_rocksalt_p0": [55, 17], "KH_rocksalt_p0": [19, 1],
                                     "NaCl_rocksalt_p0": [11, 17]}),
        "p": _Shard(tmp_path / "p", {"GeI_rocksalt_p0": [32, 53], "GeS_rocksalt_p0": [32, 16]}),
        "held": _Shard(tmp_path / "held", {"KCl_nickelarsenide": [19, 17]}),
    }  # fmt: skip
    meta = {
        "train_config": {"data": {"holdout_elements": ["Cs", "I"]}},
        "split": {"test": ["s/NaCl_rocksalt_p0"],
                  "ood": ["s/CsCl_rocksalt_p0", "s/KH_rocksalt_p0", "p/GeI_rocksalt_p0"]},
    }  # fmt: skip
    monkeypatch.setattr(gate_universal, "read_model_metadata", lambda model: meta)
    monkeypatch.setattr(gate_universal, "Dataset", lambda p: shards[Path(p).name])
    got = gate_universal.subsets("m", {k: v.path for k, v in shards.items() if k != "held"},
                                 str(tmp_path / "held"))  # fmt: skip
    names = {k: [n for _, n in v] for k, v in got.items()}
    assert names == {
        "test": ["NaCl_rocksalt_p0"],
        "element": ["CsCl_rocksalt_p0", "GeI_rocksalt_p0"],
        "ood": ["KH_rocksalt_p0"],
        "prototype": ["KCl_nickelarsenide"],
    }
    meta["train_config"]["data"]["holdout_elements"] = []  # no element held out: no such table
    assert "element" not in gate_universal.subsets(
        "m", {"s": shards["s"].path}, str(tmp_path / "held")
    )


def test_held_out_prototypes_skip_compositions_without_a_training_structure(monkeypatch, tmp_path):
    kcl = bulk("KCl", "rocksalt", a=6.3)

    class _Labelled:
        def structures(self):
            return [("KCl_rocksalt_p0", kcl), ("NaCl_rocksalt_p0", bulk("NaCl", "rocksalt", 5.6))]

    monkeypatch.setattr(gate_universal, "Dataset", lambda p: _Labelled())
    held = {"nickelarsenide": ("rocksalt", [("K", "Cl"), ("Na", "Cl"), ("Li", "H")])}
    monkeypatch.setattr(gate_universal, "HELDOUT", held)
    meta = {"split": {"train": ["s/KCl_rocksalt_p0"], "test": ["s/NaCl_rocksalt_p0"]}}
    files, skipped = gate_universal.heldout_structures(meta, {"s": tmp_path}, tmp_path / "out")
    assert [Path(f).name for f in files] == ["KCl_nickelarsenide.extxyz"]
    assert Path(files[0]).is_file()
    assert skipped == ["NaCl nickelarsenide", "LiH nickelarsenide"]  # test split, unlabelled
