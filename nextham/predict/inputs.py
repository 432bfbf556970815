"""What ``bands`` and ``optics`` analyse: a structure file (predicted) or a store entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ase import Atoms

from nextham.dft.settings import EngineSettings
from nextham.predict.predictor import Predictor
from nextham.predict.verify import check_verifiable, verify_policy
from nextham.record import keys as K
from nextham.store.hdf5 import read_record
from nextham.structures.read import read_structures, record_atoms


@dataclass
class AnalysisInput:
    """A record whose ``HT`` is the Hamiltonian to analyse, its structure and engine settings,
    the stored DFT record when a prediction is compared with it, warnings to show and the
    reliability report of a prediction (empty for a DFT Hamiltonian)."""

    record: dict
    atoms: Atoms
    settings: EngineSettings
    reference: dict | None = None
    warnings: list[str] = field(default_factory=list)
    reliability: dict = field(default_factory=dict)


def load_input(
    path: str | Path,
    model: str | Path | None = None,
    gate: bool = True,
    verify: str | bool = "auto",
) -> AnalysisInput:
    """Resolve ``path``: a store entry (``*.h5``) or a structure file.

    A dataset entry gives its DFT Hamiltonian or, with ``model``, the model's prediction with the
    entry as reference; a prediction entry gives the stored prediction; a structure file is
    predicted with ``model`` (default: the shipped model). ``gate=False`` predicts the raw
    H0 + ΔH of a committee model (:attr:`Predictor.gate`); ``verify`` says when a new prediction is
    checked against self-consistency (:attr:`Predictor.verify`: auto, always, never).
    """
    path = Path(path)
    if path.suffix == ".h5":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such entry file")
        rec = read_record(path)
        atoms, settings = record_atoms(rec), EngineSettings.from_meta(rec[K.META])
        if rec[K.META].get("hamiltonian", "dft") == "predicted" or model is None:
            return AnalysisInput(
                rec, atoms, settings, reliability=rec[K.META].get("reliability", {})
            )
        predictor = Predictor.from_file(model)
        predictor.gate, predictor.verify = gate, verify
        pred = predictor.predict_record(rec, path.stem)
        return AnalysisInput(
            pred.record, atoms, settings, reference=rec, reliability=pred.reliability
        )
    ((name, atoms),) = read_structures([path])
    if verify_policy(verify) == "always":
        check_verifiable(len(atoms), name)  # before any work
    predictor = Predictor.from_file(model)
    predictor.gate, predictor.verify = gate, verify
    pred = predictor.predict(atoms, name)
    warnings = list(pred.reliability.get("reasons", []))
    return AnalysisInput(
        pred.record, atoms, predictor.settings, warnings=warnings, reliability=pred.reliability
    )
