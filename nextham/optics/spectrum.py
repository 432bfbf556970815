"""Optical spectrum of a record: σ(ω), ε(ω) on a k-mesh, files (JSON/CSV) and the plot."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase.data import chemical_symbols
from ase.formula import Formula

from nextham.dft.settings import EngineSettings
from nextham.optics.bloch import DenseBloch, frac_to_cart
from nextham.optics.kubo import conductivity, dielectric
from nextham.record import keys as K
from nextham.spectra.kspace import gamma_mesh
from nextham.store.atomic import atomic_output

VELOCITY_EXACT = "exact (position matrix)"
VELOCITY_TWO_CENTRE = "two-centre approximation (no position matrix)"


@dataclass
class OpticalSpectrum:
    """Diagonal components (xx, yy, zz) of σ (S/m) and ε against ħω (eV)."""

    formula: str
    omega_ev: list[float]
    sigma_real: list[list[float]]  # (nω, 3)
    sigma_imag: list[list[float]]
    eps_real: list[list[float]]
    eps_imag: list[list[float]]
    settings: dict
    label: str = "nextham"

    def eps_average(self) -> np.ndarray:
        """Trace average of ε, complex (nω,)."""
        return (np.asarray(self.eps_real) + 1j * np.asarray(self.eps_imag)).mean(axis=1)

    def to_json(self, path: str | Path) -> None:
        with atomic_output(Path(path)) as tmp:
            Path(tmp).write_text(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, path: str | Path) -> OpticalSpectrum:
        return cls(**json.loads(Path(path).read_text()))

    def to_csv(self, path: str | Path) -> None:
        cols = [np.asarray(self.omega_ev)[:, None]]
        head = ["hbar_omega_eV"]
        for name in ("sigma_real", "sigma_imag", "eps_real", "eps_imag"):
            cols.append(np.asarray(getattr(self, name)))
            head += [f"{name}_{a}" for a in ("xx", "yy", "zz")]
        with atomic_output(Path(path)) as tmp:
            np.savetxt(tmp, np.hstack(cols), delimiter=",", header=",".join(head), comments="")


def optical_spectrum(
    record: dict,
    kmesh=(8, 8, 8),
    omega_ev: np.ndarray | None = None,
    width_ev: float = 0.1,
    broadening: str = "lorentzian",
    fermi_level: float | None = None,
    smearing_ev: float | None = None,
    chunk: int = 16,
    label: str = "nextham",
    progress=None,
    two_centre: bool = False,
) -> OpticalSpectrum:
    """Interband σ and ε of ``record[HT]`` (see :mod:`nextham.optics.kubo`).

    The Fermi level and smearing default to the record's metadata (``fermi_level``, engine
    ``smearing_ev``: a stored 0 stays 0, a record without settings takes the engine default);
    ω defaults to 0.05–10 eV in 400 steps. Velocities are exact when the record holds the
    position matrix (``K.R_MATRIX``) and ``two_centre`` is not set, else the two-centre
    approximation; ``settings["velocity"]`` says which.
    """
    meta = record[K.META]
    ef = float(meta.get("fermi_level", np.nan)) if fermi_level is None else fermi_level
    if smearing_ev is None:
        smearing_ev = EngineSettings.from_meta(meta).smearing_ev
    omega = np.linspace(0.05, 10, 400) if omega_ev is None else np.asarray(omega_ev, dtype=float)
    volume = abs(np.linalg.det(np.asarray(record[K.CELL], dtype=float)))
    kc = frac_to_cart(record, gamma_mesh(tuple(kmesh)))
    if two_centre and K.R_MATRIX in record:
        record = {k: v for k, v in record.items() if k != K.R_MATRIX}
    bloch = DenseBloch(record)
    # an imported r(R) that nextham exported as the two-centre approximation (formats/abacus.py)
    exact = bloch.exact_position and meta.get("position_matrix") != "two-centre"
    sigma = conductivity(bloch, kc, volume, omega, ef, smearing_ev, width_ev,
                         broadening, chunk, progress)  # fmt: skip
    eps = dielectric(sigma, omega)
    diag = np.arange(3)
    symbols = "".join(chemical_symbols[int(z)] for z in record[K.NUMBERS])
    return OpticalSpectrum(
        formula=str(Formula(symbols).reduce()[0]),
        omega_ev=omega.tolist(),
        sigma_real=sigma[:, diag, diag].real.tolist(),
        sigma_imag=sigma[:, diag, diag].imag.tolist(),
        eps_real=eps[:, diag, diag].real.tolist(),
        eps_imag=eps[:, diag, diag].imag.tolist(),
        settings={
            "kmesh": list(kmesh),
            "width_ev": width_ev,
            "broadening": broadening,
            "fermi_level": ef,
            "smearing_ev": smearing_ev,
            "velocity": VELOCITY_EXACT if exact else VELOCITY_TWO_CENTRE,
        },
        label=label,
    )


def relative_l1(a: OpticalSpectrum, b: OpticalSpectrum, key: str = "eps_imag") -> float:
    """∫|a − b| / ∫|b| of the trace-averaged component ``key`` over the common ω grid."""
    x, y = np.asarray(getattr(a, key)).mean(1), np.asarray(getattr(b, key)).mean(1)
    return float(np.abs(x - y).sum() / np.abs(y).sum())


def plot_spectrum(spec: OpticalSpectrum, out: str | Path, reference: OpticalSpectrum | None):
    """Im ε and Re ε (trace average) against ħω; reference dashed. Saves PNG atomically."""
    # deferred: matplotlib is slow to import and loads only when a plot is written
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, part, name in zip(axes, ("imag", "real"), ("Im ε", "Re ε"), strict=True):
        for s, style in ((reference, "--"), (spec, "-")):
            if s is None:
                continue
            val = getattr(s.eps_average(), part)
            ax.plot(s.omega_ev, val, style, label=s.label, color="0.5" if style == "--" else None)
        ax.set_xlabel("ħω (eV)")
        ax.set_ylabel(f"{name} (trace average)")
        ax.axhline(0, color="k", lw=0.5)
    axes[0].legend()
    st = spec.settings
    fig.suptitle(f"{spec.formula}: interband ε(ω), {st['kmesh']} k, {st['broadening']} "
                 f"{st['width_ev']} eV")  # fmt: skip
    with atomic_output(Path(out)) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)
