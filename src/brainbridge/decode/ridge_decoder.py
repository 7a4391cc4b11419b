"""Ridge decoding: brain patterns -> layer features with the project's ridge engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from brainbridge.encode.estimator import DEFAULT_ALPHAS
from brainbridge.encode.ridge import fit_ridge_loo


class RidgeDecoder(BaseEstimator):
    """Z-scores the brain pattern (training statistics), then multi-target ridge to features.

    One alpha per feature by efficient leave-one-out (:func:`fit_ridge_loo`). ``X`` may have
    any trailing shape (channel x time window); it is flattened per trial.
    """

    def __init__(self, alphas: Sequence[float] = DEFAULT_ALPHAS, *, backend: str = "auto") -> None:
        self.alphas = alphas
        self.backend = backend

    @staticmethod
    def _flat(X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return X.reshape(X.shape[0], -1)

    def fit(self, X: Any, Y: Any) -> RidgeDecoder:
        X = self._flat(X)
        self.mean_ = X.mean(0)
        sd = X.std(0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.fit_ = fit_ridge_loo(
            (X - self.mean_) / self.scale_, Y, self.alphas, backend=self.backend
        )
        return self

    def predict(self, X: Any) -> np.ndarray:
        if not hasattr(self, "fit_"):
            raise ValueError("this RidgeDecoder is not fitted yet; call fit(X, Y) first")
        return self.fit_.predict((self._flat(X) - self.mean_) / self.scale_)

    def as_decoder(self):
        """The ``decoder(X_train, Y_train, X_test, stimulus_train)`` callable of crossval."""

        def decode(X_train, Y_train, X_test, _stimulus_train):
            return self.fit(X_train, Y_train).predict(X_test)

        return decode
