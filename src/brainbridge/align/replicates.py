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

__all__ = [
    "BOOTSTRAP_OVER",
    "ReplicateCeiling",
    "ReplicateMean",
    "noise_ceiling_leave_one_out",
    "pool_rdm_vectors",
    "replicate_bootstrap",
    "with_replicate_groups",
]


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


def _group_labels(groups, k: int) -> np.ndarray:
    if groups is None:
        return np.arange(k)
    groups = np.asarray(groups)
    if groups.shape != (k,):
        raise ValueError(f"groups must give one label per replicate ({k}), got {groups.shape}")
    return groups


def noise_ceiling_leave_one_out(
    rdms: RDMVectors | np.ndarray, metric: str | Metric, groups=None
) -> ReplicateCeiling:
    """Lower and upper noise ceiling from replicates (n_replicates, n_pairs) (module doc).

    ``groups`` (one label per replicate, e.g. the subject of each session's RDM) makes the
    lower bound leave one group out: each group's RDMs are compared with the pooled RDM of
    the other groups' RDMs (mean over the group's RDMs, then over groups), as rsatoolbox's
    ``boot_noise_ceiling(rdms, method, rdm_descriptor=...)``; the upper bound compares them
    with the pooled RDM of all. Default: every replicate is its own group. NaN bounds with
    fewer than 2 groups.
    """
    metric = _rsa(metric)
    vectors = rdms.vectors if isinstance(rdms, RDMVectors) else np.asarray(rdms, np.float64)
    k = vectors.shape[0] if vectors.ndim == 2 else 1
    labels = _group_labels(groups, k) if vectors.ndim == 2 else np.zeros(1)
    unique = list(dict.fromkeys(labels.tolist()))
    if vectors.ndim != 2 or len(unique) < 2:
        return ReplicateCeiling(np.nan, np.nan, int(k))
    pooled = _normalized_for_pooling(vectors, getattr(metric, "pool_method", metric.compare_method))
    member = np.asarray([labels == g for g in unique])  # (groups, replicates)
    others = (~member).astype(np.float64) @ pooled / (~member).sum(axis=1, keepdims=True)
    every = pooled.mean(axis=0)
    lower, upper = [], []
    for g, rows in enumerate(member):
        test = RDMVectors(vectors[rows])
        lower.append(np.mean(metric.score(test, RDMVectors(others[g]))))
        upper.append(np.mean(metric.score(test, RDMVectors(every))))
    return ReplicateCeiling(float(np.mean(lower)), float(np.mean(upper)), int(k))


BOOTSTRAP_OVER = ("stimuli", "replicates", "both")


def replicate_bootstrap(
    metric: str | Metric,
    rdms: RDMVectors,
    model: ArrayOrRDM,
    *,
    over: str = "stimuli",
    groups=None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    stimulus_idx: np.ndarray | None = None,
    group_idx: np.ndarray | None = None,
) -> np.ndarray:
    """Bootstrap replicates (n_bootstrap,) of the replicate-mean score.

    ``over``: ``stimuli`` (resample stimuli, the same for every replicate, copies' pairs left
    out), ``replicates`` (resample groups of replicates, e.g. subjects: a drawn group brings
    all its RDMs) or ``both`` (both at once). The score of a resample is the mean over the
    RDMs it holds, as rsatoolbox's ``eval_bootstrap_pattern`` / ``eval_bootstrap_rdm`` /
    ``eval_bootstrap`` (``rdm_descriptor`` = the groups). ``stimulus_idx`` (n_boot, n_stim)
    and ``group_idx`` (n_boot, n_groups, positions in the sorted unique labels) replace the
    random draws (e.g. to reproduce another implementation's).
    """
    if over not in BOOTSTRAP_OVER:
        raise ValueError(f"bootstrap over {over!r}: expected one of {BOOTSTRAP_OVER}")
    metric = _rsa(metric)
    k = rdms.vectors.shape[0]
    labels = _group_labels(groups, k)
    unique = np.unique(labels)
    rng = np.random.default_rng(seed)
    n_stim = rdms.n_stimuli
    if over in ("stimuli", "both"):
        if stimulus_idx is None:
            stimulus_idx = rng.integers(0, n_stim, size=(n_bootstrap, n_stim))
        scores = metric.bootstrap_scores(rdms, model, stimulus_idx)  # (k, n_boot)
    else:
        scores = np.repeat(np.asarray(metric.score(rdms, model))[:, None], n_bootstrap, 1)
    n_boot = scores.shape[1]
    if over == "stimuli":
        return np.nanmean(scores, axis=0)
    if group_idx is None:
        group_idx = rng.integers(0, len(unique), size=(n_boot, len(unique)))
    drawn = np.zeros((n_boot, len(unique)))
    np.add.at(drawn, (np.repeat(np.arange(n_boot), group_idx.shape[1]), group_idx.ravel()), 1)
    member = (labels[None, :] == unique[:, None]).astype(np.float64)  # (groups, replicates)
    counts = drawn @ member  # (n_boot, replicates): times each RDM is in the resample
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(counts * scores.T, axis=1) / (counts * np.isfinite(scores.T)).sum(1)


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

    def interval_replicates(self, boot: np.ndarray, observed: np.ndarray) -> np.ndarray:
        return self.metric.interval_replicates(boot, observed)


def with_replicate_groups(ds, replicates: dict | None, source: str):
    """An ``rdms`` Dataset with per-replicate labels (e.g. ``{subject: [...], session: [...]}``,
    one entry per replicate in the store's replicate order) as coords on ``replicate``.

    Raises ``ValueError`` naming the config key and the fix when a list has the wrong length
    or a key is not ``subject`` / ``session``.
    """
    if not replicates:
        return ds
    k = ds.sizes["replicate"]
    coords = {}
    for key, values in replicates.items():
        if key not in ("subject", "session"):
            raise ValueError(
                f"{source}: replicates.{key} is not a replicate label; use subject and/or session."
            )
        if len(values) != k:
            raise ValueError(
                f"{source}: replicates.{key} has {len(values)} entries but the RDMs hold "
                f"{k} replicates ({', '.join(map(str, ds['replicate'].values))}); give one "
                "label per replicate, in this order."
            )
        coords[key] = ("replicate", np.asarray([str(v) for v in values], dtype=str))
    return ds.assign_coords(coords)
