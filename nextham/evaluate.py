"""Dataset-level evaluation of a model next to the baselines (used by ``nextham evaluate``).

Besides the dataset summary, the per-structure reports can be aggregated by group
(:data:`GROUPINGS`): by ``element`` (a structure counts for every element it contains), by
``block`` (``s``, ``p``, ``d``, ``f``: a structure counts for the block of each of its elements,
so NaCl is in ``s`` and ``p``) and by ``prototype`` (``atoms.info["prototype"]`` of the
dataset's structures, else ``"unknown"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from ase.data import atomic_numbers, chemical_symbols
from rich.console import Console
from rich.table import Table

from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.loss.report import ZERO_CORRECTION, aggregate_reports, evaluate_structure
from nextham.predict import predict_hamiltonians
from nextham.record import keys as K
from nextham.record.layout import require_h0
from nextham.store.dataset import STRUCTURES, Dataset
from nextham.structures.groups import D_BLOCK, P_BLOCK, S_BLOCK


def select_names(ds: Dataset, meta: dict, split: str, required: bool = True) -> list[str]:
    """Entries of ``ds`` in the model's ``split`` (``all``: every entry); none is an error
    when ``required``."""
    if split == "all":
        return ds.names
    wanted = {
        n.split("/", 1)[1]
        for n in meta["split"].get(split, [])
        if n.split("/", 1)[0] == ds.path.name
    }
    names = [n for n in ds.names if n in wanted]
    if not names and required:
        raise InputError(f"no entry of {ds.path} is in the model's {split} split")
    return names


GROUPINGS = ("element", "block", "prototype")
BLOCKS = ("s", "p", "d", "f")
UNKNOWN_PROTOTYPE = "unknown"


def element_labels(record: Mapping) -> list[str]:
    """The distinct element symbols of a record, by atomic number."""
    return [chemical_symbols[z] for z in sorted({int(z) for z in record[K.NUMBERS]})]


def block_labels(record: Mapping) -> list[str]:
    """The distinct periodic-table blocks (:data:`BLOCKS`) of a record's elements."""
    found = set()
    for z in {int(z) for z in record[K.NUMBERS]}:
        found.add("s" if z in S_BLOCK else "p" if z in P_BLOCK else "d" if z in D_BLOCK else "f")
    return [b for b in BLOCKS if b in found]


def prototype_labels(ds: Dataset) -> dict[str, str]:
    """Structure name → ``atoms.info["prototype"]`` (``"unknown"`` where absent)."""
    if not (ds.path / STRUCTURES).exists():
        return {}
    return {
        name: str(atoms.info.get("prototype", UNKNOWN_PROTOTYPE)) for name, atoms in ds.structures()
    }


def aggregate_groups(
    structures: Mapping[str, Mapping[str, dict]], labels: Mapping[str, Sequence[str]]
) -> dict[str, dict]:
    """Group → :func:`~nextham.loss.report.aggregate_reports` of the structures in it.

    ``structures``: name → :func:`~nextham.loss.report.evaluate_structure` output;
    ``labels``: name → the groups of that structure (a structure may be in several).
    """
    members: dict[str, list[str]] = {}
    for name in structures:
        for group in dict.fromkeys(labels[name]):
            members.setdefault(group, []).append(name)
    return {g: aggregate_reports([structures[n] for n in ns]) for g, ns in members.items()}


def ordered_groups(groups: Mapping[str, dict], by: str) -> dict[str, dict]:
    """Groups by atomic number (``element``), in s, p, d, f order (``block``) or by name,
    ``"unknown"`` last."""
    if by == "element":
        return {g: groups[g] for g in sorted(groups, key=lambda g: atomic_numbers[g])}
    if by == "block":
        return {g: groups[g] for g in BLOCKS if g in groups}
    return {g: groups[g] for g in sorted(groups, key=lambda g: (g == UNKNOWN_PROTOTYPE, g))}


def group_labels(
    ds: Dataset, names: Sequence[str], records: Sequence[Mapping], by: str
) -> dict[str, list[str]]:
    """Structure name → its groups under grouping ``by`` (:data:`GROUPINGS`)."""
    if by == "element":
        return {n: element_labels(r) for n, r in zip(names, records, strict=True)}
    if by == "block":
        return {n: block_labels(r) for n, r in zip(names, records, strict=True)}
    if by == "prototype":
        protos = prototype_labels(ds)
        return {n: [protos.get(n, UNKNOWN_PROTOTYPE)] for n in names}
    raise InputError(f"unknown grouping {by!r}; choose from {GROUPINGS}")


def evaluate_dataset(
    model,
    meta: dict,
    path: str | Sequence[str],
    split: str,
    kpts: np.ndarray,
    window: str = "edges",
    by: Sequence[str] = (),
) -> dict:
    """Aggregated metrics of model and baselines plus per-structure reports.

    ``path``: one dataset directory, or several (e.g. the shards of a campaign), evaluated
    together: structures are then named ``<dataset dir>/<entry>`` as in the model's split, and
    a dataset with no entry in ``split`` is passed over. ``window``: the band window
    (:func:`nextham.loss.metrics.energy_window`); ``by``: groupings (:data:`GROUPINGS`) whose
    per-group summaries go under ``report["by"]``. Records are read one dataset at a time.
    """
    paths = [path] if isinstance(path, str) else list(path)
    structures: dict[str, dict] = {}
    labels: dict[str, dict[str, list[str]]] = {b: {} for b in by}
    for p in paths:
        ds = _checked_dataset(p, meta)
        names = select_names(ds, meta, split, required=len(paths) == 1)
        if not names:
            continue
        records = [ds.load(n) for n in names]
        preds = predict_hamiltonians(model, records)
        keys = names if len(paths) == 1 else [f"{ds.path.name}/{n}" for n in names]
        for key, record, h in zip(keys, records, preds, strict=True):
            structures[key] = evaluate_structure(record, h, kpts, window=window)
        for b in by:
            groups = group_labels(ds, names, records, b)
            labels[b].update({key: groups[n] for key, n in zip(keys, names)})
    if not structures:
        where = ", ".join(map(str, paths))
        raise InputError(f"no entry of {where} is in the model's {split} split")
    return {
        "dataset": ", ".join(map(str, paths)),
        "split": split,
        "n_kpts": len(kpts),
        "window": window,
        "summary": aggregate_reports(list(structures.values())),
        "by": {b: ordered_groups(aggregate_groups(structures, labels[b]), b) for b in by},
        "structures": structures,
    }


def _checked_dataset(path: str, meta: dict) -> Dataset:
    """The dataset at ``path``, its entries holding H0 and its settings the model's."""
    ds = Dataset(path)
    for name in ds.names if ds.source is not None else []:
        require_h0(ds.load(name), f"{path}: entry {name}")
    if ds.settings != EngineSettings.from_meta(meta):
        raise InputError(
            f"{path} was generated with other engine settings than the model was trained on"
        )
    return ds


WINDOW_TITLES = {"edges": "insulators VBM−2…CBM+2, metals E_F±2 eV", "fermi": "E_F±2 eV"}


def _mae(group: dict, key: str = "mae_meV") -> str:
    """``group[key]`` (meV) as table text; "-" where there is none (``mae_aligned_meV``: the band
    MAE of bands read from their own VBM / E_F)."""
    return "-" if group[key] is None else f"{group[key]:.4g}"


def ghost_text(ghosts: dict) -> str:
    """An aggregate's ghost states as table text: "μ*-shifted / aligned" where the aligned
    count is there (spectra read from their own VBM / E_F), else the one count."""
    aligned = ghosts.get("total_aligned")
    return f"{ghosts['total']}" + ("" if aligned is None else f" / {aligned}")


def print_report(report: dict) -> None:
    """The summary table: Gauge MAE, spin blocks, band MAE, ghosts per model/baseline."""
    n = report["summary"]["model"]["n_structures"]
    window = report.get("window", "fermi")
    n_ins = report["summary"]["model"].get("window", {}).get("n_insulators", 0)
    title = f"{report['dataset']} ({report['split']}, {n} structures, {n_ins} insulators)"
    t = Table(title=title)
    cols = ("", "Gauge MAE meV", "spin blocks meV", f"band MAE meV ({WINDOW_TITLES[window]})",
            "aligned at VBM / E_F", "ghost states (μ* / aligned)",
            "levels > 0.1 eV off")  # fmt: skip
    for col in cols:
        t.add_column(col)
    for name, s in report["summary"].items():
        g = s["gauge_mae"]
        spin = " ".join(
            f"{k}={v['mae_meV']:.3g}"
            for k, v in g.get("spin", {}).items()
            if v["mae_meV"] is not None
        )
        t.add_row(name, f"{g['overall']['mae_meV']:.4g}", spin or "-",
                  _mae(s["bands"]), _mae(s["bands"], "mae_aligned_meV"),
                  ghost_text(s["ghost_states"]),
                  str(s["unmatched_levels"]["total"]))  # fmt: skip
    Console(width=140).print(t)


def print_groups(report: dict, by: str) -> None:
    """One row per group of ``report["by"][by]``: count, Gauge MAE, band MAE and ghost states
    of the model next to H0 (``zero_correction``)."""
    window = WINDOW_TITLES[report.get("window", "fermi")]
    t = Table(title=f"{report['dataset']} by {by} (band window {window})")
    cols = (by, "structures", "Gauge MAE model", "Gauge MAE H0", "band MAE model",
            "band MAE H0", "aligned model", "aligned H0", "ghosts model", "ghosts H0")  # fmt: skip
    for col in cols:
        t.add_column(col)
    for group, summary in report["by"][by].items():
        m, h0 = summary["model"], summary[ZERO_CORRECTION]
        t.add_row(group, str(m["n_structures"]),
                  _mae(m["gauge_mae"]["overall"]), _mae(h0["gauge_mae"]["overall"]),
                  _mae(m["bands"]), _mae(h0["bands"]), _mae(m["bands"], "mae_aligned_meV"),
                  _mae(h0["bands"], "mae_aligned_meV"),
                  ghost_text(m["ghost_states"]), ghost_text(h0["ghost_states"]))  # fmt: skip
    Console(width=140).print(t)
