"""A thin scikit-learn style wrapper around :func:`brainbridge.encode.ridge.fit_ridge_loo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from brainbridge.encode.ridge import RidgeFit, fit_ridge_loo, score_predictions

DEFAULT_ALPHAS = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6)


class RidgeEncoder(BaseEstimator):
    """Multi-target ridge with an intercept and one LOO-chosen alpha per target.

    Attributes after ``fit``: ``coef_`` (n_features, n_targets), ``intercept_`` (n_targets,),
    ``alpha_`` (n_targets,), ``n_features_in_``.
    """

    def __init__(
        self,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        *,
        backend: str = "auto",
        dtype: str | None = None,
        target_batch: int | None = None,
        scoring: str = "pearson",
    ) -> None:
        self.alphas = alphas
        self.backend = backend
        self.dtype = dtype
        self.target_batch = target_batch
        self.scoring = scoring

    def fit(self, X: Any, Y: Any) -> RidgeEncoder:
        """Fit on ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_targets)."""
        fit = fit_ridge_loo(
            X,
            Y,
            self.alphas,
            backend=self.backend,
            dtype=self.dtype,
            target_batch=self.target_batch,
        )
        self.fit_: RidgeFit = fit
        self.coef_ = fit.coef
        self.intercept_ = fit.intercept
        self.alpha_ = fit.alpha
        self.n_features_in_ = fit.coef.shape[0]
        return self

    def _fitted(self) -> RidgeFit:
        if not hasattr(self, "fit_"):
            raise ValueError("this RidgeEncoder is not fitted yet; call fit(X, Y) first")
        return self.fit_

    def predict(self, X: Any) -> np.ndarray:
        """Predicted responses (n_samples, n_targets)."""
        return self._fitted().predict(X)

    def score_targets(self, X: Any, Y: Any) -> np.ndarray:
        """Per-target score (Pearson r or R^2, see ``scoring``) of the predictions on ``X``."""
        return score_predictions(Y, self.predict(X), self.scoring)

    def score(self, X: Any, Y: Any) -> float:
        """Mean over targets of :meth:`score_targets`."""
        return float(np.mean(self.score_targets(X, Y)))
