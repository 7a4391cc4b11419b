"""Inference for alignment scores: permutation test, stimulus bootstrap, noise ceiling.

All functions are batched: leading brain dims (e.g. time points) are kept in every output
array, the same resamples are shared across the batch, and resamples are evaluated with
matrix products by the metric's ``permutation_scores`` / ``bootstrap_scores``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from .metrics import ArrayOrRDM, Metric, get_metric

__all__ = [
    "BootstrapResult",
    "NoiseCeiling",
    "PermutationResult",
    "bootstrap_ci",
    "interval_from_replicates",
    "noise_ceiling_split_half",
    "permutation_test",
    "split_repetitions",
]


@dataclass(frozen=True)
class PermutationResult:
    """Arrays all have the brain's leading shape ``(...)``; ``null`` is ``(..., n_perm)``."""

    observed: np.ndarray
    p_value: np.ndarray
    null_mean: np.ndarray
    null_std: np.ndarray
    n_permutations: int
    null: np.ndarray | None = None


@dataclass(frozen=True)
class BootstrapResult:
    """``observed``, ``lower``, ``upper``, ``std`` have the brain's leading shape ``(...)``."""

    observed: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    std: np.ndarray
    ci: float
    n_bootstrap: int
    interval: str = "percentile"


@dataclass(frozen=True)
class NoiseCeiling:
    """Split-half noise ceiling, arrays of shape ``(...)`` (broadcast leading dims)."""

    split_half: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _n_stimuli(metric: Metric, brain: ArrayOrRDM, model: ArrayOrRDM) -> int:
    n = metric.n_stimuli(model)
    if metric.n_stimuli(brain) != n:
        raise ValueError(f"brain has {metric.n_stimuli(brain)} stimuli, model {n}")
    return n


def permutation_test(
    metric: str | Metric,
    brain: ArrayOrRDM,
    model: ArrayOrRDM,
    n_permutations: int = 1000,
    seed: int = 0,
    *,
    return_null: bool = False,
) -> PermutationResult:
    """One-sided test of ``score > chance`` by relabelling the model's stimuli.

    The model rows (features) or rows+columns (RDM; never recomputed) are permuted; the
    same permutations are used for every brain batch element. ``p = (1 + #{null >= obs}) /
    (1 + n_permutations)``, so ``p >= 1 / (1 + n_permutations)``.
    """
    metric = get_metric(metric)
    n = _n_stimuli(metric, brain, model)
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
    # the identity goes first: observed and null in one pass (RDMs computed and ranked once)
    both = metric.permutation_scores(brain, model, np.vstack([np.arange(n), perms]))
    observed, null = both[..., 0], both[..., 1:]
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))
    exceed = (null >= (observed - tol)[..., None]).sum(axis=-1)
    return PermutationResult(
        observed=observed,
        p_value=(1.0 + exceed) / (1.0 + n_permutations),
        null_mean=null.mean(axis=-1),
        null_std=null.std(axis=-1, ddof=1),
        n_permutations=n_permutations,
        null=null if return_null else None,
    )


INTERVALS = ("percentile", "bias-corrected")


def bootstrap_ci(
    metric: str | Metric,
    brain: ArrayOrRDM,
    model: ArrayOrRDM,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    *,
    interval: str = "percentile",
) -> BootstrapResult:
    """Confidence interval from resampling stimuli with replacement.

    The same stimulus resample is applied to brain and model. Pairs formed by a stimulus and
    its own copy are left out (RSA, unbiased CKA: their zero distance / squared norm is an
    artefact of resampling). Replicates that come out NaN are ignored. ``interval``:
    ``percentile`` (default), or ``bias-corrected`` (Efron's BC percentile interval: quantile
    levels shifted by ``z0 = Phi^-1(share of replicates below the score)``).

    Procrustes and SVCCA replicates are recentred on the score first
    (:meth:`~brainbridge.align.metrics.Metric.interval_replicates`): a resample holds about
    63 % distinct stimuli, which raises these overfitting scores well above the observed one.

    What the interval covers (checked by simulation in the tests): the population value of
    RSA metrics (crossnobis RDMs included) and of unbiased CKA (linear and RBF); for metrics
    whose expectation depends on the number of stimuli (biased CKA, linear and RBF, whitened
    cosine, Procrustes, SVCCA, mutual k-NN: their null grows with n_features / n_stimuli),
    their expectation at this number of stimuli.
    """
    if not 0 < ci < 1:
        raise ValueError("ci must be in (0, 1)")
    metric = get_metric(metric)
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; expected one of {INTERVALS}")
    n = _n_stimuli(metric, brain, model)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_bootstrap, n))
    observed = np.asarray(metric.score(brain, model), dtype=np.float64)
    boot = metric.interval_replicates(metric.bootstrap_scores(brain, model, idx), observed)
    lower, upper = interval_from_replicates(boot, observed, ci, interval)
    return BootstrapResult(
        observed=observed,
        lower=lower,
        upper=upper,
        std=np.nanstd(boot, axis=-1, ddof=1),
        ci=ci,
        n_bootstrap=n_bootstrap,
        interval=interval,
    )


def interval_from_replicates(
    boot: np.ndarray, observed: np.ndarray, ci: float = 0.95, interval: str = "percentile"
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (...) from bootstrap replicates (..., n_boot); NaNs ignored."""
    alpha = (1.0 - ci) / 2.0
    boot = np.asarray(boot, dtype=np.float64)
    if interval == "percentile":
        lower, upper = np.nanquantile(boot, [alpha, 1.0 - alpha], axis=-1)
        return lower, upper
    valid = np.isfinite(boot)
    n_valid = valid.sum(axis=-1)
    obs = np.asarray(observed, dtype=np.float64)[..., None]
    below = ((boot < obs) & valid).sum(-1) + 0.5 * ((boot == obs) & valid).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip(below / n_valid, 0.5 / np.maximum(n_valid, 1), 1 - 0.5 / n_valid)
    z0 = ndtri(share)
    levels = [ndtr(2 * z0 + ndtri(a)) for a in (alpha, 1.0 - alpha)]
    return tuple(_quantile_per_element(boot, q, n_valid) for q in levels)  # type: ignore[return-value]


def _quantile_per_element(boot: np.ndarray, q: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """``np.nanquantile`` (linear) with a level per leading element."""
    ordered = np.sort(boot, axis=-1)  # NaNs last
    pos = np.asarray(q) * (n_valid - 1)
    lo = np.clip(np.floor(pos).astype(np.intp), 0, boot.shape[-1] - 1)
    hi = np.clip(lo + 1, 0, np.maximum(n_valid - 1, 0))
    a = np.take_along_axis(ordered, lo[..., None], -1)[..., 0]
    b = np.take_along_axis(ordered, hi[..., None], -1)[..., 0]
    out = a + (pos - lo) * (b - a)
    return np.where(n_valid > 0, out, np.nan)


def split_repetitions(patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average even and odd repetitions: ``(n_reps, ..., n_stimuli, n_features)`` -> two halves.

    With two repetitions this is simply (first, second) presentation.
    """
    patterns = np.asarray(patterns, dtype=np.float64)
    if patterns.shape[0] < 2:
        raise ValueError("need at least 2 repetitions")
    return patterns[0::2].mean(axis=0), patterns[1::2].mean(axis=0)


def noise_ceiling_split_half(
    patterns_a: ArrayOrRDM, patterns_b: ArrayOrRDM, metric: str | Metric
) -> NoiseCeiling:
    """Noise ceiling of scores against the averaged data, from its split-half reliability.

    ``patterns_a`` and ``patterns_b`` (..., n_stimuli, n_features) are independent halves of
    the repeated presentations (e.g. :func:`split_repetitions`); ``split_half`` = ``r`` =
    metric between them. Spearman-Brown gives the reliability of the full (averaged) data,
    ``rho = 2 r / (1 + r)``. Under additive independent noise, a noise-free true model scores
    ``sqrt(rho)`` against the averaged data (``upper``), and an independent replication of the
    averaged data scores ``rho`` (``lower``). A model inside [lower, upper] explains about as
    much as the data's reliability allows. Derived for correlation-type comparisons with noise
    independent across RDM entries (correlation-distance RDMs); approximate for CKA and for
    distance RDMs whose entries share the noise (euclidean). With ``r <= 0`` the data has no
    reliable structure: both bounds are NaN.
    """
    metric = get_metric(metric)
    r = np.asarray(metric.score(patterns_a, patterns_b), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(r > 0, 2.0 * r / (1.0 + r), np.nan)
    return NoiseCeiling(split_half=r, lower=rho, upper=np.sqrt(rho))
