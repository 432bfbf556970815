"""Print a summary of a dataset: structures, elements, spin mode, sizes and costs."""

from __future__ import annotations

import argparse

HELP = "summarize a dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", nargs="+",
                   help="dataset directory; with --card several (a campaign's shards) give "
                        "one card")  # fmt: skip
    p.add_argument("--entries", action="store_true", help="also list every entry")
    p.add_argument("--card", action="store_true",
                   help="the dataset card: structures, pairs and cost per element and "
                        "prototype, failures by cause")  # fmt: skip
    p.add_argument("--json", default=None, help="with --card: also write the card as JSON")


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.cli.common import print_card, print_summary
    from nextham.store.dataset import Dataset

    datasets = [Dataset(d) for d in args.dataset]
    for ds in datasets:
        print_summary(ds, args.entries)
    if args.card or args.json:
        print_card(datasets, args.json)
    return 0
