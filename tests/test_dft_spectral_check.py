"""The spectral check passes a converged label and fails a deliberately truncated one."""

from __future__ import annotations

import numpy as np

from nextham.dft.cell import build_cell
from nextham.dft.engine import make_mf
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
