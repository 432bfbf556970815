"""Right-hand sides of a real factorization that are complex: solved as two real ones.

A real factorization (H − εS or S at Γ) is applied to complex vectors by the KPM's random
phases and by ARPACK; both backends (:mod:`nextham.spectra.pardiso`,
:mod:`nextham.spectra.direct`) solve the real and imaginary parts separately, because the
factor is stored real and the solve is linear.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def split_complex(
    apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, factor_complex: bool
) -> np.ndarray:
    """``apply(b)``, or ``apply(b.real) + 1j · apply(b.imag)`` when ``b`` is complex and the
    factor real."""
    if np.iscomplexobj(b) and not factor_complex:
        return apply(b.real) + 1j * apply(b.imag)
    return apply(b)
