"""Cross-validated ridge encoding models: many targets, per-target alphas by efficient LOO."""

from brainbridge.encode.backend import get_backend
from brainbridge.encode.estimator import RidgeEncoder
from brainbridge.encode.ridge import (
    CVResult,
    RidgeFit,
    cross_validated_scores,
    fit_ridge_loo,
    make_folds,
    score_predictions,
)

__all__ = [
    "CVResult",
    "RidgeEncoder",
    "RidgeFit",
    "cross_validated_scores",
    "fit_ridge_loo",
    "get_backend",
    "make_folds",
    "score_predictions",
]
