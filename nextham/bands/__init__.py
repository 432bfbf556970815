"""Band structures and densities of states from stored or predicted Hamiltonians."""

from nextham.bands.compute import BandStructure, band_structure, density_of_states
from nextham.bands.path import BandPath, band_path
from nextham.bands.plot import plot_bands
from nextham.bands.reference import dft_bands

__all__ = [
    "BandPath",
    "BandStructure",
    "band_path",
    "band_structure",
    "density_of_states",
    "dft_bands",
    "plot_bands",
]
