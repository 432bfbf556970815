"""The spectral check passes a converged label and fails a deliberately truncated one."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf
from nextham.dft.label import compute_record
from nextham.dft.settings import EngineSettings
from nextham.dft.spectral_check import BAND_TOL_EV, spectral_check
from nextham.record import keys as K
from nextham.record.geometry import edge_distances
from nextham.record.layout import BlockLayout


def test_spectral_check_passes_a_label_and_fails_a_truncated_one(si_tight):
    atoms, settings, record = si_tight
    mf = make_mf(build_cell(atoms, settings), settings)
    mf.kernel()
    good = spectral_check(record, mf)
    assert good["passed"], good
    assert good["max_band_error_ev"] < BAND_TOL_EV
    assert good["states_below_ef"] == good["occupied_states"] == 4
    assert good["min_overlap_eig"] > 0

    truncated = np.asarray(record[K.HT]).copy()  # pairs beyond 4 Å dropped from H, kept in S
    layout = BlockLayout.of(record)
    for e in np.flatnonzero(edge_distances(record) > 4.0):
        truncated[layout.block_slice(e)] = 0.0
    bad = spectral_check({**record, K.HT: truncated}, mf)
    assert not bad["passed"]
    assert bad["max_band_error_ev"] > 10 * BAND_TOL_EV


@pytest.mark.parametrize("symbol,a", [("Al", 4.05), ("H", 2.0)])
def test_metal_and_one_electron_cells_pass(symbol, a):
    """A metal (fcc Al, several bands crossing E_F between the k-points) and a one-electron
    cell (fcc H) pass at the family's default pair rule: levels below E_F are counted against
    PySCF's at the same k, and the half-filled level is compared."""
    from nextham.dft.settings import default_overlap_threshold

    settings = EngineSettings(
        basis="szv-molopt-sr", kmesh=(2, 2, 2),
        overlap_threshold=default_overlap_threshold("szv-molopt-sr"),
    )  # fmt: skip
    check = compute_record(bulk(symbol, "fcc", a=a), settings)["meta"]["spectral_check"]
    assert check["passed"] and check["count_mismatch"] == 0
    assert check["occupied_states"] == {"Al": 2, "H": 1}[symbol]
