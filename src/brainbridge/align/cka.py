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
