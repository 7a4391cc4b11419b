"""Crossnobis RDMs: cross-validated Mahalanobis distances from runs or repetitions.

For conditions ``i, j`` and cross-validation folds (runs, or repetition sets), the distance
averages over folds ``f`` the product of the difference measured in ``f`` with the one
measured in the other folds, whitened by the noise precision ``P``:
``d_ij = mean_f (u_i^f - u_j^f)' P (u_i^-f - u_j^-f) / n_channels`` (``u^f``: condition means
of fold ``f``; ``u^-f``: of all other observations). The noise of the two factors is
independent, so ``E[d_ij]`` is the true (squared, Mahalanobis) distance: unbiased, 0 for
conditions that do not differ, and can be negative by chance. Equal to rsatoolbox's
``calc_rdm(method="crossnobis", descriptor=..., cv_descriptor=..., noise=P)``.

The precision comes from the residuals of the observations around their condition means
(:func:`residuals`), with a shrinkage covariance estimate (:func:`noise_covariance`):
``diag`` (towards the diagonal, Schäfer & Strimmer 2005) or ``eye`` (towards a multiple of
the identity, Ledoit & Wolf 2004), as rsatoolbox's ``prec_from_residuals``.
"""

from __future__ import annotations

import numpy as np

from .metrics import RSAMetric, register_metric
from .rdm import RDMVectors, compute_rdms, upper_triangle

__all__ = [
    "CrossnobisRSAMetric",
    "crossnobis_from_trials",
    "crossnobis_rdms",
    "noise_covariance",
    "noise_precision",
    "residuals",
    "trial_folds",
]

SHRINKAGE = ("diag", "eye", "none")


def residuals(data: np.ndarray, conditions) -> tuple[np.ndarray, int]:
    """Observations (n_obs, n_channels) minus their condition's mean, and the degrees of
    freedom ``n_obs - n_conditions``."""
    data = np.asarray(data, dtype=np.float64)
    conditions = np.asarray(conditions)
    labels, inverse = np.unique(conditions, return_inverse=True)
    onehot = np.eye(len(labels))[inverse]  # (obs, cond)
    means = (onehot.T @ data) / onehot.sum(axis=0)[:, None]
    return data - means[inverse], len(data) - len(labels)


def noise_covariance(
    res: np.ndarray, dof: int | None = None, shrinkage: str = "diag"
) -> np.ndarray:
    """Shrinkage covariance (n_channels, n_channels) of residuals (n_obs, n_channels).

    The residuals are centred first; ``dof`` defaults to ``n_obs - 1`` (pass the residual
    degrees of freedom of :func:`residuals`).
    """
    if shrinkage not in SHRINKAGE:
        raise ValueError(f"unknown shrinkage {shrinkage!r}; expected one of {SHRINKAGE}")
    x = np.asarray(res, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    n, p = x.shape
    dof = n - 1 if dof is None else dof
    cross = x.T @ x  # sum of outer products
    if shrinkage == "none":
        return cross / dof
    squares = (x**2).T @ (x**2)  # sum of squared outer products
    if shrinkage == "eye":
        s = cross / n
        b2 = np.sum(squares / n - s * s) / n
        m = np.trace(s) / p
        d2 = np.sum((s - m * np.eye(p)) ** 2)
        b2 = min(d2, b2)
        return (b2 / d2 * m * np.eye(p) + (d2 - b2) / d2 * s) * n / dof
    s = cross / dof
    var = np.diag(s)
    std = np.sqrt(var)
    r_mean = cross / np.outer(std, std) / (n - 1)
    r2_mean = squares / np.outer(var, var) / (n - 1)
    var_hat = n / dof**2 * (r2_mean - r_mean**2)
    off = ~np.eye(p, dtype=bool)
    lam = float(np.clip(var_hat[off].sum() / (r_mean[off] ** 2).sum(), 0.0, 1.0))
    return s * np.where(off, 1.0 - lam, 1.0)


def noise_precision(res: np.ndarray, dof: int | None = None, shrinkage: str = "diag"):
    """Inverse of :func:`noise_covariance`."""
    return np.linalg.inv(noise_covariance(res, dof, shrinkage))


def crossnobis_rdms(
    data: np.ndarray,
    conditions,
    folds,
    precision: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Crossnobis RDMs (..., n_cond, n_cond) of observations (..., n_obs, n_channels).

    ``conditions`` and ``folds`` (n_obs,) label each observation (stimulus / condition;
    run or repetition); every condition needs observations in at least one fold and in the
    others. ``precision`` (n_channels, n_channels; default identity: cross-validated
    Euclidean). Leading dims (e.g. time points) are batched. Returns the RDMs and the
    sorted condition labels (their row order).
    """
    x = np.asarray(data, dtype=np.float64)
    conditions, folds = np.asarray(conditions), np.asarray(folds)
    n_obs, n_ch = x.shape[-2:]
    if conditions.shape != (n_obs,) or folds.shape != (n_obs,):
        raise ValueError(f"conditions and folds need one label per observation ({n_obs})")
    labels, cond = np.unique(conditions, return_inverse=True)
    fold_ids = np.unique(folds)
    if len(fold_ids) < 2:
        raise ValueError("crossnobis needs at least 2 folds (runs or repetition sets)")
    onehot = np.eye(len(labels))[cond].T  # (cond, obs)
    in_fold = folds[None, :] == fold_ids[:, None]  # (fold, obs)
    test_w = onehot[None] * in_fold[:, None, :]  # (fold, cond, obs)
    train_w = onehot[None] * ~in_fold[:, None, :]
    for name, w in (("in", test_w), ("outside", train_w)):
        empty = np.argwhere(w.sum(-1) == 0)
        if len(empty):
            cond_label, fold_label = str(labels[empty[0][1]]), str(fold_ids[empty[0][0]])
            raise ValueError(
                f"condition {cond_label!r} has no observation {name} fold {fold_label!r}; "
                "crossnobis needs every condition in every fold."
            )
    test = np.einsum("fco,...oh->...fch", test_w / test_w.sum(-1, keepdims=True), x)
    train = np.einsum("fco,...oh->...fch", train_w / train_w.sum(-1, keepdims=True), x)
    if precision is not None:
        train = train @ np.asarray(precision, dtype=np.float64)
    kernel = train @ np.swapaxes(test, -1, -2)  # (..., fold, cond, cond)
    diag = np.einsum("...ii->...i", kernel)
    rdm = diag[..., :, None] + diag[..., None, :] - kernel - np.swapaxes(kernel, -1, -2)
    rdm = rdm.mean(axis=-3) / n_ch
    idx = np.arange(len(labels))
    rdm[..., idx, idx] = 0.0
    return rdm, labels


class CrossnobisRSAMetric(RSAMetric):
    """RSA whose brain RDM is a crossnobis RDM of the trials (runs or repetitions as folds).

    Given RDMs (:class:`RDMVectors`) it compares them like any RSA metric. Given patterns
    (e.g. model activations, which have no noise to cross-validate), the RDM is their squared
    Euclidean distance per feature: the noise-free value crossnobis estimates. The alignment
    step computes the brain side from the trials (:func:`crossnobis_rdms`).
    """

    def __init__(self, compare_method: str) -> None:
        super().__init__("sqeuclidean", compare_method)  # type: ignore[arg-type]
        self.rdm_method = "crossnobis"  # type: ignore[assignment]
        self.name = f"rsa-rdm=crossnobis-compare={compare_method}"
        self.doc = (
            f"{compare_method} similarity of the brain's crossnobis RDM (cross-validated "
            "Mahalanobis distance over runs / repetitions, noise precision from the residuals "
            "with diagonal shrinkage; unbiased: 0 for conditions that do not differ) with the "
            "model's squared Euclidean RDM per feature. Range [-1, 1]; null "
            f"{'> 0 (no zero null)' if compare_method == 'cosine' else '0 under no relation'}."
        )

    def vectors(self, x) -> np.ndarray:
        if isinstance(x, RDMVectors):
            return x.vectors
        return upper_triangle(compute_rdms(x, "sqeuclidean", per_feature=True))


def trial_folds(stimuli: np.ndarray, runs: np.ndarray | None = None) -> np.ndarray:
    """Cross-validation fold of each trial: its run when every stimulus is in every run (>= 2
    runs), else its repetition number (1st, 2nd, ... presentation of its stimulus)."""
    stimuli = np.asarray(stimuli).astype(str)
    if runs is not None:
        runs = np.asarray(runs).astype(str)
        pairs = {(s, r) for s, r in zip(stimuli, runs, strict=True)}
        if len(set(runs)) >= 2 and len(pairs) == len(set(stimuli)) * len(set(runs)):
            return runs
    seen: dict[str, int] = {}
    folds = np.empty(len(stimuli), dtype=np.intp)
    for i, s in enumerate(stimuli):
        folds[i] = seen.get(s, 0)
        seen[s] = folds[i] + 1
    return folds


def crossnobis_from_trials(
    trials: np.ndarray, stimuli, order, runs=None, shrinkage: str = "diag"
) -> RDMVectors:
    """Crossnobis RDM vectors (..., n_pairs) of trials (trial, feature[, time]) with stimulus
    labels, rows in the stimulus ``order`` given; precision from the residuals (all times)."""
    x = np.asarray(trials, dtype=np.float64)
    if x.ndim == 3:  # (trial, feature, time) -> (time, trial, feature)
        x = np.moveaxis(x, -1, 0)
    stimuli = np.asarray(stimuli).astype(str)
    folds = trial_folds(stimuli, runs)
    keep = np.isin(stimuli, np.asarray(order).astype(str))
    for s in set(stimuli[keep]):  # stimuli shown once cannot be cross-validated
        if len(set(folds[stimuli == s])) < 2:
            keep &= stimuli != s
    x, stimuli, folds = x[..., keep, :], stimuli[keep], folds[keep]
    flat = x.reshape(-1, x.shape[-2], x.shape[-1])
    res = np.concatenate([residuals(t, stimuli)[0] for t in flat])
    dof = (len(stimuli) - len(set(stimuli))) * len(flat)
    rdm, labels = crossnobis_rdms(x, stimuli, folds, noise_precision(res, dof, shrinkage))
    pos = {str(label): i for i, label in enumerate(labels)}
    missing = [s for s in np.asarray(order).astype(str) if s not in pos]
    if missing:
        raise ValueError(
            f"crossnobis needs every stimulus in >= 2 runs or repetitions; {missing[:5]} "
            "are not: use another RDM method for this dataset."
        )
    idx = np.array([pos[s] for s in np.asarray(order).astype(str)])
    return RDMVectors(upper_triangle(rdm[..., idx[:, None], idx[None, :]]))


for _cmp in ("spearman", "pearson", "cosine"):
    register_metric(CrossnobisRSAMetric(_cmp))
