"""Band-structure + DOS figure (matplotlib, Agg backend), written atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nextham.bands.compute import BandStructure
from nextham.store.atomic import atomic_output


def plot_bands(bs: BandStructure, out: str | Path, window: tuple[float, float] = (-6.0, 6.0)):
    """Bands (solid) and reference bands (dashed) relative to E_F, DOS panel; saves ``out``."""
    # deferred: matplotlib is slow to import and loads only when a plot is written
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_dos) = plt.subplots(
        1, 2, sharey=True, figsize=(8, 5), gridspec_kw={"width_ratios": [4, 1], "wspace": 0.05}
    )
    x = np.asarray(bs.x)
    if bs.reference is not None:
        ref = np.asarray(bs.reference["bands"]) - bs.reference["fermi_level"]
        ax.plot(x, ref, color="0.55", ls="--", lw=1.2)
        ax.plot([], [], color="0.55", ls="--", label=bs.reference.get("label", "reference"))
    ax.plot(x, np.asarray(bs.bands) - bs.fermi_level, color="tab:blue", lw=1.2)
    ax.plot([], [], color="tab:blue", label=bs.source)
    for sx in bs.special_x:
        ax.axvline(sx, color="0.8", lw=0.8)
    ax.axhline(0.0, color="k", ls=":", lw=0.8)
    ax.set_xticks(bs.special_x, bs.labels)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(*window)
    ax.set_ylabel("E − E$_F$ (eV)")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    e_dos, dos = np.asarray(bs.dos_energy) - bs.fermi_level, np.asarray(bs.dos)
    ax_dos.plot(dos, e_dos, color="tab:blue", lw=1.0)
    inside = (e_dos >= window[0]) & (e_dos <= window[1])
    top = dos[inside].max() if inside.any() else 0.0
    ax_dos.axhline(0.0, color="k", ls=":", lw=0.8)
    ax_dos.set_xlabel("DOS (states/eV)")
    ax_dos.set_xlim(0, 1.05 * top if top > 0 else None)
    soc = ", spin–orbit" if bs.spinor else ""
    ax.set_title(f"{bs.formula}{soc}")
    out = Path(out)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight", format="png")
    plt.close(fig)
    return out
