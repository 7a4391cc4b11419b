"""Time-resolved linear decoding with a max-statistic permutation test.

One logistic regression per time point (``mne.decoding.SlidingEstimator``), scored by
stratified k-fold cross-validation (ROC AUC for two classes, accuracy otherwise). The test
statistic is the best cross-validated score over time; its null comes from refitting on shuffled
labels (same folds), so the p-value is corrected for the choice of time point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mne.decoding import SlidingEstimator, cross_val_multiscore
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class DecodingResult:
    times: np.ndarray  # (time,)
    scores: np.ndarray  # (time,) mean cross-validated score
    best_time: float
    best_score: float
    p_value: float  # max-statistic over time
    null_max: np.ndarray  # (n_permutations,)
    chance: float
    scoring: str


def band_power(x: np.ndarray, sfreq: float, window: float = 0.5, step: float = 0.25):
    """Log power in sliding windows: (trial, channel, time) -> (trial, channel, window) and the
    window centres (s from the first sample), for rhythms a voltage decoder cannot see."""
    size, hop = max(2, int(round(window * sfreq))), max(1, int(round(step * sfreq)))
    starts = np.arange(0, x.shape[-1] - size + 1, hop)
    power = np.stack([np.log(x[..., s : s + size].var(axis=-1) + 1e-30) for s in starts], -1)
    return power, (starts + size / 2) / sfreq


def _scores(x, y, cv, scoring, seed, n_jobs) -> np.ndarray:
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="liblinear"))
    sliding = SlidingEstimator(clf, scoring=scoring, n_jobs=n_jobs, verbose="error")
    with threadpool_limits(1):  # tiny fits: BLAS threads cost more than they give
        scores = cross_val_multiscore(sliding, x, y, cv=cv, n_jobs=1, verbose="error")
    return scores.mean(axis=0)


def decode_over_time(
    x: np.ndarray,
    y: np.ndarray,
    times: np.ndarray,
    *,
    n_folds: int = 5,
    n_permutations: int = 100,
    seed: int = 0,
    n_jobs: int = 1,
) -> DecodingResult:
    """Decode ``y`` from ``x`` (trial, feature, time) at each time; permutation p of the max."""
    y = np.asarray(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"decoding needs two or more classes; got {classes.tolist()}.")
    scoring = "roc_auc" if len(classes) == 2 else "accuracy"
    chance = (
        0.5 if len(classes) == 2 else float(np.max(np.unique(y, return_counts=True)[1]) / len(y))
    )
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    observed = _scores(x, y, cv, scoring, seed, n_jobs)
    rng = np.random.default_rng(seed)
    null_max = np.array(
        [
            _scores(x, rng.permutation(y), cv, scoring, seed, n_jobs).max()
            for _ in range(n_permutations)
        ]
    )
    best = int(np.argmax(observed))
    p = (1 + np.sum(null_max >= observed[best])) / (1 + n_permutations)
    return DecodingResult(
        times=np.asarray(times),
        scores=observed,
        best_time=float(times[best]),
        best_score=float(observed[best]),
        p_value=float(p),
        null_max=null_max,
        chance=chance,
        scoring=scoring,
    )
