"""Prediction: structure → engine H0 → model ΔH → H, with a reliability report.

See :mod:`nextham.predict.predictor` for the API and :mod:`nextham.predict.domain` for the
reliability flag.
"""

from nextham.predict.core import predict_hamiltonians
from nextham.predict.domain import domain_statistics, reliability
from nextham.predict.predictor import (
    Prediction,
    Predictor,
    default_model_path,
    predict_structures,
)

__all__ = [
    "Prediction",
    "Predictor",
    "default_model_path",
    "domain_statistics",
    "predict_hamiltonians",
    "predict_structures",
    "reliability",
]
