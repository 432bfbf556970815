"""Output shared by several subcommands (a helper, not a command)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from nextham.store.dataset import Dataset
from nextham.store.summary import dataset_summary


def print_summary(ds: Dataset, entries: bool = False) -> None:
    """The dataset's summary table, optionally one row per entry, and its failures."""
    table = Table(title=f"dataset {ds.path}", show_header=False)
    for key, value in dataset_summary(ds).items():
        table.add_row(key, f"{value:.3g}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(table)
    if entries:
        t = Table("name", "atoms", "pairs", "SCF cycles", "H0 s", "SCF s")
        for name, r in ds.manifest["entries"].items():
            t.add_row(name, str(r["natoms"]), str(r["n_edges"]), str(r["scf_cycles"]),
                      f"{r['time_h0_s']:.1f}", f"{r['time_scf_s']:.1f}")  # fmt: skip
        console.print(t)
    for name, err in ds.manifest["failed"].items():
        console.print(f"[red]failed[/red] {name}: {err.splitlines()[0]}")
