"""Prediction: structure → engine H0 → model ΔH → H, with a reliability report.

See :mod:`nextham.predict.predictor` for the API, :mod:`nextham.predict.domain` and
:mod:`nextham.predict.gate` for the reliability flag, :mod:`nextham.predict.gate` and
:mod:`nextham.predict.calibrate` for the calibrated uncertainty and the gate.
"""

from nextham.predict.core import predict_committee, predict_hamiltonians
from nextham.predict.domain import domain_statistics, reliability
from nextham.predict.gate import combine_flags, gate_factors, uncertainty_report
from nextham.predict.predictor import (
    Prediction,
    Predictor,
    default_model_path,
    predict_structures,
)

__all__ = [
    "Prediction",
    "Predictor",
    "combine_flags",
    "default_model_path",
    "domain_statistics",
    "gate_factors",
    "predict_committee",
    "predict_hamiltonians",
    "predict_structures",
    "reliability",
    "uncertainty_report",
]
