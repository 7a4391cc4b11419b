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

__all__ = ["crossnobis_rdms", "noise_covariance", "noise_precision", "residuals"]

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
