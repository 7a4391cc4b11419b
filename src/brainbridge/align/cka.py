"""Linear centered kernel alignment (CKA), batched over leading dimensions.

``CKA(X, Y) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with linear kernels
``K = X X^T`` and ``L = Y Y^T`` over the ``n`` stimuli (rows).

* biased: ``HSIC_b = tr(K H L H) / (n - 1)^2`` (Gretton et al. 2005; Kornblith et al. 2019).
  Range [0, 1]; 1 = equal up to orthogonal transform and isotropic scaling. Its null
  (independent X, Y) is clearly > 0 when the feature count is large relative to ``n``.
* unbiased: the U-statistic ``HSIC_u`` of Song et al. (2012), as used for debiased CKA by
  Nguyen et al. (2021). Null expectation of the HSIC numerator is 0, so scores fluctuate
  around 0 for independent data and can be slightly negative; needs ``n >= 4``.

Computed in feature space (``X^T Y``, cost ~ n p q) when both feature counts are below
``n``, otherwise through ``n x n`` Gram matrices. Both paths give the same values.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = [
    "cka_from_grams",
    "hsic_from_grams",
    "linear_cka",
    "linear_gram",
    "resample_weights",
    "resampled_cka",
    "resampled_hsic",
    "unbiased_hsic_from_terms",
]


def linear_gram(x: np.ndarray) -> np.ndarray:
    """Linear kernel ``X X^T``: (..., n, p) -> (..., n, n)."""
    x = np.asarray(x, dtype=np.float64)
    return x @ np.swapaxes(x, -1, -2)


def _diag(k: np.ndarray) -> np.ndarray:
    return np.einsum("...ii->...i", k)


def hsic_from_grams(k: np.ndarray, gl: np.ndarray, *, unbiased: bool = False) -> np.ndarray:
    """HSIC between Gram matrices ``k`` and ``gl`` (..., n, n) -> (...). Broadcasts."""
    k = np.asarray(k, dtype=np.float64)
    gl = np.asarray(gl, dtype=np.float64)
    n = k.shape[-1]
    if not unbiased:
        kc = k - k.mean(axis=-1, keepdims=True)
        kc = kc - kc.mean(axis=-2, keepdims=True)  # H K H
        return np.einsum("...ij,...ij->...", kc, gl) / (n - 1) ** 2
    if n < 4:
        raise ValueError("unbiased HSIC needs n >= 4 stimuli")
    kt = k - _diag(k)[..., None] * np.eye(n)
    lt = gl - _diag(gl)[..., None] * np.eye(n)
    trace = np.einsum("...ij,...ij->...", kt, lt)
    u = kt.sum(axis=-1)
    v = lt.sum(axis=-1)
    cross = (u[..., None, :] @ v[..., :, None])[..., 0, 0]
    return unbiased_hsic_from_terms(trace, u.sum(-1), v.sum(-1), cross, n)


def unbiased_hsic_from_terms(
    trace: np.ndarray, sum_k: np.ndarray, sum_l: np.ndarray, cross: np.ndarray, n: int
) -> np.ndarray:
    """Song et al. (2012) eq. 5 from tr(K~L~), 1'K~1, 1'L~1 and 1'K~L~1."""
    return (trace + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 * cross / (n - 2)) / (n * (n - 3))


def cka_from_grams(k: np.ndarray, gl: np.ndarray, *, unbiased: bool = False) -> np.ndarray:
    """CKA between Gram matrices (..., n, n) -> (...). See module docstring for ranges."""
    hxy = hsic_from_grams(k, gl, unbiased=unbiased)
    hxx = hsic_from_grams(k, k, unbiased=unbiased)
    hyy = hsic_from_grams(gl, gl, unbiased=unbiased)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hxy / np.sqrt(hxx * hyy)


def _feature_hsic_terms(x: np.ndarray, y: np.ndarray, unbiased: bool) -> np.ndarray:
    n = x.shape[-2]
    cross = np.swapaxes(x, -1, -2) @ y
    fro = np.einsum("...ij,...ij->...", cross, cross)  # tr(K L)
    if not unbiased:
        return fro / (n - 1) ** 2  # x, y are feature-centered, so tr(K L) = tr(K H L H)
    dx = np.einsum("...ij,...ij->...i", x, x)  # diag K
    dy = np.einsum("...ij,...ij->...i", y, y)
    u = (x @ x.sum(axis=-2)[..., :, None])[..., 0] - dx  # K~ 1
    v = (y @ y.sum(axis=-2)[..., :, None])[..., 0] - dy  # L~ 1
    trace = fro - (dx[..., None, :] @ dy[..., :, None])[..., 0, 0]
    crs = (u[..., None, :] @ v[..., :, None])[..., 0, 0]
    return unbiased_hsic_from_terms(trace, u.sum(-1), v.sum(-1), crs, n)


def linear_cka(
    x: np.ndarray,
    y: np.ndarray,
    *,
    unbiased: bool = False,
    method: Literal["auto", "features", "gram"] = "auto",
) -> np.ndarray:
    """Linear CKA between ``x`` (..., n, p) and ``y`` (..., n, q) -> (...) (broadcast).

    ``method="auto"`` uses feature-space products when ``p < n`` and ``q < n``, Gram
    matrices otherwise. Features are mean-centered first (CKA is translation invariant).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[-2]
    if y.shape[-2] != n:
        raise ValueError(f"x and y must have the same number of stimuli: {n} vs {y.shape[-2]}")
    if unbiased and n < 4:
        raise ValueError("unbiased CKA needs n >= 4 stimuli")
    x = x - x.mean(axis=-2, keepdims=True)
    y = y - y.mean(axis=-2, keepdims=True)
    if method == "auto":
        method = "features" if max(x.shape[-1], y.shape[-1]) < n else "gram"
    if method == "gram":
        return cka_from_grams(linear_gram(x), linear_gram(y), unbiased=unbiased)
    if method != "features":
        raise ValueError(f"unknown method {method!r}")
    hxy = _feature_hsic_terms(x, y, unbiased)
    hxx = _feature_hsic_terms(x, x, unbiased)
    hyy = _feature_hsic_terms(y, y, unbiased)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hxy / np.sqrt(hxx * hyy)


def resample_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """Multiplicity of each stimulus per resample: (n_resamples, m) indices -> (n_resamples, n)."""
    idx = np.asarray(idx, dtype=np.intp)
    rows = np.repeat(np.arange(len(idx)), idx.shape[1])
    weights = np.zeros((len(idx), n))
    np.add.at(weights, (rows, idx.ravel()), 1.0)
    return weights


def resampled_hsic(
    k: np.ndarray,
    gl: np.ndarray,
    weights: np.ndarray,
    *,
    unbiased: bool = False,
    drop_copies: bool = True,
) -> np.ndarray:
    """HSIC of stimulus resamples without the pairs formed by a stimulus and its own copy.

    ``k`` (b, n, n) and ``gl`` (n, n) are Gram matrices of the original stimuli (features
    centered over them), ``weights`` (r, n) the multiplicity of each stimulus in each resample
    of ``m = weights.sum(1)`` stimuli (:func:`resample_weights`) -> (b, r).

    A resample is the matrix ``K*`` over its ``m`` positions where positions holding copies of
    one stimulus (other than a position with itself) are left out, as the diagonal is: in a
    sample of distinct stimuli such pairs do not exist, and their squared-norm entries would
    otherwise be counted as independent pairs (an upward bias of every replicate). Unbiased:
    Song et al.'s estimator with those entries zero like the diagonal. Biased:
    ``tr(K* H L* H) / (m - 1)^2`` with those entries zero (features centered, so a typical
    off-diagonal entry is ~0). Sums are weighted sums over the original stimuli, so no
    resampled matrix is built: cost ~ b n^2 r. ``drop_copies=False`` (biased only) keeps
    those pairs: the plain plug-in HSIC of the resample (``hsic_from_grams`` of ``K[i][:, i]``).
    """
    k = np.asarray(k, dtype=np.float64)
    gl = np.asarray(gl, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).T  # (n, r)
    m = float(w[:, 0].sum())
    n = k.shape[-1]
    if unbiased and not drop_copies:
        raise ValueError("the unbiased HSIC of a resample always leaves copies' pairs out")
    off = ~np.eye(n, dtype=bool) if drop_copies else np.ones((n, n), dtype=bool)
    k0, l0 = np.where(off, k, 0.0), np.where(off, gl, 0.0)
    trace = ((k0 * l0) @ w * w).sum(axis=-2)  # sum_{s != t} w_s w_t K_st L_st
    u, v = k0 @ w, l0 @ w  # (b, n, r), (..., n, r): sum_{t != s} w_t K_st
    if unbiased:
        sum_k, sum_l = (w * u).sum(axis=-2), (w * v).sum(axis=-2)
        cross = (w * u * v).sum(axis=-2)
        return unbiased_hsic_from_terms(trace, sum_k, sum_l, cross, m)
    dk, dl = _diag(k)[..., None], _diag(gl)[..., None]
    if not drop_copies:  # the diagonal is already in k0, l0 (with weight w_s^2)
        dk, dl = np.zeros_like(dk), np.zeros_like(dl)
    total = trace + (w * dk * dl).sum(axis=-2)
    ku, lv = u + dk, v + dl  # row sums of K*, L*
    rows = (w * ku * lv).sum(axis=-2)
    centered = total - 2.0 * rows / m + (w * ku).sum(-2) * (w * lv).sum(-2) / m**2
    return centered / (m - 1) ** 2


def resampled_cka(
    k: np.ndarray,
    gl: np.ndarray,
    weights: np.ndarray,
    *,
    unbiased: bool = False,
    drop_copies: bool = True,
) -> np.ndarray:
    """CKA of stimulus resamples (:func:`resampled_hsic`) -> (b, r)."""
    kw = {"unbiased": unbiased, "drop_copies": drop_copies}
    hxy = resampled_hsic(k, gl, weights, **kw)
    hxx = resampled_hsic(k, k, weights, **kw)
    hyy = resampled_hsic(gl, gl, weights, **kw)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hxy / np.sqrt(hxx * hyy)
