"""Time-resolved label decoding as MNE users do it: sliding and temporal generalization.

One logistic regression per training time (``mne.decoding.GeneralizingEstimator``) is scored at
every testing time by stratified k-fold cross-validation (ROC AUC for two classes, accuracy
otherwise); the diagonal is the sliding (``SlidingEstimator``) score. Clusters of above-chance
scores come from ``mne.stats.permutation_cluster_1samp_test`` (one-sided, sign flips):

* within a dataset the observations are the folds' scores minus chance. Folds share training
  trials, so this is the usual descriptive within-subject test, not an exact one; with k folds
  the smallest reachable p is ``2 / 2**k`` (use >= 6 folds for p < 0.05);
* at group level the observations are the datasets' (subjects') mean scores minus chance,
  the standard second-level test (exact under symmetric nulls).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from mne.decoding import GeneralizingEstimator, cross_val_multiscore
from mne.stats import permutation_cluster_1samp_test
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class Clusters:
    """Clusters of a one-sample test: labels (0 = none) over the tested grid and their p."""

    labels: np.ndarray  # int, shape of the tested grid
    p_values: np.ndarray  # (n_clusters,)
    t_obs: np.ndarray  # t statistic over the grid


@dataclass(frozen=True)
class Generalization:
    """Temporal generalization of one dataset: fold scores, their mean, clusters."""

    times: np.ndarray  # (time,)
    fold_scores: np.ndarray  # (fold, train_time, test_time)
    chance: float
    scoring: str
    classes: list[str]
    diagonal_clusters: Clusters
    matrix_clusters: Clusters

    @property
    def scores(self) -> np.ndarray:
        return self.fold_scores.mean(0)

    @property
    def diagonal(self) -> np.ndarray:
        return np.diagonal(self.scores).copy()


def cluster_test(
    obs: np.ndarray,
    *,
    threshold: float | None = None,
    n_permutations: int = 1000,
    seed: int = 0,
) -> Clusters:
    """One-sided one-sample cluster test (``obs``: observation x grid, values minus chance)."""
    obs = np.asarray(obs, dtype=np.float64)
    n = obs.shape[0]
    if n < 2:
        raise ValueError("a cluster test needs >= 2 observations (folds or datasets)")
    if threshold is None:
        threshold = float(stats.t.ppf(0.95, n - 1))
    obs = obs + 1e-12 * np.random.default_rng(seed).standard_normal(obs.shape)  # no zero sd
    t_obs, clusters, p, _ = permutation_cluster_1samp_test(
        obs,
        threshold=threshold,
        n_permutations=min(n_permutations, 2**n),
        tail=1,
        out_type="mask",
        rng=np.random.default_rng(seed),
        verbose="error",
    )
    labels = np.zeros(obs.shape[1:], dtype=np.int32)
    for i, mask in enumerate(clusters, start=1):
        labels[mask] = i
    return Clusters(labels=labels, p_values=np.asarray(p, dtype=np.float64), t_obs=t_obs)


def chance_level(y: np.ndarray) -> tuple[float, str]:
    """ROC AUC (chance 0.5) for two classes, else accuracy (chance: the majority share)."""
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise ValueError(f"decoding needs two or more classes; got {np.unique(y).tolist()}")
    if len(counts) == 2:
        return 0.5, "roc_auc"
    return float(counts.max() / counts.sum()), "accuracy"


def temporal_generalization(
    x: np.ndarray,
    y: Sequence,
    times: np.ndarray,
    *,
    n_folds: int = 5,
    n_permutations: int = 1000,
    threshold: float | None = None,
    seed: int = 0,
) -> Generalization:
    """Train at each time, test at every time (``x``: trial x feature x time)."""
    y = np.asarray(y).astype(str)
    chance, scoring = chance_level(y)
    smallest = int(np.unique(y, return_counts=True)[1].min())
    if n_folds > smallest:
        raise ValueError(
            f"generalize.n_folds={n_folds} exceeds the {smallest} trials of the rarest class; "
            "lower generalize.n_folds"
        )
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="liblinear"))
    gen = GeneralizingEstimator(clf, scoring=scoring, n_jobs=1, verbose="error")
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    with threadpool_limits(1):
        fold_scores = cross_val_multiscore(gen, x, y, cv=cv, n_jobs=1, verbose="error")
    diag = np.stack([np.diagonal(f) for f in fold_scores])
    kw = {"threshold": threshold, "n_permutations": n_permutations, "seed": seed}
    return Generalization(
        times=np.asarray(times, dtype=np.float64),
        fold_scores=fold_scores,
        chance=chance,
        scoring=scoring,
        classes=np.unique(y).tolist(),
        diagonal_clusters=cluster_test(diag - chance, **kw),
        matrix_clusters=cluster_test(fold_scores - chance, **kw),
    )


def group_clusters(
    scores: Sequence[np.ndarray],
    chance: float,
    *,
    n_permutations: int = 1000,
    threshold: float | None = None,
    seed: int = 0,
) -> tuple[Clusters, Clusters]:
    """Group level over datasets: clusters of the diagonal and of the matrix (mean - chance)."""
    stack = np.stack([np.asarray(s, dtype=np.float64) for s in scores]) - chance
    diag = np.stack([np.diagonal(s) for s in stack])
    kw = {"threshold": threshold, "n_permutations": n_permutations, "seed": seed}
    return cluster_test(diag, **kw), cluster_test(stack, **kw)
