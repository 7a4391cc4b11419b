"""Cross-validated identification: any decoder, one brain unit, folds that keep stimuli whole.

The target space (layer features, z-scored and optionally PCA-reduced) is fitted on each
training fold's stimuli only and applied to the held-out candidates. Each held-out trial is a
query (``trial`` level); the mean prediction over a stimulus' held-out repetitions is another
(``stimulus`` level). Both are scored by :func:`brainbridge.decode.identification.score_folds`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from brainbridge.decode.identification import Identification, score_folds, similarity

#: ``decoder(X_train, Y_train, X_test, stimulus_train) -> Y_pred`` (rows are trials)
Decoder = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
LEVELS = ("trial", "stimulus")


class TargetSpace:
    """Column z-scoring then optional PCA, fitted on training stimuli only."""

    def __init__(self, n_components: int | None = None) -> None:
        self.n_components = n_components

    def fit(self, Y: np.ndarray) -> TargetSpace:
        Y = np.asarray(Y, dtype=np.float64)
        self.mean_ = Y.mean(0)
        sd = Y.std(0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = (Y - self.mean_) / self.scale_
        self.components_ = None
        if self.n_components:
            k = min(int(self.n_components), Z.shape[0] - 1, Z.shape[1])
            _, _, vt = np.linalg.svd(Z, full_matrices=False)
            self.components_ = vt[:k].T  # (n_features, k)
        return self

    def transform(self, Y: np.ndarray) -> np.ndarray:
        Z = (np.asarray(Y, dtype=np.float64) - self.mean_) / self.scale_
        return Z @ self.components_ if self.components_ is not None else Z


@dataclass(frozen=True)
class UnitResult:
    """Identification of one brain unit (window or region) at both levels."""

    levels: dict[str, Identification]  # of the first metric
    n_candidates: float  # mean held-out candidates per fold
    metrics: dict[str, dict[str, Identification]]  # metric -> level -> scores


def cross_identify(
    X: np.ndarray,
    features: np.ndarray,
    stim_index: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    decoder: Decoder,
    *,
    n_components: int | None = None,
    metric: str | Sequence[str] = "correlation",
    top_k: Sequence[int] = (1, 5),
    n_permutations: int = 1000,
    seed: int = 0,
    disjoint: bool = True,
    target_cache: dict | None = None,
) -> UnitResult:
    """Decode layer ``features`` (stimulus x feature) from brain ``X`` (trial x ...).

    ``stim_index[t]`` is the row of ``features`` shown at trial ``t``; every fold's test trials
    must cover whole stimuli (see :func:`make_decoding_folds`) unless ``disjoint`` is False
    (label designs, where a category is shown in every run). ``metric`` may list several
    similarity metrics: the decoder is fitted once per fold and scored by each.
    ``target_cache`` (a dict shared across calls with the same features and folds) keeps each
    fold's fitted target space.
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    stim_index = np.asarray(stim_index)
    sims = {(m, level): [] for m in metrics for level in LEVELS}
    truths = {level: [] for level in LEVELS}
    n_cands = []
    for train, test in folds:
        train_stims = np.unique(stim_index[train])
        test_stims = np.unique(stim_index[test])
        if disjoint and np.intersect1d(train_stims, test_stims).size:
            raise ValueError("a stimulus has trials on both sides of a fold; group folds by it")
        key = (n_components, train_stims.tobytes())
        if target_cache is None or key not in target_cache:
            space = TargetSpace(n_components).fit(features[train_stims])
            entry = (space.transform(features[train_stims]), space.transform(features[test_stims]))
            if target_cache is not None:
                target_cache[key] = entry
        train_targets, candidates = target_cache[key] if target_cache is not None else entry
        rows = np.searchsorted(train_stims, stim_index[train])
        pred = decoder(X[train], train_targets[rows], X[test], stim_index[train])
        truth = np.searchsorted(test_stims, stim_index[test])
        avg = np.stack([pred[truth == j].mean(0) for j in range(len(test_stims))])
        for m in metrics:
            sims[m, "trial"].append(similarity(pred, candidates, m))
            sims[m, "stimulus"].append(similarity(avg, candidates, m))
        truths["trial"].append(truth)
        truths["stimulus"].append(np.arange(len(test_stims)))
        n_cands.append(len(test_stims))
    scores = {
        m: {
            level: score_folds(
                sims[m, level], truths[level], top_k=top_k, n_permutations=n_permutations, seed=seed
            )
            for level in LEVELS
        }
        for m in metrics
    }
    return UnitResult(
        levels=scores[metrics[0]], n_candidates=float(np.mean(n_cands)), metrics=scores
    )


def sliding_windows(times: np.ndarray, width: float, step: float) -> list[tuple[int, int, float]]:
    """``(start, stop, centre)`` sample windows of ``width`` s every ``step`` s over ``times``."""
    times = np.asarray(times, dtype=np.float64)
    if width <= 0 or step <= 0:
        raise ValueError(
            f"decoding.window ({width}) and decoding.step ({step}) must be > 0 seconds"
        )
    dt = float(np.median(np.diff(times))) if times.size > 1 else 1.0
    size = max(1, int(round(width / dt)))
    hop = max(1, int(round(step / dt)))
    if size > times.size:
        raise ValueError(
            f"decoding.window={width} s is longer than the epochs ({times.size} samples of "
            f"{dt:.3g} s); shorten decoding.window"
        )
    return [
        (a, a + size, float(times[a : a + size].mean()))
        for a in range(0, times.size - size + 1, hop)
    ]
