"""`nextham generate --recipe universal`: the dry run (counts, skipped) and one-line errors;
nothing is computed and no dataset is written."""

from __future__ import annotations

import re

import pytest

from nextham.cli.main import main


def test_dry_run_lists_counts_and_skipped(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["generate", str(out), "--recipe", "universal", "--elements", "Sr,Ti,O,Cs,Nb,H",
            "--n", "1", "--dry-run"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert not out.exists()
    total = int(re.search(r"structures: (\d+) \(", text).group(1))
    per_shard = re.search(r"per shard: (.*)", text).group(1)
    assert sum(int(x.split()[-1]) for x in per_shard.split(", ")) == total
    assert "perovskite-tilted" in text and "SrTiO3" not in re.search("skipped.*", text).group(0)
    assert "skipped CsNbO3_perovskite: tolerance factor" in text
    assert "skipped H_reference: no reference crystal" in text
    shard = ["generate", str(out), "--recipe", "universal", "--elements", "Sr,Ti,O,Cs,Nb,H",
             "--n", "1", "--shard", "4d", "--dry-run"]  # fmt: skip
    assert main(shard) == 0
    assert re.search(r"per shard: 4d \d+\n", capsys.readouterr().out)


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--shard", "3d"], "add --recipe universal"),
        (["--recipe", "universal", "--shard", "9"], "unknown shard '9'"),
        (["--recipe", "nope"], "unknown recipe 'nope'"),
        (["--recipe", "universal", "--binaries", "Ga-As"], "drop --binaries"),
        (["--recipe", "universal", "--supercell", "2,2,2"], "drop --supercell"),
        (["--recipe", "universal", "--elements", "Si,Qq"], "unknown element"),
        (["--recipe", "universal", "--elements", "Si", "--n", "0"], "--n must be at least 1"),
    ],
)
def test_recipe_errors_one_line(tmp_path, capsys, extra, message):
    rc = main(["generate", str(tmp_path / "ds"), *extra, "--dry-run"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "ds").exists()


def test_generator_options_keep_their_defaults(tmp_path, capsys):
    argv = ["generate", str(tmp_path / "ds"), "--elements", "Si", "--dry-run"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "structures: 4 (6 atoms)" in text  # diamond (2 atoms) and fcc (1), two copies each
    assert "per prototype: diamond 2, fcc 2" in text
