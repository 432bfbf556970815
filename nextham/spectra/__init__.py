"""Spectra of block Hamiltonians: k-space transforms, Bloch sums, eigenvalues, occupations.

Used by the engine (Fermi level of an SCF), the losses and metrics, ``bands``, ``optics``,
``predict`` and the SCF guess; it knows records (:mod:`nextham.record`) and nothing above them.

Modules
-------
kspace        pure numpy transforms between k-space and R-space matrices, Γ-centred meshes
bloch         dense H(k), S(k) of flat blocks (torch, differentiable)
eigen         generalized eigenvalues with canonical orthogonalization, band energies
occupations   Fermi–Dirac/aufbau occupations and the Fermi level
"""
