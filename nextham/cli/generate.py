"""Compute S, H0 and HT for structures and store them as a dataset (resumable).

Structures come from files (any format ASE reads), from the built-in generator
(--elements/--binaries) or from a recipe (--recipe universal: prototypes over the periodic
table, --shard for one element group, docs/structures.md). With none, a small embedded default
(Si and C, diamond) is used. --dry-run lists what would be computed and what was skipped.
Rerunning the same command after an interruption skips finished structures.
"""

from __future__ import annotations

import argparse

from nextham.dft.settings import (
    H0_METHODS,
    MOLOPT_ELEMENTS,
    SCALAR_BASIS,
    SOC_METHODS,
    SPIN_MODES,
    EngineSettings,
    default_overlap_threshold,
)
from nextham.errors import InputError

HELP = "compute S, H0, HT with PySCF and store a dataset"


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in text.split(",") if w)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="dataset directory (created, or resumed if it exists)")
    p.add_argument("structures", nargs="*", help="structure files (POSCAR, CIF, extxyz, …)")
    g = p.add_argument_group("built-in generator")
    g.add_argument(
        "--elements", type=_words, default=(),
        help="elemental crystals, e.g. Si,C; with --recipe the element set (default: the 71 "
        "elements of the MOLOPT-SR basis families)",
    )  # fmt: skip
    g.add_argument("--binaries", type=_words, default=(), help="compounds A-B, e.g. Ga-As,Mg-O")
    g.add_argument("--elemental-prototypes", type=_words, default=None,
                   help="default diamond,fcc")  # fmt: skip
    g.add_argument("--binary-prototypes", type=_words, default=None,
                   help="default zincblende,rocksalt")  # fmt: skip
    g.add_argument("--n", type=int, default=None, help="distorted copies per prototype (2)")
    g.add_argument("--strain", type=float, default=None,
                   help="largest |strain| (0.03; 0.04 with --recipe)")  # fmt: skip
    g.add_argument("--rattle", type=float, default=None, help="Å (0.05)")
    g.add_argument("--supercell", type=_ints, default=None, help="default 1,1,1")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--recipe", default=None,
        help="universal: elemental, AB, AB2, ABX3 and MX2 prototypes over --elements, strained "
        "and rattled, some 8-16-atom supercells and vacancies (docs/structures.md)",
    )  # fmt: skip
    g.add_argument(
        "--cells",
        choices=("primitive", "supercell"),
        default=None,
        help="with --recipe: copies of the primitive cell plus some supercells (default), or "
        "every copy an 8-16-atom supercell (10-20x dearer)",
    )
    g.add_argument("--supercell-fraction", type=float, default=None,
                   help="with --recipe and --cells primitive: bases that also get a supercell "
                   "copy (0.25)")  # fmt: skip
    g.add_argument(
        "--shard", type=_words, default=(),
        help="with --recipe: element groups s,p-light,p-heavy,3d,4d,5d,4f,5f or their numbers "
        "1-8 (a structure belongs to the last group of its elements)",
    )  # fmt: skip
    p.add_argument(
        "--dry-run", action="store_true",
        help="list the structures per shard, prototype and element and the skipped ones; "
        "compute nothing",
    )  # fmt: skip
    e = p.add_argument_group("engine")
    d = EngineSettings  # every engine default is the settings object's own
    e.add_argument("--spin", choices=SPIN_MODES, default=d.spin)
    e.add_argument(
        "--soc-method", choices=SOC_METHODS, default=d.soc_method,
        help="with --spin soc: the spin–orbit term from SO-ECPs with def2 bases (ecp) or from "
        "the GTH pseudopotentials' spin–orbit projectors in the --basis family (gth)",
    )  # fmt: skip
    e.add_argument("--basis", choices=tuple(SCALAR_BASIS), default=d.basis)
    e.add_argument(
        "--kmesh", type=_ints, default=None,
        help=f"SCF k-mesh of every cell ({','.join(map(str, d.kmesh))})",
    )  # fmt: skip
    e.add_argument(
        "--kspacing",
        type=float,
        default=None,
        help="k-point spacing, Å⁻¹ (2π included): each cell's mesh from its size, replaces "
        "--kmesh (supercells then converge to the Hamiltonian of their primitive cell)",
    )
    e.add_argument("--smearing", type=float, default=d.smearing_ev, help="Fermi–Dirac width, eV")
    e.add_argument("--threshold", type=float, default=None,
                   help=f"overlap threshold of pairs (default {d.overlap_threshold:g}; the "
                   "basis family's own where it needs a tighter one: szv and szv-molopt-sr "
                   "1e-6, dzvp 1e-7)")  # fmt: skip
    e.add_argument("--cutoff", type=float, default=d.cutoff, help="pair cutoff radius, Å")
    e.add_argument("--ke-cutoff", type=float, default=d.ke_cutoff_ev, help="plane-wave cutoff, eV")
    e.add_argument(
        "--position-matrix",
        action="store_true",
        help="also store the position matrix <φ_i0|r|φ_jR> (exact optical velocities, the "
        "ABACUS rR export)",
    )
    e.add_argument(
        "--scalar-h0",
        action="store_true",
        help="with --spin soc: H0 without the spin–orbit term (ΔH then carries all of it)",
    )
    e.add_argument(
        "--method", choices=H0_METHODS, default="auto",
        help="label build: auto (default: multigrid where every element is verified against "
        "the reference, else reference), reference (FFT SCF, Fock matrix at every k of the "
        "transform mesh) or multigrid (multigrid SCF, H0 and HT folded straight to real "
        "space; GTH scalar runs)",
    )  # fmt: skip
    e.add_argument(
        "--no-spectral-gate", action="store_true",
        help="store labels that fail the spectral check (default: record them as failed); "
        "for quick trials with a loose --threshold, not for training data",
    )  # fmt: skip
    r = p.add_argument_group("execution")
    r.add_argument("--workers", type=int, default=1, help="local worker processes")
    r.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
    r.add_argument(
        "--limit", type=int, default=None,
        help="compute at most this many unfinished structures, then stop (one round of a "
        "campaign; structures are taken one per composition first)",
    )  # fmt: skip
    r.add_argument(
        "--max-label-seconds", type=float, default=None, metavar="S",
        help="compute only the unfinished structures whose projected label cost (one thread, "
        "calibrated on the finished labels as the printed projection is) is at most S seconds; "
        "a campaign run with rising caps labels its cheapest structures first",
    )  # fmt: skip
    r.add_argument(
        "--calibrate-from", action="append", default=[], metavar="DIR",
        help="(repeatable) other datasets, e.g. a campaign's other shards: while OUT has no "
        "finished label, the median of their spent/projected ratios calibrates the projection "
        "and --max-label-seconds",
    )  # fmt: skip


DEFAULT_SPEC = {"elements": ("Si", "C"), "elemental_prototypes": ("diamond",), "n_per_prototype": 1}


def _given(args: argparse.Namespace, names: dict[str, str]) -> dict:
    """The generator options the user gave (not None), renamed to the spec's fields."""
    return {field: getattr(args, opt) for opt, field in names.items()
            if getattr(args, opt) is not None}  # fmt: skip


def _recipe_structures(args: argparse.Namespace) -> tuple[list, list]:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.structures.universal import RECIPES, UniversalSpec, universal_structures

    if args.recipe not in RECIPES:
        raise InputError(f"unknown recipe {args.recipe!r}; choose from {', '.join(RECIPES)}")
    extra = [flag for flag, value in (
        ("structure files", args.structures), ("--binaries", args.binaries),
        ("--elemental-prototypes", args.elemental_prototypes),
        ("--binary-prototypes", args.binary_prototypes), ("--supercell", args.supercell),
    ) if value]  # fmt: skip
    if extra:
        raise InputError(
            f"--recipe picks its prototypes and 8-16-atom supercells; drop {', '.join(extra)}"
        )
    spec = UniversalSpec(
        elements=args.elements or MOLOPT_ELEMENTS, shards=args.shard, seed=args.seed,
        **_given(args, {"n": "n_per_prototype", "strain": "strain", "rattle": "rattle",
                        "cells": "cells", "supercell_fraction": "supercell_fraction"}),
    )  # fmt: skip
    return universal_structures(spec)


def structures_from_args(args: argparse.Namespace) -> tuple[list, list]:
    """(structures, skipped) of the command line: files, the generator or a recipe."""
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.structures.generate import GeneratorSpec, generate_structures
    from nextham.structures.read import read_structures

    if args.recipe is not None:
        return _recipe_structures(args)
    if args.shard:
        raise InputError("--shard selects part of a recipe; add --recipe universal")
    if args.cells is not None or args.supercell_fraction is not None:
        raise InputError("--cells and --supercell-fraction shape a recipe; add --recipe universal")
    if args.structures and (args.elements or args.binaries):
        raise InputError("give structure files or --elements/--binaries, not both")
    if args.structures:
        return read_structures(args.structures), []
    pairs = []
    for b in args.binaries:
        if b.count("-") != 1:
            raise InputError(f"binary {b!r} must be written A-B, e.g. Ga-As")
        pairs.append(tuple(b.split("-")))
    if not (args.elements or pairs):
        return generate_structures(GeneratorSpec(**DEFAULT_SPEC, seed=args.seed)), []
    options = {"elemental_prototypes": "elemental_prototypes",
               "binary_prototypes": "binary_prototypes", "n": "n_per_prototype",
               "strain": "strain", "rattle": "rattle", "supercell": "supercell"}  # fmt: skip
    spec = GeneratorSpec(
        elements=args.elements, binaries=tuple(pairs), seed=args.seed, **_given(args, options)
    )
    return generate_structures(spec), []


def print_dry_run(structures: list, skipped: list) -> None:
    """Counts per shard, prototype and element, and every skipped structure with its reason."""
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    from nextham.structures.universal import count_report

    r = count_report(structures, skipped)

    def row(title: str, counts: dict) -> None:
        print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    print(f"structures: {r['structures']} ({r['atoms']} atoms) over {r['elements']} elements")
    row("per shard", r["per_shard"])
    row("per prototype", r["per_prototype"])
    row("per element", r["per_element"])
    if r["skipped"]:
        row(f"skipped: {r['skipped']}", r["skipped_by_reason"])
    else:
        print("skipped: 0")
    for name, reason in skipped:
        print(f"  skipped {name}: {reason}")


def run(args: argparse.Namespace) -> int:
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import time

    from rich.progress import Progress

    from nextham.cli.common import print_summary
    from nextham.generate import build_dataset
    from nextham.generate.cost import hours, spent_seconds

    if args.kmesh is not None and args.kspacing is not None:
        raise InputError("give --kmesh or --kspacing, not both")
    if args.soc_method != "ecp" and args.spin != "soc":
        raise InputError(f"--soc-method {args.soc_method} needs --spin soc")
    threshold = default_overlap_threshold(args.basis) if args.threshold is None else args.threshold
    settings = EngineSettings(
        spin=args.spin, basis=args.basis, kmesh=args.kmesh or EngineSettings.kmesh,
        kspacing=args.kspacing, smearing_ev=args.smearing, overlap_threshold=threshold,
        cutoff=args.cutoff, ke_cutoff_ev=args.ke_cutoff, h0_spin_orbit=not args.scalar_h0,
        position_matrix=args.position_matrix, soc_method=args.soc_method,
    )  # fmt: skip
    structures, skipped = structures_from_args(args)
    if args.dry_run:
        print_dry_run(structures, skipped)
        print_projection(args.out, structures, settings, args.calibrate_from)
        return 0
    if skipped:
        print(f"skipped {len(skipped)} structures (list them with --dry-run)")
    print_projection(args.out, structures, settings, args.calibrate_from)
    start = time.perf_counter()
    with Progress() as bar:
        task = bar.add_task("DFT", total=len(structures))

        def tick(name: str, ok: bool) -> None:
            bar.console.print(f"{'done' if ok else 'FAILED'}: {name}")
            bar.advance(task)

        ds = build_dataset(
            args.out, structures, settings, args.workers, args.scheduler, tick, args.method,
            spectral_gate=not args.no_spectral_gate, limit=args.limit,
            max_seconds=args.max_label_seconds, calibrate_from=args.calibrate_from,
        )  # fmt: skip
        bar.update(task, completed=len(structures))
    print_summary(ds)
    print(f"spent: {time.perf_counter() - start:.0f} s wall this run; the stored labels took "
          f"{hours(spent_seconds(ds.manifest['entries']))} in all")  # fmt: skip
    return 1 if ds.manifest["failed"] else 0


def print_projection(out: str, structures: list, settings, calibrate_from=()) -> None:
    """The projected label cost of the structures not yet finished in ``out``, scaled by the
    ratio spent / projected of its finished labels where there are some, else by the median
    ratio of the ``calibrate_from`` datasets where they have some."""
    # deferred: the command modules load with `nextham --help`; their work loads only on use
    import os

    from nextham.generate.cost import calibrated_projection, hours, prior_ratio
    from nextham.store.dataset import Dataset

    entries = {}
    if os.path.isdir(out) and os.path.isfile(os.path.join(out, "manifest.json")):
        entries = Dataset(out).manifest["entries"]
    todo = [(n, a) for n, a in structures if n not in entries]
    done = [(n, a) for n, a in structures if n in entries]
    p = calibrated_projection(todo, done, entries, settings)
    note = f", {p.unknown} with elements the table lacks not included" if p.unknown else ""
    how = "element table × (atoms/n)² × k-points/8, rough"
    prior = None if p.n_calibration or not calibrate_from else prior_ratio(calibrate_from)
    if p.n_calibration:
        how += f"; × {p.ratio:.3g}, spent/projected of the {p.n_calibration} finished labels"
    elif prior is not None:
        p = p._replace(seconds=p.seconds * prior)
        how += f"; × {prior:.3g}, the median spent/projected of the other datasets given"
    print(f"projected: {hours(p.seconds)} for {len(todo)} structures to compute ({how}{note})")
