"""Model configuration: one plain dataclass, loadable from a YAML mapping.

Every model variant (scalar or spinor data, TraceGrad on/off, distance ensemble, time
reversal, species embedding) is a setting of :class:`ModelConfig` and the same
:class:`~nextham.model.nextham.NextHAM` module.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nextham.config import from_mapping

TIME_REVERSAL_MODES = ("auto", "on", "off")
DTYPES = ("float32", "float64")
BEFORE_OPTION = {"h0_squash": False}
"""Values of options for configs stored before the option existed (model files, checkpoints):
what those models were trained with, which may differ from today's default."""


@dataclass
class ModelConfig:
    """Hyper-parameters of :class:`~nextham.model.nextham.NextHAM`.

    Attributes
    ----------
    basis_ls : dict[int, tuple[int, ...]]
        Atomic number -> angular momentum of each shell (PySCF order), as ``BASIS_LS`` of
        the records. Fixes the padded orbital layout and so the output irreps.
    spinor : bool
        True for complex spinor blocks (spin–orbit data), False for real scalar blocks.
    node_irreps : str
        Node feature irreps; must contain ``0e`` scalars. Every multiplicity must be
        divisible by ``num_heads`` (values are split into heads by channel).
    edge_irreps : str or None
        Edge feature irreps. ``None`` uses ``edge_mul`` copies of every irrep of the output
        (so every ΔH component is reachable). An explicit string must contain every irrep
        type of the output, else the build fails naming the missing ones.
    edge_mul : int
        Multiplicity used when ``edge_irreps`` is None.
    num_layers : int
        Number of Transformer blocks.
    num_heads : int
        Attention heads.
    head_dim : int
        Width of attention queries and keys per head.
    sh_lmax : int
        Largest l of the spherical harmonics of the edge direction.
    cutoff : float
        Radius (Å) of the message-passing envelope; pairs of the record that are longer
        still receive a prediction (from their own H0 and the node features) but send no
        message.
    num_radial : int
        Number of Gaussian radial basis functions on [0, cutoff].
    radial_hidden : int
        Width of the radial MLPs giving tensor-product weights and attention keys.
    species_embedding : bool
        Add a learned embedding of the element (node) and element pair (edge); element
        identity always enters through H0 as well.
    species_descriptors : bool
        Append physical descriptors of each element (period, group, electronegativity,
        covalent radius; :mod:`nextham.model.species`) to the element code of nodes and edges,
        so that an element seen in few structures shares what was learnt on its neighbours in
        the periodic table. Off in model files written before the option.
    tracegrad : bool
        Enable the TraceGrad invariant z and its gradient update (off for ablation).
    tracegrad_scale : float
        Factor of the gradient ∂z/∂(edge features) added back to the edge features.
    tracegrad_hidden : int
        Width of the MLP mapping the invariant norms to z.
    time_reversal : {"auto", "on", "off"}
        Project spinor output onto Θ H Θ⁻¹ = H. ``auto``: on for structures whose record
        metadata does not say ``magnetic: true``; ``on``/``off``: always/never. Ignored for
        scalar data (real blocks are time-reversal symmetric already).
    ensemble_bounds : list of float or None
        Distance interval edges (Å), e.g. ``[0, 2.5, 5.0]``; the last interval is open
        above. One sub-model per interval predicts the pairs whose length falls in it.
        ``None`` is a single model.
    h0_input : bool
        Feed the H0 irreps to the network (default). ``False`` is the ablation "distance and
        element only": nodes and edges start from the species embedding and the radial basis
        (``species_embedding`` must then be on); the target is still ΔH = HT − H0.
    h0_skip : bool
        Add a learned linear map of the H0 irreps directly to the output (only with
        ``h0_input``).
    h0_squash : bool
        Feed the network each H0 irrep instance v as v / (1 + ‖v‖) (after ``h0_scale``),
        compressing the decades between on-site and long-range blocks; the ``h0_skip``
        read-out still sees the plain H0 irreps. Default on; model files written before
        this option existed load with it off (:func:`nextham.model.files.load_model`).
    h0_scale : float
        H0 (eV) is divided by this before entering the network.
    delta_scale : float
        The network output is multiplied by this (eV) to give ΔH.
    pair_scales : dict, "auto" or None
        Output scale (eV) per kind of block instead of ``delta_scale``: keys ``"Z"`` for the
        on-site block of element Z and ``"Za-Zb"`` (Za ≤ Zb) for the other blocks between
        those elements; kinds not listed take ``delta_scale``. ΔH spans decades across
        chemistry (on-site blocks of ionic crystals: eV, of elemental ones: meV), which one
        scale cannot serve. ``"auto"``: ``nextham train`` fills it with the RMS of ΔH per kind
        over the training split (:func:`nextham.train.data.pair_scales`).
    overlap_shift : bool
        Add a potential shift in the overlap: each atom a gets one learned invariant v_a,s per
        shell s (from its final node features, times its on-site scale), and every block
        gains ½(v_i,s(μ) + v_j,s(ν)) S_ij,μν(R), the first-order change of ⟨μ|H|ν⟩ under a
        potential that is constant near each atom (a spin-diagonal shift for spinor data).
        Charge transfer moves the on-site levels of ionic crystals by eV with respect to H0;
        this form carries the same shift into every block of the atom's pairs, which one
        scalar per shell describes (fitted to the labels, it explains most of H0's band error
        of KF, RbF, LiCl: docs/training.md). Needs a single network (no
        ``ensemble_bounds``); off in model files written before the option existed.
    coulomb_cutoff : float or None
        Long-range charge transfer (needs ``overlap_shift``): the same node features give one
        charge per atom, each structure is made neutral, and the electrostatic potential φ_i
        of all charges within this range (Å; Wolf's damped, shifted sum,
        :mod:`nextham.model.electrostatics`, which reproduces the Madelung potentials of
        rocksalt, CsCl and zincblende to 0.2 % at 9 Å) enters every shell's overlap shift as
        c_Z,s φ_i, with c learned per element and shell (zero at the start). The Madelung
        term of an ionic crystal is a 1/r sum that no message range holds. None: off (model
        files written before the option).
    coulomb_alpha : float
        Damping α of the Wolf sum (Å⁻¹; α R_c ≳ 2 for a converged sum).
    max_pair_length : float or None
        Pairs longer than this (Å) skip the network and keep H0 (ΔH = 0 there; the overlap
        shift still applies). At least ``cutoff``, so that no message is lost and the other
        pairs' predictions are the same as without it. In the universal dataset pairs beyond
        8 Å are 35 % of the pairs and hold 0.5 % of Σ|ΔH| (mean |ΔH| 0.02 meV). None: every
        pair of the record is predicted.
    h0_envelope : float or None
        Scale every pair block's output (not the on-site blocks') by ‖H0_e‖ / (‖H0_e‖ + h),
        h this value in eV and ‖·‖ the block's Frobenius norm: a pair's correction is then
        as small as its H0 is, so the many long pairs (‖H0_e‖ ≪ h) get no correction that
        the network did not make on purpose, and the loss's gradient goes to the short ones
        that carry ΔH (docs/training.md). None: off (model files written before the option).
    global_context : bool
        After every Transformer block, add to each atom's invariant features an MLP of the
        mean invariant features of its structure (:mod:`nextham.model.context`): what the
        whole structure is (its screening, metal or insulator), which a few message-passing
        shells do not see. Intensive, so a supercell gets its primitive cell's prediction.
        Off in model files written before the option.
    dtype : {"float32", "float64"}
        Floating-point precision of parameters and batches.
    edge_chunk : int
        Pairs per chunk of all per-pair work (block ↔ irreps maps, embedding, Transformer
        values and edge updates, TraceGrad, read-out): keeps temporaries in cache, so the cost
        per pair does not grow with the crystal; affects speed and memory, not results.
    """

    basis_ls: dict[int, tuple[int, ...]]
    spinor: bool = False
    node_irreps: str = "32x0e+8x0o+16x1o+16x1e+8x2e+8x2o+4x3o+4x3e"
    edge_irreps: str | None = None
    edge_mul: int = 8
    num_layers: int = 2
    num_heads: int = 4
    head_dim: int = 16
    sh_lmax: int = 3
    cutoff: float = 6.0
    num_radial: int = 16
    radial_hidden: int = 32
    species_embedding: bool = True
    tracegrad: bool = True
    tracegrad_scale: float = 0.1
    tracegrad_hidden: int = 32
    time_reversal: str = "auto"
    ensemble_bounds: list[float] | None = None
    h0_input: bool = True
    h0_skip: bool = True
    h0_squash: bool = True
    h0_scale: float = 10.0
    delta_scale: float = 1.0
    pair_scales: dict[str, float] | str | None = None
    overlap_shift: bool = False
    coulomb_cutoff: float | None = None
    coulomb_alpha: float = 0.25
    max_pair_length: float | None = None
    dtype: str = "float32"
    edge_chunk: int = 1024
    h0_envelope: float | None = None
    species_descriptors: bool = False
    global_context: bool = False

    def __post_init__(self) -> None:
        self.basis_ls = {int(z): tuple(int(l) for l in ls) for z, ls in self.basis_ls.items()}
        if self.ensemble_bounds is not None:
            self.ensemble_bounds = [float(b) for b in self.ensemble_bounds]
        self.check()

    def check(self) -> None:
        """Validate the scalar settings (irreps are validated when the model is built)."""
        positive = ("edge_mul", "num_layers", "num_heads", "head_dim", "num_radial", "edge_chunk")
        for name in (*positive, "radial_hidden", "tracegrad_hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.sh_lmax < 0:
            raise ValueError(f"sh_lmax must be ≥ 0, got {self.sh_lmax}")
        if not (self.h0_scale > 0 and self.delta_scale > 0):
            raise ValueError("h0_scale and delta_scale must be > 0")
        check_pair_scales(self.pair_scales)
        if not self.cutoff > 0:
            raise ValueError(f"cutoff must be > 0 Å, got {self.cutoff}")
        if self.h0_envelope is not None and not self.h0_envelope > 0:
            raise ValueError(f"h0_envelope must be > 0 eV or null, got {self.h0_envelope}")
        if self.max_pair_length is not None and not self.max_pair_length >= self.cutoff:
            raise ValueError(
                f"max_pair_length ({self.max_pair_length} Å) must be at least the message "
                f"cutoff ({self.cutoff} Å), or null to predict every pair"
            )
        if not self.h0_input and not self.species_embedding:
            raise ValueError(
                "h0_input=False needs species_embedding=True: without H0 the element must "
                "enter through the embedding"
            )
        if self.time_reversal not in TIME_REVERSAL_MODES:
            raise ValueError(f"time_reversal must be one of {TIME_REVERSAL_MODES}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        b = self.ensemble_bounds
        if b is not None and (
            len(b) < 1 or b[0] != 0.0 or any(x >= y for x, y in itertools.pairwise(b))
        ):
            raise ValueError(f"ensemble_bounds must start at 0 and increase, got {b}")
        if self.overlap_shift and b is not None:
            raise ValueError("overlap_shift needs a single network: remove ensemble_bounds")
        if self.coulomb_cutoff is not None:
            if not self.overlap_shift:
                raise ValueError("coulomb_cutoff acts through the overlap shift: set "
                                 "overlap_shift: true, or coulomb_cutoff: null")  # fmt: skip
            if not (self.coulomb_cutoff > 0 and self.coulomb_alpha > 0):
                raise ValueError("coulomb_cutoff (Å) and coulomb_alpha (1/Å) must be > 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Build from a mapping (e.g. ``yaml.safe_load``); unknown keys are an InputError."""
        return from_mapping(cls, data, "model config")

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (YAML/JSON friendly) that :meth:`from_dict` reads back."""
        out = dataclasses.asdict(self)
        out["basis_ls"] = {int(z): list(ls) for z, ls in self.basis_ls.items()}
        return out


def pair_scale_key(za: int, zb: int, onsite: bool) -> str:
    """The :attr:`ModelConfig.pair_scales` key of a block between elements ``za`` and ``zb``."""
    if onsite:
        return str(int(za))
    a, b = sorted((int(za), int(zb)))
    return f"{a}-{b}"


def check_pair_scales(scales) -> None:
    """``pair_scales`` must be None, "auto" or {key: positive eV}."""
    if scales is None or scales == "auto":
        return
    if not isinstance(scales, Mapping):
        raise ValueError(f"pair_scales must be a mapping, 'auto' or null, got {scales!r}")
    bad = [k for k, v in scales.items() if not float(v) > 0]
    if bad:
        raise ValueError(f"pair_scales must be positive (eV); not so for {bad}")
