"""Optical conductivity and dielectric function (Kubo–Greenwood) from H(R), S(R)."""

from nextham.optics.kubo import conductivity, dielectric
from nextham.optics.spectrum import OpticalSpectrum, optical_spectrum, plot_spectrum, relative_l1

__all__ = [
    "OpticalSpectrum",
    "conductivity",
    "dielectric",
    "optical_spectrum",
    "plot_spectrum",
    "relative_l1",
]
