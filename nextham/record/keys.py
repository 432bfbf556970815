"""Key names of a structure record, the plain mapping passed between pipeline stages.

A record describes one periodic structure and its matrices, always in Å and eV.

Geometry
--------
``CELL``        (3, 3) float64, lattice vectors as rows, Å.
``POSITIONS``   (N, 3) float64, Cartesian positions, Å.
``NUMBERS``     (N,) int64, atomic numbers.

Pairs (edges)
-------------
``EDGE_INDEX``  (E, 2) int64, (i, j): atom i in the home cell, atom j in cell R.
``CELL_SHIFT``  (E, 3) int64, the lattice translation R in units of the lattice vectors.
Every stored pair has its conjugate partner (j, i, -R) stored too; self pairs (i, i, 0) included.

Blocks
------
``S``, ``H0``, ``HT`` are 1-D arrays holding all blocks concatenated, each block row-major;
``BLOCK_PTR`` (E + 1,) int64 gives the offset of block e in the scalar layout (the spinor
layout's offsets are ``4 * BLOCK_PTR``; :func:`nextham.record.layout.block_pointers`). A
block of pair (i, j) has shape (n_i, n_j) in the
scalar layout and (2 n_i, 2 n_j) in the spinor layout, where n_i is the number of spatial
basis functions of atom i. S is always stored in the scalar layout (real);
H0 and HT are real in scalar mode and complex in spinor mode. Spinor rows/columns are
spin-major: [all orbitals of the atom with spin up, then the same orbitals with spin down]
(see :mod:`nextham.conventions`). Orbital order inside an atom follows the shells of its
basis in the order PySCF lists them, m ordered as in :mod:`nextham.conventions`.

``HT`` is the converged DFT Hamiltonian in dataset entries (``META["hamiltonian"] == "dft"``)
and the model's H = H0 + ΔH in prediction stores (``META["hamiltonian"] == "predicted"``), so
that exports and band plots read either the same way.

``R_MATRIX``    optional, (3, len(S)) float64: the position matrix r_a,ij(R) = <φ_i0 | r_a | φ_jR>
                in Å, row a (x, y, z) in S's scalar layout (same ``BLOCK_PTR``), r measured
                from the origin of the frame of ``POSITIONS``. Stored when requested
                (``EngineSettings.position_matrix``); optics uses it for exact velocities.

Basis description
-----------------
``BASIS_LS``    mapping Z -> tuple of l of each shell of that element, in PySCF order.
``SPINOR``      bool, True if H0/HT are complex spinor blocks.
``META``        dict of JSON-serializable metadata (see :mod:`nextham.store.dataset`); the
                engine settings of the run are stored under :data:`ENGINE_SETTINGS`.

The helpers over these keys (orbital counts, block pointers, block iteration, per-entry index
maps, pair geometry) are in the other modules of :mod:`nextham.record`.
"""

from __future__ import annotations

CELL = "cell"
POSITIONS = "positions"
NUMBERS = "numbers"
EDGE_INDEX = "edge_index"
CELL_SHIFT = "cell_shift"
BLOCK_PTR = "block_ptr"
S = "S"
H0 = "H0"
HT = "HT"
R_MATRIX = "r_matrix"
BASIS_LS = "basis_ls"
SPINOR = "spinor"
META = "meta"

ENGINE_SETTINGS = "engine_settings"
"""Key of the engine settings in a record's ``META``, a dataset manifest and a model file."""
LEGACY_ENGINE_SETTINGS = "settings"
"""The key under which older records and manifests stored them (still read)."""

ARRAY_KEYS = (CELL, POSITIONS, NUMBERS, EDGE_INDEX, CELL_SHIFT, BLOCK_PTR, S, H0, HT, R_MATRIX)
OPTIONAL_KEYS = (H0, R_MATRIX)
"""Array keys a record may lack: H0 (imported data), the position matrix (not requested)."""
MATRIX_KEYS = (S, H0, HT)
