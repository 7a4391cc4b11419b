"""Comparison of RDM vectors, broadcasting over leading dimensions.

Every method is computed as an inner product of *normalized* vectors (see
:func:`normalize_rdm_vectors`), so one-to-one comparisons broadcast like numpy arithmetic
and many-to-many comparisons are a single matrix product.

* ``"spearman"`` – Pearson correlation of average-tie ranks. Range [-1, 1]; null 0.
* ``"pearson"`` – Pearson correlation. Range [-1, 1]; null 0.
* ``"cosine"`` – cosine similarity (no centering). Range [-1, 1] (>= 0 for nonnegative
  dissimilarities); no zero null for dissimilarities, which are all positive.

Results equal ``rsatoolbox.rdm.compare`` with methods ``"spearman"``, ``"corr"``,
``"cosine"`` respectively. Constant vectors give NaN.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import rankdata

CompareMethod = Literal["spearman", "pearson", "cosine"]
COMPARE_METHODS: tuple[str, ...] = ("spearman", "pearson", "cosine")

__all__ = [
    "COMPARE_METHODS",
    "compare_rdm_vectors",
    "cross_compare_rdm_vectors",
    "normalize_rdm_vectors",
    "rank_vectors",
]


def rank_vectors(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Average-tie ranks (1-based) along the last axis, batched.

    With a boolean ``mask`` (broadcastable to ``x``; True = keep), entries outside the mask
    are excluded from the ranking (the kept entries get ranks ``1..n_kept``) and are set
    to 0 in the output.
    """
    x = np.asarray(x, dtype=np.float64)
    if mask is None:
        return rankdata(x, axis=-1, method="average")
    mask = np.broadcast_to(mask, x.shape)
    ranks = rankdata(np.where(mask, x, np.inf), axis=-1, method="average")
    return np.where(mask, ranks, 0.0)


def normalize_rdm_vectors(
    x: np.ndarray, method: CompareMethod = "spearman", mask: np.ndarray | None = None
) -> np.ndarray:
    """Transform ``(..., n_pairs)`` vectors so that ``method`` similarity is an inner product.

    spearman: rank, center, unit-norm; pearson: center, unit-norm; cosine: unit-norm.
    ``mask`` (True = keep) drops entries: they do not enter ranks/means/norms and are 0 in
    the output, so an inner product only sums over kept entries.
    """
    x = np.asarray(x, dtype=np.float64)
    if method not in COMPARE_METHODS:
        raise ValueError(f"unknown comparison {method!r}; expected one of {COMPARE_METHODS}")
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), x.shape)
    if method == "spearman":
        x = rank_vectors(x, mask)
    if method in ("spearman", "pearson"):
        if mask is None:
            x = x - x.mean(axis=-1, keepdims=True)
        else:
            x = np.where(mask, x, 0.0)
            mean = x.sum(axis=-1, keepdims=True) / mask.sum(axis=-1, keepdims=True)
            x = np.where(mask, x - mean, 0.0)
    elif mask is not None:
        x = np.where(mask, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)


def compare_rdm_vectors(
    a: np.ndarray, b: np.ndarray, method: CompareMethod = "spearman"
) -> np.ndarray:
    """Similarity of ``a`` (..., n_pairs) and ``b`` (..., n_pairs), broadcast over leading dims.

    Example: ``a`` (n_time, n_pairs) and ``b`` (n_layers, 1, n_pairs) -> (n_layers, n_time).
    """
    za = normalize_rdm_vectors(a, method)
    zb = normalize_rdm_vectors(b, method)
    if za.shape[-1] != zb.shape[-1]:
        raise ValueError(f"n_pairs differ: {za.shape[-1]} vs {zb.shape[-1]}")
    # batched matmul avoids materialising the broadcast elementwise product
    return (za[..., None, :] @ zb[..., :, None])[..., 0, 0]


def cross_compare_rdm_vectors(
    a: np.ndarray, b: np.ndarray, method: CompareMethod = "spearman"
) -> np.ndarray:
    """All-pairs similarity: ``a`` (..., n_pairs) vs ``b`` (m, n_pairs) -> (..., m)."""
    za = normalize_rdm_vectors(a, method)
    zb = normalize_rdm_vectors(np.atleast_2d(b), method)
    return za @ zb.T
