"""Cross-validated ridge encoding models: many targets, per-target alphas by efficient LOO.

Attributes are imported on first use (:mod:`brainbridge.lazy`): the solvers need neither
scikit-learn's estimator machinery nor torch unless the wrapper or the torch backend is used.
"""

from brainbridge.lazy import lazy_attributes

LAZY = {
    "CVResult": "brainbridge.encode.ridge",
    "RidgeEncoder": "brainbridge.encode.estimator",
    "RidgeFit": "brainbridge.encode.ridge",
    "cross_validated_scores": "brainbridge.encode.ridge",
    "fit_ridge_loo": "brainbridge.encode.ridge",
    "get_backend": "brainbridge.encode.backend",
    "make_folds": "brainbridge.encode.ridge",
    "score_predictions": "brainbridge.encode.ridge",
}
__all__ = sorted(LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, LAZY)
