"""Print a summary of a dataset: structures, elements, spin mode, sizes and costs."""

from __future__ import annotations

import argparse

HELP = "summarize a dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--entries", action="store_true", help="also list every entry")


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.cli.common import print_summary
    from nextham.store.dataset import Dataset

    print_summary(Dataset(args.dataset), args.entries)
    return 0
