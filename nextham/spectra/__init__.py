"""Spectra of block Hamiltonians: k-space transforms, Bloch sums, eigenvalues, occupations.

Used by the engine (Fermi level of an SCF), the losses and metrics, ``bands``, ``optics``,
``predict`` and the SCF guess; it knows records (:mod:`nextham.record`) and nothing above them.

Modules
-------
kspace        pure numpy transforms between k-space and R-space matrices, Γ-centred meshes
bloch         dense H(k), S(k) of flat blocks (torch, differentiable)
eigen         generalized eigenvalues with canonical orthogonalization, band energies
occupations   Fermi–Dirac/aufbau occupations and the Fermi level
sparse        sparse CSR H(k), S(k) of flat blocks (large cells, no dense matrix)
direct        sparse Hermitian factorizations with inertia: MKL PARDISO or SuperLU
pardiso       the ctypes binding of MKL PARDISO (LDLᵀ / Cholesky, inertia, half solves)
slicing       inertia counts, shift-invert windows, band edges and E_F of sparse pencils
kpm           density of states by the kernel polynomial method (S⁻¹H, Jackson kernel)
largecell     the dense/sparse switch (> 2000 rows of H(k)) and the record-level sparse path
              (CellSpectra: pencils and factorizations shared by DOS, band edges and E_F)
"""
