"""The ``nextham`` command: one entry point, one module per subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nextham import __version__
from nextham.cli import (
    bands,
    committee,
    evaluate,
    export,
    generate,
    import_cmd,
    inspect_cmd,
    optics,
    predict,
    scf,
    train,
)
from nextham.errors import USER_ERRORS

SUBCOMMANDS = {
    "generate": generate,
    "inspect": inspect_cmd,
    "import": import_cmd,
    "export": export,
    "train": train,
    "committee": committee,
    "evaluate": evaluate,
    "predict": predict,
    "bands": bands,
    "scf": scf,
    "optics": optics,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nextham",
        description="Learn and predict crystal Kohn–Sham Hamiltonians (scalar and spin–orbit).",
    )
    parser.add_argument("--version", action="version", version=f"nextham {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand.

    Bad input becomes one line on stderr and exit code 2 (set NEXTHAM_DEBUG=1 for the traceback).
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("NEXTHAM_DEBUG"):
            raise
        print(f"nextham {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
