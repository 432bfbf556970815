"""The dataset card: structures, pairs and cost per element and per prototype, failures by cause.

Read from the manifest and the structures file (no entry is loaded). A structure counts once
for each of its elements; its prototype is ``atoms.info["prototype"]`` (the generators set it,
see docs/structures.md), "-" where absent. The cards of several datasets (a campaign's shards)
add up to one (:func:`merged_card`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from nextham.store.dataset import Dataset

TIME_KEYS = ("time_h0_s", "time_scf_s", "time_ht_transform_s", "time_spectral_check_s")


def label_seconds(row: dict) -> float:
    """CPU seconds one stored label took: its ``cpu_s`` (process CPU time, threads summed;
    a paused label costs nothing) where stored, else its stage wall times summed (H0, SCF,
    transform, spectral check)."""
    if row.get("cpu_s") is not None:
        return float(row["cpu_s"])
    return sum(float(row.get(k) or 0.0) for k in TIME_KEYS)


def failure_cause(message: str) -> str:
    """The cause of a failure message, without its numbers: its first line up to a colon."""
    head = message.strip().splitlines()[0] if message.strip() else "unknown"
    head = head.split(":")[0] if ":" in head else head
    return re.sub(r"\s+", " ", re.sub(r"[-+]?\d[\d.eE+-]*", "#", head)).strip()[:80]


def _groups(ds: Dataset) -> tuple[dict, dict]:
    """Per element and per prototype: {key: {"structures", "finished", "failed", "atoms",
    "pairs", "label_s"}}."""
    entries, failed = ds.manifest["entries"], ds.manifest["failed"]
    tables: tuple[dict, dict] = (defaultdict(Counter), defaultdict(Counter))
    for name, atoms in ds.structures():
        keys = (sorted(set(atoms.get_chemical_symbols())), [atoms.info.get("prototype", "-")])
        row = entries.get(name)
        for table, group in zip(tables, keys):
            for key in group:
                c = table[key]
                c["structures"] += 1
                c["failed"] += name in failed
                if row is not None:
                    c["finished"] += 1
                    c["atoms"] += row["natoms"]
                    c["pairs"] += row["n_edges"]
                    c["label_s"] += label_seconds(row)
    return tuple({k: dict(v) for k, v in sorted(t.items())} for t in tables)


def dataset_card(ds: Dataset) -> dict:
    """The card as a JSON-serializable mapping (see the module docstring)."""
    by_element, by_prototype = _groups(ds)
    causes = Counter(failure_cause(m) for m in ds.manifest["failed"].values())
    entries = ds.manifest["entries"]
    return {
        "structures": len(ds.manifest["names"]),
        "finished": len(entries),
        "failed": len(ds.manifest["failed"]),
        "pairs": sum(r["n_edges"] for r in entries.values()),
        "label_s": sum(label_seconds(r) for r in entries.values()),
        "by_element": by_element,
        "by_prototype": by_prototype,
        "failures_by_cause": dict(causes.most_common()),
    }


def merged_card(cards: list[dict]) -> dict:
    """One card of several datasets' cards: every count and time summed, groups joined."""
    out: dict = {"structures": 0, "finished": 0, "failed": 0, "pairs": 0, "label_s": 0.0}
    groups: dict[str, dict[str, Counter]] = {"by_element": {}, "by_prototype": {}}
    causes: Counter = Counter()
    for card in cards:
        for key in out:
            out[key] += card[key]
        for key, table in groups.items():
            for name, row in card[key].items():
                table.setdefault(name, Counter()).update(row)
        causes.update(card["failures_by_cause"])
    for key, table in groups.items():
        out[key] = {name: dict(table[name]) for name in sorted(table)}
    out["failures_by_cause"] = dict(causes.most_common())
    return out
