"""The band window (edges for insulators, E_F for metals) and evaluation tables per group."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.io import write
from test_loss_records import make_record
from test_metrics_bands import KPTS, gamma_record

from nextham.evaluate import (
    aggregate_groups,
    group_labels,
    ordered_groups,
    print_groups,
)
from nextham.loss.metrics import energy_window, occupied_levels
from nextham.loss.report import evaluate_structure, structure_metrics
from nextham.record import keys as K
from nextham.store.dataset import STRUCTURES, Dataset

# two occupied levels (four electrons, scalar) at -9 and -3 eV, empty at 3, 9 and 12 eV:
# VBM -3, CBM 3, a 6 eV gap with E_F = 0 mid-gap
INSULATOR_O, INSULATOR_H = [-9.0, -3.0, 3.0, 9.0], [12.0]


def insulator(diag_o=INSULATOR_O, diag_h=INSULATOR_H):
    rec = gamma_record(diag_o, diag_h)
    rec[K.META] = {"fermi_level": 0.0, "n_electrons": 4.0}
    return rec


def test_insulator_window_is_band_edges_and_fermi_window_is_empty():
    rec = insulator()
    edges = structure_metrics(rec, rec[K.HT], KPTS)
    fermi = structure_metrics(rec, rec[K.HT], KPTS, window="fermi")
    assert fermi["bands"]["count"] == 0 and fermi["bands"]["mae_meV"] is None
    w = edges["window"]
    assert w["insulator"] and w["definition"] == "edges"
    assert (w["vbm"], w["cbm"], w["gap"]) == pytest.approx((-3.0, 3.0, 6.0))
    assert (w["lo"], w["hi"]) == pytest.approx((-5.0, 5.0))
    assert edges["bands"]["count"] == 2 * len(KPTS)  # VBM and CBM at every k
    assert edges["bands"]["mae_meV"] == pytest.approx(0.0, abs=1e-9)
    assert (fermi["window"]["lo"], fermi["window"]["hi"]) == pytest.approx((-2.0, 2.0))


def test_insulator_ghost_states_and_band_errors_use_the_edge_window():
    rec = insulator()
    # trace kept (μ* = 0): 12 eV drops to 4.5 (inside VBM−2…CBM+2), 9 rises to 16.5,
    # and the CBM moves by +0.2 eV while the lowest level moves by −0.2 eV
    pred = insulator([-9.2, -3.0, 3.2, 16.5], [4.5])[K.HT]
    edges = structure_metrics(rec, pred, KPTS)
    fermi = structure_metrics(rec, pred, KPTS, window="fermi")
    assert edges["gauge_mae"]["mu_star_meV"] == pytest.approx(0.0, abs=1e-9)
    assert edges["ghost_states"]["count"] == len(KPTS)
    assert edges["unmatched_levels"]["count"] == 2 * len(KPTS)  # 4.5 and 3.2 at each k
    assert edges["bands"]["mae_meV"] == pytest.approx(100.0)  # (0 + 200 meV) / 2
    assert fermi["ghost_states"]["count"] == fermi["unmatched_levels"]["count"] == 0


def test_metal_windows_agree():
    # band 2 (occupied) reaches 0.6 eV, band 3 (empty) starts at 0.3 eV: overlapping bands
    eps = np.array([[-5.0, -0.5, 0.3], [-5.0, 0.6, 1.2]])
    edges, fermi = energy_window(eps, 0.1, 2.0), energy_window(eps, 0.1, 2.0, definition="fermi")
    assert not edges.insulator and edges.gap == pytest.approx(-0.3)
    assert edges.bounds == fermi.bounds == pytest.approx((-1.9, 2.1))
    # a half-filled level (odd electron count, scalar): no band edges, E_F ± w
    odd = energy_window(eps, 0.1, 1.5)
    assert odd.bounds == pytest.approx((-1.9, 2.1)) and odd.vbm is None


def test_metal_record_metrics_agree_between_windows():
    rec = make_record(61, fermi_level=0.1)
    rec[K.META]["n_electrons"] = 3  # 1.5 levels per k: a metal whatever the levels
    noise = np.random.default_rng(1).normal(0, 0.05, rec[K.HT].shape)
    edges = structure_metrics(rec, rec[K.HT] + noise, KPTS)
    fermi = structure_metrics(rec, rec[K.HT] + noise, KPTS, window="fermi")
    assert edges["bands"]["count"] > 0
    for key in ("bands", "ghost_states", "unmatched_levels", "gauge_mae"):
        assert edges[key] == fermi[key]
    assert not edges["window"]["insulator"]


def test_window_edge_cases():
    eps = np.array([[-1.0, 4.0]])
    assert energy_window(eps, 1.5, 1.0, gap_tol=5.0).bounds == pytest.approx((-0.5, 3.5))
    assert energy_window(eps, 1.5, 1.0).bounds == pytest.approx((-3.0, 6.0))
    assert energy_window(eps, 1.5, None).bounds == pytest.approx((-0.5, 3.5))
    # every level occupied (a minimal basis of a closed shell): the window sits on the VBM,
    # not on a Fermi level that the smearing placed above every level
    full = energy_window(eps, 9.0, 2.0)
    assert full.vbm == 4.0 and full.cbm is None and full.insulator
    assert full.bounds == pytest.approx((2.0, 6.0))
    assert energy_window(eps, 9.0, 2.0, definition="fermi").bounds == pytest.approx((7.0, 11.0))
    assert energy_window(eps, 1.5, 0.0).vbm is None  # nothing occupied
    with pytest.raises(ValueError, match="unknown band window"):
        energy_window(eps, 0.0, 1.0, definition="gap")
    spinor = make_record(3, spinor=True)
    assert occupied_levels(spinor) == 4.0
    assert occupied_levels(make_record(3)) == 2.0


def _reports(records):
    return {
        name: evaluate_structure(rec, rec[K.HT] + 0.01, KPTS[:2]) for name, rec in records.items()
    }


def test_grouping_by_element_counts_every_element():
    records = {
        "OH_a": make_record(71, numbers=(8, 1)),
        "H2O_b": make_record(72, numbers=(1, 8, 1)),
        "H2_c": make_record(73, numbers=(1, 1)),
    }
    labels = group_labels(None, list(records), list(records.values()), "element")
    assert labels == {"OH_a": ["H", "O"], "H2O_b": ["H", "O"], "H2_c": ["H"]}
    groups = ordered_groups(aggregate_groups(_reports(records), labels), "element")
    assert list(groups) == ["H", "O"]
    assert groups["H"]["model"]["n_structures"] == 3
    assert groups["O"]["zero_correction"]["n_structures"] == 2


def test_grouping_by_block_counts_the_block_of_every_element():
    numbers = {"NaCl_a": (11, 17), "TiO_b": (22, 8), "Na_c": (11, 11), "CeH_d": (58, 1)}
    only = [{K.NUMBERS: np.array(z)} for z in numbers.values()]  # all the grouping reads
    labels = group_labels(None, list(numbers), only, "block")
    records = {n: make_record(74 + i) for i, n in enumerate(numbers)}
    assert labels == {"NaCl_a": ["s", "p"], "TiO_b": ["p", "d"], "Na_c": ["s"], "CeH_d": ["s", "f"]}
    groups = ordered_groups(aggregate_groups(_reports(records), labels), "block")
    assert list(groups) == ["s", "p", "d", "f"]
    assert [g["model"]["n_structures"] for g in groups.values()] == [3, 2, 1, 1]


def test_grouping_by_prototype_reads_structure_info(tmp_path, capsys):
    names = ["Si_diamond_0", "NaCl_rocksalt_0", "NaCl_rocksalt_1", "X_file"]
    atoms = [Atoms("H", cell=np.eye(3), pbc=True) for _ in names]
    ds = Dataset.create(tmp_path / "ds", None, list(zip(names, atoms)), source={"format": "test"})
    frames = []
    for name, a, proto in zip(names, atoms, ["diamond", "rocksalt", "rocksalt", None]):
        a.info = {"name": name} if proto is None else {"name": name, "prototype": proto}
        frames.append(a)
    write(ds.path / STRUCTURES, frames, format="extxyz")
    records = {n: make_record(80 + i) for i, n in enumerate(names)}
    labels = group_labels(ds, names, list(records.values()), "prototype")
    assert labels == {
        "Si_diamond_0": ["diamond"],
        "NaCl_rocksalt_0": ["rocksalt"],
        "NaCl_rocksalt_1": ["rocksalt"],
        "X_file": ["unknown"],
    }
    groups = ordered_groups(aggregate_groups(_reports(records), labels), "prototype")
    assert list(groups) == ["diamond", "rocksalt", "unknown"]
    assert [g["model"]["n_structures"] for g in groups.values()] == [1, 2, 1]
    print_groups({"dataset": "ds", "window": "edges", "by": {"prototype": groups}}, "prototype")
    out = capsys.readouterr().out
    assert "rocksalt" in out and "ghosts H0" in out
