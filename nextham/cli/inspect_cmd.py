"""Print a summary of a dataset: structures, elements, spin mode, sizes and costs."""

from __future__ import annotations

import argparse

HELP = "summarize a dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--entries", action="store_true", help="also list every entry")


def summarize(ds) -> dict:
    """Aggregate numbers of a dataset from its manifest (no entry is loaded)."""
    from ase.data import chemical_symbols

    entries = ds.manifest["entries"]
    rows = list(entries.values())
    size = sum(ds.entry_path(n).stat().st_size for n in entries if ds.entry_path(n).exists())
    settings = ds.manifest["settings"]
    errs = [r["roundtrip_error_ht_ev"] for r in rows if r.get("roundtrip_error_ht_ev") is not None]
    return {
        "structures": len(ds.manifest["names"]),
        "finished": len(entries),
        "failed": len(ds.manifest["failed"]),
        "elements": sorted({chemical_symbols[z] for r in rows for z in r["numbers"]}),
        "spin": settings["spin"],
        "basis": settings["basis"],
        "kmesh": settings["kmesh"] if settings.get("kspacing") is None else "per cell",
        "kspacing": settings.get("kspacing"),
        "atoms": sum(r["natoms"] for r in rows),
        "pairs": sum(r["n_edges"] for r in rows),
        "matrix_entries": sum(r["n_entries"] for r in rows),
        "disk_mb": size / 1e6,
        "h0_time_s": sum(r["time_h0_s"] or 0.0 for r in rows),
        "scf_time_s": sum(r["time_scf_s"] or 0.0 for r in rows),
        "scf_unconverged": sum(1 for r in rows if r["scf_converged"] is False),
        "max_roundtrip_error_mev": 1e3 * max(errs) if errs else None,
    }


def print_summary(ds, entries: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"dataset {ds.path}", show_header=False)
    for key, value in summarize(ds).items():
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


def run(args: argparse.Namespace) -> int:
    from nextham.store.dataset import Dataset

    print_summary(Dataset(args.dataset), args.entries)
    return 0
