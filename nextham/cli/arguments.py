"""Command-line options shared by several subcommands (argparse only: loaded with ``--help``)."""

from __future__ import annotations

import argparse


def add_verify_arguments(p: argparse.ArgumentParser, what: str = "each prediction") -> None:
    """``--verify`` / ``--no-verify`` (``args.verify``: ``always``/``never``, default ``auto``)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--verify", dest="verify", action="store_const", const="always",
                       default="auto",
                       help=f"check {what} against self-consistency (one Fock build of its "
                            "density; cells up to 64 atoms): the check sets the flag, and the H "
                            "closest to self-consistency (gated, raw or H0) is used. Default: "
                            "cells up to 4 atoms, and up to 16 atoms where the estimated flag "
                            "says warn/fail")  # fmt: skip
    group.add_argument("--no-verify", dest="verify", action="store_const", const="never",
                       help="never check, not even a small cell or one the estimated flag "
                            "doubts")  # fmt: skip
