"""Predict a crystal's Hamiltonian from its structure: engine H0 (no SCF) + model ΔH.

>>> from ase.build import bulk
>>> from nextham.predict import Predictor
>>> p = Predictor.from_file()                  # the model shipped with the package
>>> pred = p.predict(bulk("Si", "diamond", a=5.43), name="Si")
>>> pred.record["HT"], pred.reliability["flag"]   # H = H0 + g ⊙ ΔH (eV), "ok"/"warn"/"fail"

A committee model file with a calibrated uncertainty (:mod:`nextham.predict.gate`) gates the
correction per block (``Predictor.gate = False`` gives the raw H0 + ΔH) and adds the
uncertainty to the reliability flag; other model files predict H0 + ΔH and flag from the
training-domain statistics alone (the report's ``"uncertainty"`` says so).

The prediction is a store record (:mod:`nextham.record.keys`) whose ``HT`` slot holds the
predicted Hamiltonian and whose ``META["hamiltonian"]`` is ``"predicted"``; it can be written
with :class:`nextham.store.dataset.Dataset`, exported to DeepH/DeePTB, or plotted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from nextham.dft.engine import zeroth_step
from nextham.dft.settings import EngineSettings, element_details, stored_settings
from nextham.errors import InputError
from nextham.memory import retained_memory
from nextham.model.files import load_model
from nextham.predict import budget, spin_orbit
from nextham.predict.core import predict_committee, predict_hamiltonians
from nextham.predict.domain import reliability, unseen_pair_mask
from nextham.predict.environment import MARGIN, block_familiarity
from nextham.predict.gate import combine_flags, gated_hamiltonian, uncertainty_report
from nextham.predict.verify import (
    auto_check,
    fock_residuals,
    verification,
    verify_policy,
    with_verification,
)
from nextham.record import keys as K
from nextham.record.layout import require_h0
from nextham.spectra import largecell
from nextham.spectra.eigen import band_energies, mesh_fermi_level
from nextham.spectra.kspace import gamma_mesh
from nextham.structures.read import validate


def default_model_path() -> Path:
    """The model file shipped with the package (see docs/default-model.md)."""
    return Path(str(resources.files("nextham") / "data" / "models" / "default.safetensors"))


@dataclass
class Prediction:
    """One predicted structure: its record (HT = predicted H), reliability report, timings (s)."""

    name: str
    record: dict
    reliability: dict
    times: dict


class Predictor:
    """A loaded model plus the engine settings it was trained with.

    Parameters
    ----------
    model : NextHAM
        The network, in eval mode.
    meta : dict
        The model file's metadata (:func:`nextham.model.files.read_model_metadata`).
    path : str
        Where the model came from (reported in prediction metadata).
    """

    def __init__(self, model, meta: dict, path: str = "<memory>"):
        self.model, self.meta, self.path = model, meta, str(path)
        self.settings = EngineSettings.from_meta(meta)
        self.elements = set(meta["elements"])
        self._check_engine_tables()

    @classmethod
    def from_file(cls, path: str | Path | None = None, device: str = "cpu") -> Predictor:
        """Load a model file (``None``: the shipped default model)."""
        path = default_model_path() if path is None else Path(path)
        model, meta = load_model(path, device=device)
        return cls(model, meta, str(path))

    def _check_engine_tables(self) -> None:
        """The basis/pseudopotential/cutoff of each element must be what the model saw."""
        stored = self.meta.get("element_details", {})
        for symbol, want in stored.items():
            have = element_details([atomic_numbers[symbol]], self.settings)[symbol]
            diff = {k: (v, have.get(k)) for k, v in want.items() if k in have and have[k] != v}
            if diff:
                detail = ", ".join(f"{k}: model {a!r}, engine {b!r}" for k, (a, b) in diff.items())
                raise InputError(
                    f"{self.path}: this nextham's engine treats {symbol} differently from the "
                    f"model's training data ({detail}); retrain the model with this version"
                )

    def check(self, atoms: Atoms, name: str = "structure") -> None:
        """Refuse structures with elements the model was not trained on."""
        missing = sorted(set(atoms.get_chemical_symbols()) - self.elements)
        if missing:
            raise InputError(
                f"{name}: element(s) {', '.join(missing)} not covered by the model "
                f"{self.path} (trained on {', '.join(sorted(self.elements))}); train a model "
                "that includes them"
            )

    def check_record(self, record: dict, name: str = "record") -> None:
        """Refuse a precomputed record without H0 or made with other engine settings or
        elements (a spinor record for a scalar model: see :mod:`nextham.predict.spin_orbit`)."""
        require_h0(record, name)
        if self.scalar_on_spinor(record):
            spin_orbit.check_spinor_record(record, self.settings, name)
        else:
            settings = stored_settings(record[K.META])
            if settings != self.settings:
                have = None if settings is None else settings.to_dict()
                raise InputError(
                    f"{name}: computed with engine settings {have}, but the model was trained "
                    f"with {self.settings.to_dict()}; recompute it with the model's settings"
                )
        self.check(Atoms([chemical_symbols[int(z)] for z in record[K.NUMBERS]]), name)

    def scalar_on_spinor(self, record: dict) -> bool:
        """Whether a scalar model corrects this spinor record spin-diagonally."""
        return bool(record[K.SPINOR]) and not self.settings.spinor

    def run_settings(self, spin: str | None = None) -> EngineSettings:
        """Engine settings of a prediction: the model's, or with ``spin="soc"`` a scalar
        model's basis with the GTH spin–orbit projectors in H0
        (:func:`nextham.predict.spin_orbit.soc_settings`)."""
        if spin is None or spin == self.settings.spin:
            return self.settings
        if spin == "soc":
            return spin_orbit.soc_settings(self.settings)
        raise InputError(
            f"the model {self.path} predicts spin '{self.settings.spin}' structures; "
            f"spin {spin!r} needs a model trained for it"
        )

    h0_method = "auto"
    """How ``predict`` builds H0 (:data:`nextham.dft.engine.H0_METHODS`): ``auto`` uses the
    multigrid build where it applies and its elements are verified (within 0.1 meV of the
    training data's H0, faster; :data:`nextham.dft.gridfock.VERIFIED_ELEMENTS`)."""

    spectral_method = "auto"
    """How the Fermi level of a prediction is found (:data:`nextham.spectra.largecell.METHODS`):
    ``auto`` diagonalizes densely up to :data:`~nextham.spectra.largecell.SPARSE_THRESHOLD`
    levels per k-point and uses inertia slicing of sparse H(k), S(k) above (the same value,
    without forming dense matrices); ``META["fermi_level_method"]`` records which was used."""

    gate = True
    """Apply the gate of a calibrated committee (H = H0 + g ⊙ ΔH); False gives H0 + ΔH. No
    effect for model files without an uncertainty."""

    verify: str | bool = "auto"
    """When to check a prediction against self-consistency (:mod:`nextham.predict.verify`:
    one Fock build of its density and of H0's): ``"auto"`` where the estimated flag says
    ``warn``/``fail`` and the cell has at most :data:`~nextham.predict.verify.AUTO_MAX_ATOMS`
    atoms (scalar corrections: not a spinor model's, whose SO-ECP Fock builds are dear),
    ``"always"`` (or True; cells up to :data:`~nextham.predict.verify.MAX_ATOMS`),
    ``"never"`` (or False). A checked prediction's flag is the check's, and the H returned is
    whichever of the gated H, the raw H0 + ΔH and H0 is closest to self-consistency (with
    ``gate`` off: the raw H). A scalar model on a spinor record is checked on the scalar part
    it corrects."""

    workers: int | None = None
    """Processes that build a large cell's pair-block H0 (:mod:`nextham.dft.parallel`); None:
    :func:`~nextham.dft.parallel.default_workers` (the usable cores, at most
    ``$OMP_NUM_THREADS``). The numbers do not depend on it."""

    report: Callable[[str], None] | None = None
    """Called with one line after each stage of :meth:`predict` (pairs and S, H0, model,
    Fermi level); None: silent."""

    @property
    def has_uncertainty(self) -> bool:
        """Whether the model file holds a calibrated committee (uncertainty and gate)."""
        return "committee" in self.meta and "uncertainty" in self.meta

    def predict(self, atoms: Atoms, name: str = "structure", spin: str | None = None) -> Prediction:
        """Build S and H0 with the engine (no SCF), then apply the model; ``spin="soc"`` with
        a scalar model: spinor H0 with the GTH spin–orbit term, corrected spin-diagonally."""
        atoms = validate(atoms, name)
        self.check(atoms, name)
        settings = self.run_settings(spin)
        need = budget.prediction_bytes(atoms, settings, self.h0_method, self.workers)
        budget.check_fits(name, need)
        record, _mf = zeroth_step(
            atoms, settings, h0_method=self.h0_method, report=self.report, workers=self.workers
        )
        return self.predict_record(record, name)

    def predict_record(self, record: dict, name: str = "structure") -> Prediction:
        """Apply the model to a record holding S and H0 (``HT`` is replaced, not used), then
        find its Fermi level, keeping freed memory meanwhile (:func:`nextham.memory.
        retained_memory`)."""
        self.check_record(record, name)
        with retained_memory():
            return self._predict_checked(record, name)

    def _predict_checked(self, record: dict, name: str) -> Prediction:
        t0 = time.perf_counter()
        spin_diag = self.scalar_on_spinor(record)
        source = spin_orbit.scalar_part(record) if spin_diag else record
        h, raw, uncertainty = self._apply(source)
        t_model = time.perf_counter() - t0
        self._report(f"model applied ({t_model:.1f} s)")
        h, report = self._checked(source, h, raw, uncertainty)
        if spin_diag:  # H = H0 + ΔH ⊗ I₂ (the spin–orbit term is H0's)
            h = record[K.H0] + spin_orbit.spin_diagonal(h - source[K.H0], record)
        out = {**record, K.HT: h, K.META: dict(record[K.META])}
        times = {"h0_s": float(record[K.META].get("time_h0_s") or 0.0), "model_s": t_model}
        fermi, found = prediction_spectra(out, self.settings, self.spectral_method)
        out[K.META].update(found)
        out[K.META].update(
            {
                "hamiltonian": "predicted",
                "model": {"path": self.path, "nextham_version": self.meta.get("nextham_version")},
                "fermi_level": fermi,
                "fermi_level_method": largecell.spectral_method(out, self.spectral_method),
                "time_model_s": t_model,
                "reliability": report,
                "correction": "spin-diagonal (scalar model)" if spin_diag else "full",
            }
        )
        self._report(f"Fermi level {out[K.META]['fermi_level']:.3f} eV "
                     f"({time.perf_counter() - t0 - t_model:.1f} s)")  # fmt: skip
        for key in ("eigenvalues", "kpts_frac", "energy_ev", "scf_converged", "scf_cycles"):
            out[K.META].pop(key, None)  # DFT results of a reference, not of the prediction
        return Prediction(name, out, report, times)

    def _checked(self, source: dict, h: np.ndarray, raw: np.ndarray, uncertainty) -> tuple:
        """(H returned, reliability report) under the :attr:`verify` policy: the estimate
        (domain statistics and committee), and the check where the policy asks for it."""
        policy = verify_policy(self.verify)
        check = self._verify(source, h, raw) if policy == "always" else None
        chosen = h if check is None else self._returned(check, source, h, raw)
        report = self._estimate(source, chosen, raw, uncertainty)
        n_atoms = len(np.asarray(source[K.NUMBERS]))
        doubted = auto_check(report["flag"], n_atoms, bool(source[K.SPINOR]))
        if check is None and policy == "auto" and doubted:
            check = self._verify(source, h, raw)
            chosen = self._returned(check, source, h, raw)
            report = self._estimate(source, chosen, raw, uncertainty)
        if check is not None:
            report = with_verification(report, check)
        return chosen, report

    @staticmethod
    def _returned(check: dict, source: dict, h: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """The Hamiltonian the check chose."""
        return {"h0": np.array(source[K.H0], copy=True), "raw": raw, "gated": h}[check["returned"]]

    def _estimate(self, source: dict, h: np.ndarray, raw: np.ndarray, uncertainty) -> dict:
        """The estimated reliability of returning ``h``: domain statistics and the committee."""
        domain = {}
        if "domain" in self.meta:
            margin = self.meta.get("uncertainty", {}).get("margin", MARGIN)
            domain = reliability({**source, K.HT: h}, raw, self.meta["domain"], margin)
        raises = "coordination" not in self.meta.get("domain", {})
        return combine_flags(domain, uncertainty, domain_raises=raises)

    def _verify(self, record: dict, h: np.ndarray, raw: np.ndarray) -> dict:
        """The self-consistency check of the raw and (when gating) the returned H."""
        t0 = time.perf_counter()
        hams = {"raw": raw, **({"gated": h} if self.gate and h is not raw else {})}
        check = verification(fock_residuals(record, self.settings, hams), choose=self.gate)
        self._report(f"self-consistency check ({time.perf_counter() - t0:.1f} s)")
        return check

    def _report(self, line: str) -> None:
        if self.report is not None:
            self.report(line)

    def _apply(self, record: dict) -> tuple:
        """(H returned, raw H0 + ΔH, uncertainty report or None) of one record."""
        if not self.has_uncertainty:
            (h,) = predict_hamiltonians(self.model, [record])
            return h, h, None
        ((delta, members),) = predict_committee(self.model, [record])
        familiar, unseen = self._familiarity(record)
        report, g = uncertainty_report(
            record, delta, members, self.meta["uncertainty"], familiar, unseen
        )
        raw = record[K.H0] + delta
        report["gate_applied"] = bool(self.gate)
        return (gated_hamiltonian(record, delta, g) if self.gate else raw), raw, report

    def _familiarity(self, record: dict) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per block: the familiarity of the two atoms' environments (None for model files
        without coordination statistics) and whether its element pair never met in training
        (None without domain statistics)."""
        domain = self.meta.get("domain")
        if domain is None:
            return None, None
        f = None
        if "coordination" in domain:
            margin = self.meta["uncertainty"].get("margin", MARGIN)
            f = block_familiarity(record, domain["coordination"], margin)
        return f, unseen_pair_mask(record, domain)

    def fermi_level(self, record: dict) -> float:
        """Fermi level (eV) of ``record[HT]`` on the model's SCF k-mesh, same smearing."""
        return prediction_spectra(record, self.settings, self.spectral_method)[0]


def prediction_spectra(
    record: dict, settings: EngineSettings, method: str = "auto"
) -> tuple[float, dict]:
    """(E_F in eV, META entries) of ``record[HT]`` on the settings' SCF k-mesh and smearing;
    ``method`` as :func:`largecell.spectral_method`. On the sparse path with one k-point (a
    large cell's Γ) the band edges and the KPM DOS that placed E_F come with it
    (:meth:`largecell.CellSpectra.summary`)."""
    mesh = settings.kmesh_for(record[K.CELL])
    if largecell.spectral_method(record, method) == "sparse":
        cell = largecell.CellSpectra(record, record[K.HT], gamma_mesh(mesh))
        return cell.fermi_level(settings.smearing_ev), cell.summary()
    return mesh_fermi_level(record, record[K.HT], mesh, settings.smearing_ev)[0], {}


def predict_structures(
    predictor: Predictor, structures: list[tuple[str, Atoms]]
) -> list[Prediction]:
    """Predictions for (name, atoms) pairs, in order (see :meth:`Predictor.predict`)."""
    return [predictor.predict(atoms, name) for name, atoms in structures]


def band_gap_summary(record: dict, kmesh=(4, 4, 4)) -> dict:
    """Smallest direct/indirect gap (eV) around the record's Fermi level on a Γ-centred mesh."""
    eps = band_energies(record, record[K.HT], gamma_mesh(kmesh))
    ef = float(record[K.META]["fermi_level"])
    below, above = eps[eps <= ef], eps[eps > ef]
    if not below.size or not above.size:
        return {"gap_ev": 0.0}
    return {"gap_ev": float(max(above.min() - below.max(), 0.0))}


__all__ = ["Prediction", "Predictor", "default_model_path", "predict_structures"]
