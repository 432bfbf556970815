"""Engine settings and the per-element table of pseudopotential, basis and plane-wave cutoff.

Two spin modes:

``scalar``
    GTH pseudopotentials (``gth-pbe``) with GTH basis sets, spin-restricted ``KRKS``.
``soc``
    ``KGKS`` with ``with_soc=True``, the spin–orbit term from one of two sources
    (``soc_method``):

    ``ecp`` (default)
        Elements that have a spin–orbit ECP in PySCF's library use it with a def2 basis
        (complex spinor Hamiltonian including the ECP's SO term). Elements without one keep
        their scalar GTH pseudopotential and basis in the same run: their blocks are still
        spinors, but carry no spin–orbit term of their own (the *documented scalar
        treatment*, adequate for light elements whose SOC is below the meV scale).
    ``gth``
        Every element keeps the scalar run's GTH-PBE pseudopotential and basis family, and
        the pseudopotential's own spin–orbit projectors (HGH; :mod:`nextham.dft.gth_soc`)
        are added to the core Hamiltonian: H = (scalar H) ⊗ 1 + V_SO, in the same basis as
        the scalar labels.

The cutoff ``ke_cutoff`` (eV) sets PySCF's integration mesh. Semicore pseudopotentials and
all-electron-like tight Gaussians of ECP bases need large meshes; the values below were
chosen by converging eigenvalues (see ``benchmarks/element_cost.py`` and docs/engine.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from ase.data import chemical_symbols

from nextham.config import from_mapping
from nextham.conventions import electrons_per_level
from nextham.dft.element_table import measured_cutoff_ev
from nextham.dft.gth_soc import has_gth_soc, soc_channels
from nextham.errors import InputError
from nextham.record import keys as K

SPIN_MODES = ("scalar", "soc")
SOC_METHODS = ("ecp", "gth")
"""Source of the spin–orbit term of ``soc`` runs (module docstring)."""

SCALAR_BASIS: dict[str, tuple[str | None, str]] = {
    "szv": ("gth-szv", "gth-szv-molopt-sr"),
    "dzvp": ("gth-dzvp", "gth-dzvp-molopt-sr"),
    "szv-molopt-sr": (None, "gth-szv-molopt-sr"),
    "dzvp-molopt-sr": (None, "gth-dzvp-molopt-sr"),
}
"""Basis family name → (plain GTH name, MOLOPT-SR name used where the plain one is missing).
The ``*-molopt-sr`` families use the MOLOPT-SR basis for every element (H–Ba, Hf–Rn): one
basis family, built for condensed phases, for the whole table; their plane-wave cutoffs come
from the measured element table (:mod:`nextham.dft.element_table`)."""

MOLOPT_FAMILIES = ("szv-molopt-sr", "dzvp-molopt-sr")

H0_METHODS = ("auto", "reference", "multigrid")
"""How H0 (and, in a label, the SCF and HT) is built: ``reference`` (PySCF's FFT-based
``get_hcore`` + ``get_veff``, as for the training data), ``multigrid``
(:mod:`nextham.dft.gridfock`, GTH scalar runs only) or ``auto`` (multigrid where it applies and
every element is verified to match the reference, see
:data:`nextham.dft.gridfock.VERIFIED_ELEMENTS`; else reference)."""


# Elements with a plain GTH basis in PySCF's library, and those with MOLOPT-SR bases.
_PLAIN_GTH = set(range(1, 19)) | {31, 32, 33}
_MOLOPT = set(range(1, 57)) | set(range(72, 87))
MOLOPT_ELEMENTS: tuple[str, ...] = tuple(chemical_symbols[z] for z in sorted(_MOLOPT))
"""The 71 elements every scalar basis family can compute (MOLOPT-SR: H–Ba, Hf–Rn): the default
element set of ``nextham generate --recipe universal``."""

SO_ECP = {
    **dict.fromkeys("Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe".split(), "ecpds28mdfso"),
    **dict.fromkeys(["Cs", "Ba"], "ecpds46mdfso"),
    **dict.fromkeys(["Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn"], "ecpds60mdfso"),
}
"""Spin–orbit ECP per element (PySCF basis library names), chosen to match the core of the def2
basis: Rb–Xe 28 electrons, Cs–Ba 46, Au–Rn 60. K–Kr have SO-ECPs in PySCF (``ecpds10mdfso``) but
def2 bases are all-electron there, so they get the scalar GTH treatment."""

SOC_BASIS = "def2-svp"
"""Basis used with the spin–orbit ECPs (its own scalar ECP is replaced by the SO one)."""

KE_CUTOFF_EV: dict[str, float] = {
    **dict.fromkeys(["H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne"], 1400.0),
    "Na": 6000.0,  # semicore GTH pseudopotentials: large meshes (benchmarks/element_cost.py)
    "Mg": 9000.0,
    **dict.fromkeys(["Al", "Si", "P", "S", "Cl", "Ar"], 800.0),
    "Ga": 4000.0,  # 3d semicore
    **dict.fromkeys(["Ge", "As", "Se", "Br", "In", "Sn", "Sb", "Te", "I"], 1400.0),
    **dict.fromkeys(["Tl", "Pb", "Bi"], 1400.0),
}
"""Plane-wave kinetic-energy cutoff per element with its GTH pseudopotential (eV); a run uses the
largest over its elements. Elements not listed use PySCF's automatic mesh."""

KE_CUTOFF_SOC_EV: dict[str, float] = dict.fromkeys(list(SO_ECP), 2700.0)
"""Cutoff (eV) for elements with an SO-ECP and the def2 basis, whose tight Gaussians would
otherwise give meshes of 150³ and more per 5 Å. For fcc Pb, Γ eigenvalues at 2700 eV (100 Ha)
are within 0.04 eV of 6800 eV (250 Ha); see docs/engine.md."""


@dataclass(frozen=True)
class EngineSettings:
    """Everything that defines how a structure's S, H0 and HT are computed.

    Attributes
    ----------
    spin : {"scalar", "soc"}
        Spin treatment (see module docstring).
    basis : {"szv", "dzvp", "szv-molopt-sr", "dzvp-molopt-sr"}
        GTH basis family for scalar-treated elements (:data:`SCALAR_BASIS`).
    xc : str
        Exchange–correlation functional (LDA/GGA; hybrids are not supported by KGKS).
    kmesh : tuple of int
        Monkhorst–Pack mesh of the SCF (Γ-centred), the same for every cell; ignored when
        ``kspacing`` is set.
    kspacing : float or None
        k-point spacing (Å⁻¹, 2π included, as VASP's KSPACING): each cell gets the mesh of
        :func:`kmesh_from_spacing`, so that a supercell samples the Brillouin zone as densely
        as its primitive cell and both converge to the same Hamiltonian (a fixed ``kmesh`` on
        cells of different size gives different converged Hamiltonians: 0.2 eV in Si on-site
        blocks between the 2-atom cell and the 8-atom cubic cell at 2×2×2).
    smearing_ev : float
        Fermi–Dirac smearing width in eV (0 disables smearing; metals need it).
    conv_tol_ev : float
        SCF energy convergence threshold in eV.
    max_cycle : int
        Maximum SCF iterations.
    overlap_threshold : float
        A pair (i, j, R) is stored when max |S_ij(R)| exceeds this (unless ``cutoff`` is set).
    cutoff : float or None
        If set, pairs are stored when the interatomic distance is at most this (Å) instead.
    ke_cutoff_ev : float or None
        Override of the per-element cutoff table (eV).
    h0_spin_orbit : bool
        ``soc`` only: whether H0 includes the ECPs' spin–orbit term (default). With ``False``
        H0 is the scalar-relativistic SAD Fock matrix (spin-diagonal, real) while HT keeps the
        full spinor Hamiltonian, so ΔH = HT − H0 carries the whole spin–orbit coupling and a
        model learns it instead of copying it from H0.
    position_matrix : bool
        Also store the position matrix <φ_i0|r|φ_jR> of every pair (``K.R_MATRIX``), for
        exact optical velocities and the ABACUS rR export (off by default: 3 × the size of S).
    soc_method : {"ecp", "gth"}
        ``soc`` only: the spin–orbit term from SO-ECPs with def2 bases (default) or from the
        GTH pseudopotentials' spin–orbit projectors in the scalar basis family
        (:data:`SOC_METHODS`).
    """

    spin: str = "scalar"
    basis: str = "szv"
    xc: str = "pbe"
    kmesh: tuple[int, int, int] = (2, 2, 2)
    kspacing: float | None = None
    smearing_ev: float = 0.1
    conv_tol_ev: float = 1e-7
    max_cycle: int = 60
    overlap_threshold: float = 1e-5
    cutoff: float | None = None
    ke_cutoff_ev: float | None = None
    h0_spin_orbit: bool = True
    position_matrix: bool = False
    soc_method: str = "ecp"

    def __post_init__(self) -> None:
        if self.spin not in SPIN_MODES:
            raise ValueError(f"spin must be one of {SPIN_MODES}, got {self.spin!r}")
        if self.basis not in SCALAR_BASIS:
            raise ValueError(f"basis must be one of {sorted(SCALAR_BASIS)}, got {self.basis!r}")
        if len(self.kmesh) != 3 or min(self.kmesh) < 1:
            raise ValueError(f"kmesh must be three positive integers, got {self.kmesh!r}")
        object.__setattr__(self, "kmesh", tuple(int(k) for k in self.kmesh))
        if self.kspacing is not None and not self.kspacing > 0:
            raise ValueError(f"kspacing must be a positive number (Å⁻¹), got {self.kspacing!r}")
        if not self.h0_spin_orbit and self.spin != "soc":
            raise ValueError("h0_spin_orbit=False needs spin='soc' (scalar runs have no SO term)")
        if self.soc_method not in SOC_METHODS:
            raise ValueError(f"soc_method must be one of {SOC_METHODS}, got {self.soc_method!r}")
        if self.soc_method != "ecp" and self.spin != "soc":
            raise ValueError(f"soc_method={self.soc_method!r} needs spin='soc'")

    @property
    def gth_spin_orbit(self) -> bool:
        """Whether the spin–orbit term comes from the GTH projectors (``soc_method='gth'``)."""
        return self.spin == "soc" and self.soc_method == "gth"

    @property
    def spinor(self) -> bool:
        """Whether the Hamiltonians are complex spinor matrices (``spin == "soc"``)."""
        return self.spin == "soc"

    @property
    def degeneracy(self) -> float:
        """Electrons per eigenstate: 1 for spinor runs, 2 for scalar ones."""
        return electrons_per_level(self.spinor)

    def kmesh_for(self, lattice_ang: np.ndarray | list) -> tuple[int, int, int]:
        """The SCF k-mesh of a cell with lattice vectors ``lattice_ang`` (3, 3) in Å: ``kmesh``,
        or the mesh of ``kspacing`` when set."""
        if self.kspacing is None:
            return self.kmesh
        return kmesh_from_spacing(lattice_ang, self.kspacing)

    def to_dict(self) -> dict:
        """JSON-serializable form, stored under :data:`nextham.record.keys.ENGINE_SETTINGS` in
        every record, dataset manifest and model file."""
        d = dataclasses.asdict(self)
        d["kmesh"] = list(self.kmesh)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> EngineSettings:
        """Inverse of :meth:`to_dict`; absent keys take their defaults (files written before a
        setting existed), unknown keys are an :class:`~nextham.errors.InputError`."""
        return from_mapping(cls, d, "engine settings", _tuple_kmesh)

    @classmethod
    def from_meta(cls, meta: Mapping) -> EngineSettings:
        """The settings stored in a record's ``META``, a manifest or a model file's metadata;
        the defaults where none are stored (e.g. a record imported from another code)."""
        found = stored_settings(meta)
        return cls() if found is None else found


def _tuple_kmesh(d: dict) -> dict:
    if "kmesh" in d:
        d["kmesh"] = tuple(d["kmesh"])
    return d


def stored_settings(meta: Mapping) -> EngineSettings | None:
    """The engine settings in ``meta`` (under :data:`~nextham.record.keys.ENGINE_SETTINGS`, or
    the key of files written before it), or None if it has none."""
    raw = meta.get(K.ENGINE_SETTINGS, meta.get(K.LEGACY_ENGINE_SETTINGS))
    return None if raw is None else EngineSettings.from_dict(raw)


def kmesh_from_spacing(lattice_ang: np.ndarray, spacing: float) -> tuple[int, int, int]:
    """Γ-centred mesh with at most ``spacing`` (Å⁻¹) between k-points along each reciprocal
    vector: n_i = max(1, ⌈|b_i| / spacing⌉), b = 2π (A⁻¹)ᵀ for lattice rows A (Å).

    >>> kmesh_from_spacing(np.diag([4.0, 4.0, 8.0]), 0.5)
    (4, 4, 2)
    """
    b = 2 * np.pi * np.linalg.inv(np.asarray(lattice_ang, dtype=float)).T
    # a relative tolerance keeps exact multiples (|b| = n·spacing) at n, not n + 1
    return tuple(max(1, math.ceil(n / spacing * (1 - 1e-9))) for n in np.linalg.norm(b, axis=1))


@dataclass(frozen=True)
class ElementChoice:
    """Pseudopotential/ECP and basis chosen for one element under some settings."""

    symbol: str
    basis: str
    pseudo: str | None
    ecp: str | None
    spin_orbit: bool


def uses_so_ecp(symbol: str, settings: EngineSettings) -> bool:
    """Whether ``symbol`` takes its SO-ECP and the def2 basis under ``settings``."""
    return settings.spin == "soc" and settings.soc_method == "ecp" and symbol in SO_ECP


def element_choice(z: int, settings: EngineSettings) -> ElementChoice:
    """Pick pseudopotential (or SO-ECP) and basis of element ``z`` for ``settings``."""
    symbol = chemical_symbols[z]
    if uses_so_ecp(symbol, settings):
        return ElementChoice(symbol, SOC_BASIS, None, SO_ECP[symbol], True)
    plain, molopt = SCALAR_BASIS[settings.basis]
    if z not in _MOLOPT:
        raise InputError(
            f"element {symbol} (Z={z}) has no GTH basis in PySCF's library: no basis family "
            f"({', '.join(SCALAR_BASIS)}) has it; they cover H–Ba and Hf–Rn (spin-orbit mode "
            "adds the SO-ECP elements)"
        )
    basis = plain if (plain is not None and z in _PLAIN_GTH) else molopt
    so = settings.gth_spin_orbit and has_gth_soc(symbol) and bool(soc_channels(symbol))
    return ElementChoice(symbol, basis, "gth-pbe", None, so)


def check_elements(numbers, settings: EngineSettings) -> None:
    """Refuse, before any work, elements that ``settings`` cannot compute (InputError naming
    every such element)."""
    problems = []
    for z in sorted({int(x) for x in numbers}):
        try:
            element_choice(z, settings)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError("; ".join(problems))


PAIR_THRESHOLD_MAX = {"dzvp": 1e-7}
"""The loosest overlap threshold at which a family's labels pass the spectral check, where the
default 1e-5 does not (``benchmarks/pair_rule.py``, 2×2×2 k, rattled Si₂ and SiC): gth-dzvp is
nearly linearly dependent in dense solids — SiC at 1e-5 and 1e-6 stores an indefinite S(k) (band
errors of eV), Si₂ fails at 1e-6; at 1e-7 both pass (0.2 and 4 meV; smallest S(k) eigenvalue
~2e-6, 6e-6). Datasets in such a family need a threshold at least this tight."""


PAIR_THRESHOLD_DEFAULT = {"szv": 1e-6, "szv-molopt-sr": 1e-6}
"""Families whose labels of metals fail the spectral check at 1e-5 and pass one decade
tighter (``benchmarks/pair_rule.py --cells Al``, fcc Al, 2×2×2 k): gth-szv 134 → 22 meV,
szv-molopt-sr 56 → 1.4 meV off-mesh band error (limit 50 meV); their semiconductors pass at
1e-5 (Si₂, SiC: 1.2–18 meV). ``nextham generate`` takes this threshold by default (a looser
one is allowed: the spectral gate then records the metals that fail); dzvp-molopt-sr passes
at 1e-5 (Al 0.3 meV)."""


def default_overlap_threshold(basis: str) -> float:
    """The pair threshold a dataset of ``basis`` takes by default: the engine's default, or the
    family's tighter :data:`PAIR_THRESHOLD_DEFAULT` / :data:`PAIR_THRESHOLD_MAX`."""
    return min(
        EngineSettings.overlap_threshold,
        PAIR_THRESHOLD_DEFAULT.get(basis, 1.0),
        PAIR_THRESHOLD_MAX.get(basis, 1.0),
    )


def check_pair_rule(settings: EngineSettings) -> None:
    """Refuse, before any work, a dataset whose pair threshold is too loose for its basis family
    to give labels that pass the spectral check (InputError naming the fix)."""
    limit = PAIR_THRESHOLD_MAX.get(settings.basis)
    if limit is not None and settings.overlap_threshold > limit:
        raise InputError(
            f"--basis {settings.basis} needs --threshold {limit:g} or tighter for labels that "
            f"pass the spectral check (at {settings.overlap_threshold:g} its stored S(k) can be "
            "indefinite: it is nearly linearly dependent in dense solids); give --threshold "
            f"{limit:g}, or use --basis dzvp-molopt-sr (double-zeta, built for condensed phases, "
            "passes at the default)"
        )


def ke_cutoff_ev(numbers, settings: EngineSettings) -> float | None:
    """Cutoff of a run over elements ``numbers`` (eV): the override or the table's maximum."""
    if settings.ke_cutoff_ev is not None:
        return float(settings.ke_cutoff_ev)
    values = []
    for z in set(numbers):
        symbol = chemical_symbols[int(z)]
        if uses_so_ecp(symbol, settings):
            values.append(KE_CUTOFF_SOC_EV.get(symbol))
        elif settings.basis in MOLOPT_FAMILIES:
            values.append(measured_cutoff_ev(symbol, settings.basis))
        else:
            values.append(KE_CUTOFF_EV.get(symbol))
    values = [v for v in values if v is not None]
    return max(values) if values else None


MAGNETIC_ELEMENTS = frozenset({"Cr", "Mn", "Fe", "Co", "Ni"})
"""Elements whose crystals are magnetic; the engine computes every structure spin-restricted
(non-magnetic), so for these the label is not the magnetic ground state (said per element in
:func:`element_details`, hence in every record, and in the element table)."""


def spin_treatment(symbol: str) -> str:
    """How the engine treats the element's spin, in words."""
    magnetic = symbol in MAGNETIC_ELEMENTS
    return "restricted (non-magnetic)" + (
        ": a magnetic element, its magnetic ground state is not computed" if magnetic else ""
    )


def element_details(numbers, settings: EngineSettings) -> dict:
    """Basis, pseudopotential/ECP, spin–orbit flag, cutoff (eV) and spin treatment per element
    symbol, as the engine picks them for ``settings``; stored in records and model files."""
    out = {}
    for z in sorted({int(x) for x in numbers}):
        c = element_choice(z, settings)
        out[c.symbol] = {
            "basis": c.basis,
            "pseudo": c.pseudo,
            "ecp": c.ecp,
            "spin_orbit": c.spin_orbit,
            "ke_cutoff_ev": ke_cutoff_ev([z], settings),
            "spin_treatment": spin_treatment(c.symbol),
        }
    return out
