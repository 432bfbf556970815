"""nextham: learn the Kohn–Sham Hamiltonian of crystals as a correction to the zeroth-step H0."""

__version__ = "0.1.0"
