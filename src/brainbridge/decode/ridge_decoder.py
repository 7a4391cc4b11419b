"""Ridge decoding: brain patterns -> layer features with the project's ridge engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from brainbridge.decode.zscored_ridge import ZScoredRidge, ridge_decoder
from brainbridge.encode.estimator import DEFAULT_ALPHAS


class RidgeDecoder(BaseEstimator):
    """Z-scores the brain pattern (training statistics), then multi-target ridge to features.

    One alpha per feature by efficient leave-one-out (:func:`fit_ridge_loo`). ``X`` may have
    any trailing shape (channel x time window); it is flattened per trial.
    """

    def __init__(self, alphas: Sequence[float] = DEFAULT_ALPHAS, *, backend: str = "auto") -> None:
        self.alphas = alphas
        self.backend = backend

    def fit(self, X: Any, Y: Any) -> RidgeDecoder:
        self.model_ = ZScoredRidge.train(X, Y, self.alphas, self.backend)
        self.mean_, self.scale_, self.fit_ = self.model_.mean, self.model_.scale, self.model_.fit
        return self

    def predict(self, X: Any) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise ValueError("this RidgeDecoder is not fitted yet; call fit(X, Y) first")
        return self.model_.predict(X)

    def as_decoder(self):
        """The ``decoder(X_train, Y_train, X_test, stimulus_train)`` callable of crossval."""
        return ridge_decoder(self.alphas, self.backend)
