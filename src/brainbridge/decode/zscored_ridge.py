"""Ridge from z-scored brain patterns to layer features: the solver behind ridge decoding,
without scikit-learn (its sklearn-style wrapper is :class:`~.ridge_decoder.RidgeDecoder`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainbridge.encode.ridge import RidgeFit, fit_ridge_loo


def flat_patterns(X: Any) -> np.ndarray:
    """``X`` (trial, ...) as float64 rows, one per trial (channel x time window flattened)."""
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(X.shape[0], -1)


@dataclass
class ZScoredRidge:
    """A multi-target ridge on patterns z-scored with the training statistics."""

    mean: np.ndarray
    scale: np.ndarray
    fit: RidgeFit

    @classmethod
    def train(cls, X: Any, Y: Any, alphas: Sequence[float], backend: str) -> ZScoredRidge:
        """Fit with one alpha per feature by efficient leave-one-out."""
        X = flat_patterns(X)
        mean, sd = X.mean(0), X.std(0)
        scale = np.where(sd > 0, sd, 1.0)
        return cls(mean, scale, fit_ridge_loo((X - mean) / scale, Y, alphas, backend=backend))

    def predict(self, X: Any) -> np.ndarray:
        return self.fit.predict((flat_patterns(X) - self.mean) / self.scale)


def ridge_decoder(alphas: Sequence[float], backend: str = "numpy") -> Callable:
    """The ``decoder(X_train, Y_train, X_test, stimulus_train)`` callable of crossval."""

    def decode(X_train, Y_train, X_test, _stimulus_train):
        return ZScoredRidge.train(X_train, Y_train, alphas, backend).predict(X_test)

    return decode
