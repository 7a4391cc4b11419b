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

CompareMethod = Literal["spearman", "pearson", "cosine"]
COMPARE_METHODS: tuple[str, ...] = ("spearman", "pearson", "cosine")

__all__ = [
    "COMPARE_METHODS",
    "average_ranks",
    "compare_rdm_vectors",
    "cross_compare_rdm_vectors",
    "normalize_rdm_vectors",
    "rank_vectors",
    "weighted_compare",
]


def rank_vectors(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Average-tie ranks (1-based) along the last axis, batched.

    With a boolean ``mask`` (broadcastable to ``x``; True = keep), entries outside the mask
    are excluded from the ranking (the kept entries get ranks ``1..n_kept``) and are set
    to 0 in the output.
    """
    x = np.asarray(x, dtype=np.float64)
    if mask is None:
        return average_ranks(x)
    mask = np.broadcast_to(mask, x.shape)
    ranks = average_ranks(np.where(mask, x, np.inf))
    return np.where(mask, ranks, 0.0)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks along the last axis with ties given their mean rank, batched.

    Equals ``scipy.stats.rankdata(x, axis=-1, method="average")`` (rows holding a NaN are all
    NaN) without importing ``scipy.stats``, whose import alone costs about a second per job.
    """
    x = np.asarray(x, dtype=np.float64)
    rows = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
    n_rows, n = rows.shape
    order = np.argsort(rows, axis=-1, kind="stable")
    ordered = np.take_along_axis(rows, order, axis=-1)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    tie_group = np.cumsum(starts, axis=-1) - 1 + (np.arange(n_rows) * n)[:, None]
    position = np.broadcast_to(np.arange(1.0, n + 1.0), ordered.shape)
    total = np.bincount(tie_group.ravel(), weights=position.ravel(), minlength=n_rows * n)
    count = np.bincount(tie_group.ravel(), minlength=n_rows * n)
    ranks = np.empty(rows.shape)
    np.put_along_axis(ranks, order, total[tie_group] / np.maximum(count[tie_group], 1), axis=-1)
    ranks[np.isnan(rows).any(axis=-1)] = np.nan
    return ranks.reshape(x.shape)


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


def _sorted_levels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort order of ``x`` (..., p) and, per sorted position, the first and end (exclusive)
    sorted positions of its tie group."""
    order = np.argsort(x, axis=-1, kind="stable")
    xs = np.take_along_axis(x, order, axis=-1)
    p = x.shape[-1]
    pos = np.broadcast_to(np.arange(p), x.shape)
    start = np.ones(x.shape, dtype=bool)
    start[..., 1:] = xs[..., 1:] != xs[..., :-1]
    first = np.maximum.accumulate(np.where(start, pos, 0), axis=-1)
    stop = np.ones(x.shape, dtype=bool)  # last of its group
    stop[..., :-1] = start[..., 1:]
    end = np.flip(np.minimum.accumulate(np.flip(np.where(stop, pos + 1, p), -1), axis=-1), -1)
    return order, first, end


def _weighted_ranks(w_sorted: np.ndarray, first: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Average-tie ranks of entries repeated ``w`` times (weights in sorted order)."""
    cs = np.zeros((*w_sorted.shape[:-1], w_sorted.shape[-1] + 1))
    np.cumsum(w_sorted, axis=-1, out=cs[..., 1:])
    first, end = np.broadcast_arrays(first, end)
    below = np.take_along_axis(cs, np.broadcast_to(first, w_sorted.shape), axis=-1)
    upto = np.take_along_axis(cs, np.broadcast_to(end, w_sorted.shape), axis=-1)
    return below + 0.5 * (upto - below + 1.0)


def weighted_compare(
    a: np.ndarray, b: np.ndarray, weights: np.ndarray, method: CompareMethod = "spearman"
) -> np.ndarray:
    """Similarity of vectors whose entries are repeated ``weights`` times: (b, p) x (p,) with
    weights (r, p) -> (b, r).

    Equal to :func:`compare_rdm_vectors` of the vectors with every entry written out ``w``
    times (weight 0: left out), e.g. the pairs of a stimulus resample, each original pair
    ``(s, t)`` of the RDM counted ``w_s w_t`` times (copies of one stimulus form no pair).
    Spearman ranks once (sort order and tie groups of each vector) and ranks every resample
    by cumulative weights, without building or sorting the resampled vectors.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.asarray(b, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if method not in COMPARE_METHODS:
        raise ValueError(f"unknown comparison {method!r}; expected one of {COMPARE_METHODS}")
    if method != "spearman":  # weighted sums as matrix products: no (b, r, p) arrays
        if method == "pearson":  # shift first (Pearson is shift invariant): less cancellation
            a = a - a.mean(axis=-1, keepdims=True)
            b = b - b.mean()
        sxy, sxx, syy = a @ (w * b).T, (a * a) @ w.T, w @ (b * b)
        if method == "pearson":
            total = w.sum(axis=-1)
            sx, sy = a @ w.T, w @ b
            sxy, sxx, syy = sxy - sx * sy / total, sxx - sx**2 / total, syy - sy**2 / total
        with np.errstate(invalid="ignore", divide="ignore"):
            return sxy / np.sqrt(sxx * syy)
    order_b, first_b, end_b = _sorted_levels(b)
    rank_b = np.empty_like(w)
    ranks_sorted = _weighted_ranks(w[:, order_b], first_b, end_b)
    np.put_along_axis(rank_b, np.broadcast_to(order_b, w.shape), ranks_sorted, axis=-1)
    # weighted average ranks of N entries have mean (N + 1) / 2: centred sums from raw sums
    total = w.sum(axis=-1)
    mean = 0.5 * (total + 1.0)
    wrb = w * rank_b
    sbb = (wrb * rank_b).sum(-1) - total * mean**2
    order, first, end = _sorted_levels(a)  # (b, p)
    ties = ~(end - first == 1).all(axis=-1)
    out = np.empty((len(a), len(w)))
    for sl in _row_chunks(len(w), a.size):
        ws = w[sl][:, order]  # (r, b, p): weights in each brain vector's sort order
        if ties.any():
            ra = _weighted_ranks(ws, first, end)
        else:  # no ties: rank = weight below + (own weight + 1) / 2
            ra = np.cumsum(ws, axis=-1)
            ra -= 0.5 * (ws - 1.0)
        wra = ws * ra
        saa = np.einsum("rbp,rbp->rb", wra, ra) - (total[sl] * mean[sl] ** 2)[:, None]
        sab = np.einsum("rbp,rbp->rb", wra, rank_b[sl][:, order])
        sab -= (total[sl] * mean[sl] ** 2)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, sl] = (sab / np.sqrt(saa * sbb[sl][:, None])).T
    out[np.isnan(a).any(axis=-1)] = np.nan
    if np.isnan(b).any():
        out[:] = np.nan
    return out


def _row_chunks(n_rows: int, per_row: int, budget: int = 2**22):
    size = max(1, budget // max(per_row, 1))
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))
