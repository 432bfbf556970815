"""A scalar model on spin–orbit (spinor) records: the spin-diagonal correction.

For a non-magnetic, time-reversal-symmetric density and a semi-local functional the whole
spin–orbit term is one-body and lives in H0: a ``soc`` record with GTH spin–orbit projectors
(``soc_method="gth"``, the scalar basis family) has H0 = H0_scalar ⊗ I₂ + V_SO, and
ΔH = HT − H0 is spin-diagonal and real. ΔH differs from the scalar run's only by the density's
response to the spin–orbit term, so a scalar model predicts a spinor record from the scalar
part of its H0:

    H = H0 + ΔH_scalar(H0_scalar) ⊗ I₂,    H0_scalar = ½ Re(H0↑↑ + H0↓↓)

(Re H0↑↑ = Re H0↓↓ by time reversal; the mean is taken).

The spin–orbit term itself is never learned here: it is the pseudopotential's, exact in H0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from nextham.dft.settings import EngineSettings, stored_settings
from nextham.errors import InputError
from nextham.record import keys as K
from nextham.record.flat import SPIN_DD, SPIN_UU, flat_index, spin_diagonal_flat
from nextham.record.layout import BlockLayout

SCALAR_DEFAULTS = EngineSettings()


def scalar_settings(settings: EngineSettings) -> EngineSettings:
    """The scalar run whose H0 a ``soc`` run's H0 extends (same basis, mesh, functional)."""
    return replace(
        settings,
        spin="scalar",
        soc_method=SCALAR_DEFAULTS.soc_method,
        h0_spin_orbit=SCALAR_DEFAULTS.h0_spin_orbit,
    )


def soc_settings(settings: EngineSettings) -> EngineSettings:
    """The ``soc`` run (GTH spin–orbit projectors) of a scalar model's settings."""
    return replace(settings, spin="soc", soc_method="gth", h0_spin_orbit=True)


def check_spinor_record(record: Mapping, model_settings: EngineSettings, name: str) -> None:
    """Refuse a spinor record a scalar model cannot correct: not GTH spin–orbit, H0 without the
    spin–orbit term, or another scalar run than the model's."""
    stored = stored_settings(record[K.META])
    if stored is None or stored.soc_method != "gth" or not stored.h0_spin_orbit:
        raise InputError(
            f"{name}: a scalar model corrects spinor records made with the GTH spin–orbit "
            "projectors in its own basis (spin 'soc', soc_method 'gth', H0 with the spin–orbit "
            "term); recompute the record with those settings"
        )
    if scalar_settings(stored) != model_settings:
        raise InputError(
            f"{name}: its scalar part was computed with {scalar_settings(stored).to_dict()}, "
            f"but the model was trained with {model_settings.to_dict()}; recompute it with the "
            "model's settings and spin 'soc'"
        )


def _spin_diagonal_mean(flat: np.ndarray, layout: BlockLayout) -> np.ndarray:
    """½ Re(B↑↑ + B↓↓) of every spinor block, in the scalar flat layout (same pair order)."""
    idx = flat_index(layout)
    uu, dd = idx.spin == SPIN_UU, idx.spin == SPIN_DD
    return 0.5 * (np.real(flat[uu]) + np.real(flat[dd]))


def scalar_part(record: Mapping) -> dict:
    """The scalar record of a spinor record: H0 (and HT where present) as ½ Re(↑↑ + ↓↓), the
    same pairs and S, ``SPINOR`` False and the scalar engine settings in ``META``."""
    layout = BlockLayout.of(record, K.H0)
    out = {**record, K.SPINOR: False, K.META: dict(record[K.META])}
    for key in (K.H0, K.HT):
        if key in record:
            out[key] = _spin_diagonal_mean(np.asarray(record[key]), layout)
    stored = stored_settings(record[K.META])
    if stored is not None:
        out[K.META][K.ENGINE_SETTINGS] = scalar_settings(stored).to_dict()
    return out


def spin_diagonal(delta: np.ndarray, record: Mapping) -> np.ndarray:
    """ΔH ⊗ I₂: a scalar flat correction of ``record``'s pairs in its spinor layout (complex)."""
    return spin_diagonal_flat(np.asarray(delta), BlockLayout.of(record, K.S)).astype(complex)
