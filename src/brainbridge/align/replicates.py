"""Brain RDMs with several independent estimates (replicates: subjects, sessions or runs).

rsatoolbox's conventions (``rsatoolbox.inference.eval_fixed`` and ``boot_noise_ceiling``):

* a model's score is the mean over replicates of its similarity with each replicate's RDM
  (:class:`ReplicateMean` wraps any RSA metric that way, so the permutation test and the
  bootstrap of :mod:`brainbridge.align.stats` apply unchanged: the same stimulus
  permutation / resample is applied to every replicate and the mean is tested);
* the noise ceiling bounds that mean (:func:`noise_ceiling_leave_one_out`): ``lower`` = mean
  over replicates of the similarity between one replicate and the pooled RDM of the others,
  ``upper`` = the same with the pooled RDM of all replicates (which maximizes the mean
  similarity, so no model can exceed it on average).

Pooling follows the comparison (:func:`pool_rdm_vectors`): mean ranks for Spearman, mean of
centered unit-norm vectors for Pearson, mean of unit-norm vectors for cosine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compare import normalize_rdm_vectors, rank_vectors
from .metrics import ArrayOrRDM, Metric, RSAMetric, get_metric
from .rdm import RDMVectors

__all__ = ["ReplicateCeiling", "ReplicateMean", "noise_ceiling_leave_one_out", "pool_rdm_vectors"]


def _rsa(metric: str | Metric) -> RSAMetric:
    metric = get_metric(metric)
    if not isinstance(metric, RSAMetric):
        raise TypeError(f"{metric.name} needs patterns; brain RDMs only support RSA metrics.")
    return metric


def _normalized_for_pooling(vectors: np.ndarray, compare_method: str) -> np.ndarray:
    if compare_method == "spearman":
        return rank_vectors(vectors)
    return normalize_rdm_vectors(vectors, compare_method)  # type: ignore[arg-type]


def pool_rdm_vectors(vectors: np.ndarray, compare_method: str = "spearman") -> np.ndarray:
    """Pooled RDM (n_pairs,) of replicates (n_replicates, n_pairs), as rsatoolbox's pool_rdm."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return _normalized_for_pooling(vectors, compare_method).mean(axis=0)


@dataclass(frozen=True)
class ReplicateCeiling:
    """Leave-one-out noise ceiling of the replicate-mean score."""

    lower: float
    upper: float
    n_replicates: int


def noise_ceiling_leave_one_out(
    rdms: RDMVectors | np.ndarray, metric: str | Metric
) -> ReplicateCeiling:
    """Lower and upper noise ceiling from replicates (n_replicates, n_pairs) (module doc).

    NaN bounds with fewer than 2 replicates.
    """
    metric = _rsa(metric)
    vectors = rdms.vectors if isinstance(rdms, RDMVectors) else np.asarray(rdms, np.float64)
    k = vectors.shape[0]
    if vectors.ndim != 2 or k < 2:
        return ReplicateCeiling(np.nan, np.nan, int(k if vectors.ndim == 2 else 1))
    pooled = _normalized_for_pooling(vectors, getattr(metric, "pool_method", metric.compare_method))
    total = pooled.sum(axis=0)
    others = (total[None, :] - pooled) / (k - 1)  # pooled RDM of the other replicates, each
    every = np.broadcast_to(total / k, vectors.shape)
    lower = metric.score(RDMVectors(others), RDMVectors(vectors))
    upper = metric.score(RDMVectors(every), RDMVectors(vectors))
    return ReplicateCeiling(float(np.mean(lower)), float(np.mean(upper)), int(k))


class ReplicateMean(Metric):
    """An RSA metric averaged over the replicates (leading axis) of brain RDMs.

    ``brain`` is :class:`RDMVectors` of shape (n_replicates, n_pairs); every method returns
    the mean over replicates of the wrapped metric (NaN replicates ignored in the bootstrap).
    """

    def __init__(self, metric: str | Metric) -> None:
        self.metric = _rsa(metric)
        self.name = self.metric.name
        self.doc = self.metric.doc + " Mean over the replicates of the brain RDM."

    def n_stimuli(self, x: ArrayOrRDM) -> int:
        return self.metric.n_stimuli(x)

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        return np.mean(self.metric.score(brain, model), axis=0)

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        return np.mean(self.metric.permutation_scores(brain, model, perms), axis=0)

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        return np.nanmean(self.metric.bootstrap_scores(brain, model, idx), axis=0)
