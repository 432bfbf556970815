"""benchmarks/scf_guess.py's helpers: held-out supercells and the printed tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from ase.build import bulk

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "scf_guess.py"


def _script():
    spec = importlib.util.spec_from_file_location("scf_guess", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(cycles: int, wall: float) -> dict:
    return {"cycles": cycles, "wall_s": wall, "guess_s": 0.5, "converged": True}


def test_supercell_is_repeated_rattled_and_seeded():
    mod = _script()
    atoms = bulk("AlP", "zincblende", a=5.47)
    big = mod.supercell(atoms, (2, 2, 2))
    ideal = atoms.repeat((2, 2, 2))
    assert len(big) == 16 and np.allclose(big.cell.array, ideal.cell.array)
    shift = big.positions - ideal.positions
    assert 0.005 < shift.std() < 0.05 and np.abs(shift).max() < 0.15
    assert np.array_equal(big.positions, mod.supercell(atoms, (2, 2, 2)).positions)


def test_table_ratios_and_interpolated_cycles(capsys):
    mod = _script()
    rows = [
        {"name": "a", "sad": _run(6, 60.0), "nextham": _run(4, 30.0), "exact": _run(1, 10.0),
         "predict_s": 2.5, "delta_e_mev": 1e-6, "interpolated_cycles": {"0.1": 4, "0.03": 3}},
        {"name": "b×2×2×2", "sad": _run(8, 80.0), "nextham": _run(4, 40.0), "exact": None,
         "predict_s": 2.5, "delta_e_mev": -1e-6, "interpolated_cycles": {}},
    ]  # fmt: skip
    mod.print_table(rows)
    out = capsys.readouterr().out
    assert "cycles 1.75, SCF time 2.00" in out
    assert "| b×2×2×2 | 8 | 4 | — |" in out
    assert "| structure | α = 0.03 | α = 0.1 |" in out
    assert "| a | 3 | 4 |" in out and "| b×2×2×2 | — | — |" in out
