"""Temporal response functions: time-lagged ridge from stimulus feature time series to M/EEG.

The model of each channel ``y`` from features ``x`` (``n_times x n_features``) sampled at the
recording's ``sfreq`` is::

    y(t) = b + sum_f sum_{d = dmin..dmax} w[d, f] x_f(t - d)

with lags ``d`` in samples from ``round(tmin * sfreq)`` to ``round(tmax * sfreq)`` (positive lag:
the response follows the stimulus). A fit centres ``x`` and ``y`` by their means over the
training samples, builds the lagged design with zeros outside each segment (lags never reach
across a segment's edges, so no held-out sample leaks into training), and solves ridge
``(D^T D + alpha I) w = D^T y`` without a further intercept; ``b = mean(y) - mean(x) . sum_d w``.
Predictions lag the uncentred ``x`` with zeros outside the series. This is exactly
``mne.decoding.ReceptiveField(tmin, tmax, sfreq, estimator=alpha)`` (its ``TimeDelayingRidge``
with ``fit_intercept=True``, ``edge_correction=True``; segments = its epochs), checked in the
tests to 1e-6.

Cross-validation cuts the recording into ``n_folds`` contiguous blocks (no shuffling: samples
of a time series are not independent), fits on all blocks but one and scores the held-out
block on its valid samples (those whose every lag lies inside the block, as
``ReceptiveField.score``). With several candidate alphas, each target's alpha is chosen inside
the training blocks by leaving one training block out at a time (lowest mean squared error),
from one eigendecomposition of the lagged Gram matrix per inner split.

The data are read once: each block's uncentred lagged Gram matrix and cross products (and those
of its valid samples) are computed once, and every fold's centred statistics follow from their
sums by a rank-correction (centring the features subtracts ``A kron(m, I)^T`` from the design,
``A`` marking where each lag reaches inside the block), so a fold costs an eigendecomposition,
not a pass over the recording.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brainbridge.encode.backend import get_backend
from brainbridge.encode.ridge import score_predictions


class TRFError(ValueError):
    """Bad input to a temporal response function (lag window, features, recording)."""


# --------------------------------------------------------------------------- lags and design


def lags_for(tmin: float, tmax: float, sfreq: float) -> np.ndarray:
    """Lags in samples from ``tmin`` to ``tmax`` s (rounded as MNE's ``ReceptiveField``)."""
    if not (np.isfinite(tmin) and np.isfinite(tmax)) or tmin > tmax:
        raise TRFError(f"trf.tmin ({tmin}) must be <= trf.tmax ({tmax}), both finite seconds.")
    if not sfreq > 0:
        raise TRFError(f"sampling frequency must be > 0, got {sfreq}")
    return np.arange(int(np.round(tmin * sfreq)), int(np.round(tmax * sfreq)) + 1)


def valid_slice(n_times: int, lags: np.ndarray) -> slice:
    """Samples of a segment whose every lag lies inside it."""
    start = max(int(lags[-1]), 0)
    stop = n_times + min(int(lags[0]), 0)
    return slice(start, max(stop, start))


def lag_matrix(x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """``(n_times, n_features * n_lags)`` design, feature-major, zeros outside the series.

    Column ``f * n_lags + k`` holds ``x[t - lags[k], f]``.
    """
    n_times, n_features = x.shape
    out = np.zeros((n_times, n_features, len(lags)), dtype=np.float64)
    for k, d in enumerate(lags):
        if d >= n_times or -d >= n_times:
            continue
        if d >= 0:
            out[d:, :, k] = x[: n_times - d]
        else:
            out[:d, :, k] = x[-d:]
    return out.reshape(n_times, -1)


def contiguous_blocks(n_times: int, n_folds: int) -> list[slice]:
    """``n_folds`` contiguous blocks of (nearly) equal length covering ``range(n_times)``."""
    edges = np.linspace(0, n_times, n_folds + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


# --------------------------------------------------------------------------- checks


def check_features(x: np.ndarray, what: str = "features") -> np.ndarray:
    """A finite 2-D float array (a 1-D series becomes one column)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise TRFError(f"{what} must be (n_times, n_features); got shape {x.shape}.")
    bad = ~np.isfinite(x)
    if bad.any():
        t, f = np.argwhere(bad)[0]
        raise TRFError(
            f"{what} hold {int(bad.sum())} NaN/inf value(s) (first at sample {t}, feature {f}); "
            "fill the gaps (e.g. interpolate, or 0 where there is no stimulus) before fitting."
        )
    return x


def check_window(n_times: int, lags: np.ndarray, sfreq: float, n_folds: int, where: str) -> None:
    """The lag window must leave enough valid samples in every block of the recording."""
    span = int(lags[-1] - lags[0]) + 1
    block = n_times // max(n_folds, 1)
    valid = block - (max(int(lags[-1]), 0) - min(int(lags[0]), 0))
    if valid < span:
        raise TRFError(
            f"{where}: the TRF lag window [{lags[0] / sfreq:g}, {lags[-1] / sfreq:g}] s spans "
            f"{span} samples at {sfreq:g} Hz, but each of the {n_folds} cross-validation blocks "
            f"of the recording ({n_times} samples, {n_times / sfreq:g} s) holds {block} samples "
            f"and would keep {max(valid, 0)} with every lag inside it. Shorten the window "
            "(trf.tmin / trf.tmax) or lower trf.n_folds, or use a longer recording."
        )


# --------------------------------------------------------------------------- fit


@dataclass
class TRFFit:
    """A fitted TRF: ``coef`` is ``(n_lags, n_features, n_targets)``."""

    coef: np.ndarray
    intercept: np.ndarray  # (n_targets,)
    alpha: np.ndarray  # (n_targets,)
    lags: np.ndarray  # (n_lags,) samples

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``(n_times, n_targets)`` predictions from features ``x`` (zeros outside ``x``)."""
        x = check_features(x)
        n_lags, n_features, n_targets = self.coef.shape
        if x.shape[1] != n_features:
            raise TRFError(f"x has {x.shape[1]} features; the TRF was fitted on {n_features}.")
        w = self.coef.transpose(1, 0, 2).reshape(n_features * n_lags, n_targets)
        return lag_matrix(x, self.lags) @ w + self.intercept


def _check_alphas(alphas: Sequence[float]) -> np.ndarray:
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise TRFError(f"trf.alphas must be a non-empty list of finite values >= 0; got {alphas}")
    return a


def _segments(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> tuple[list, list]:
    if len(xs) != len(ys) or not xs:
        raise TRFError("give one feature segment per brain segment (at least one).")
    xs = [check_features(x) for x in xs]
    ys = [np.asarray(y, dtype=np.float64) for y in ys]
    for i, (x, y) in enumerate(zip(xs, ys)):
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise TRFError(
                f"segment {i}: features have {x.shape[0]} samples but the brain data has shape "
                f"{y.shape}; both must be (n_times, ...) over the same samples."
            )
    return xs, ys


def _solve(B, gram: np.ndarray, cross: np.ndarray):
    """Eigendecomposition of the Gram matrix and the rotated cross products."""
    s, V = B.eigh(B.asarray(gram))
    s = B.clip_min(s, 0.0)
    return B.to_numpy(s), B.to_numpy(V), B.to_numpy(V).T @ cross


@dataclass
class _Stats:
    """Sufficient statistics of one segment's raw (uncentred) lagged design ``D`` and brain data
    ``y``, from which the centred ones follow for any feature / brain means.

    ``A`` (rows x lags) marks where each lag reaches inside the segment (``D`` is zero
    elsewhere), so centring ``x`` by ``m`` subtracts ``M = A E^T`` from ``D`` with
    ``E = kron(m, I)``.
    """

    gram: np.ndarray  # D^T D
    da: np.ndarray  # D^T A
    aa: np.ndarray  # A^T A
    cross: np.ndarray  # D^T y
    ay: np.ndarray  # A^T y
    d1: np.ndarray  # D^T 1
    a1: np.ndarray  # A^T 1
    yy: np.ndarray  # per target sum y^2
    y1: np.ndarray  # per target sum y
    n: int

    def __add__(self, other: _Stats) -> _Stats:
        return _Stats(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    def centred(self, m: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(D_c^T D_c, D_c^T y_c, y_c^T y_c)`` for features centred by ``m``, brain by ``mu``."""
        E = np.kron(m[:, None], np.eye(self.aa.shape[0]))
        pe = self.da @ E.T
        gram = self.gram - pe - pe.T + E @ self.aa @ E.T
        cross = self.cross - np.outer(self.d1, mu) - E @ self.ay + np.outer(E @ self.a1, mu)
        yy = self.yy - 2 * mu * self.y1 + self.n * mu**2
        return gram, cross, yy


def _lag_correlations(x: np.ndarray, n_lags: int) -> np.ndarray:
    """``C[i] = sum_u x[u] (x) x[u + tau_i]`` (F x F) for ``tau_i = i - (n_lags - 1)``."""
    L, F = x.shape
    out = np.zeros((2 * n_lags - 1, F, F))
    for i, tau in enumerate(range(-(n_lags - 1), n_lags)):
        if abs(tau) < L:
            out[i] = x[: L - tau].T @ x[tau:] if tau >= 0 else x[-tau:].T @ x[: L + tau]
    return out


def _stats(x: np.ndarray, y: np.ndarray, lags: np.ndarray, rows: slice | None = None) -> _Stats:
    """Statistics of one segment (only ``rows`` of it, e.g. its valid samples), without forming
    the lagged design: the Gram matrix is Toeplitz up to the samples a lag pushes past an edge,
    so it is the lagged cross-correlations minus those few samples' products."""
    L, F = x.shape
    n = len(lags)
    r0, r1 = (0, L) if rows is None else (rows.start or 0, L if rows.stop is None else rows.stop)
    r1 = max(r1, r0)
    start = np.maximum(np.maximum(lags, 0), r0)  # rows t where lag k reaches inside
    end = np.maximum(np.minimum(np.minimum(L + lags, L), r1), start)
    lo, hi = np.clip(start - lags, 0, L), np.clip(end - lags, 0, L)  # as samples of x
    cx = np.vstack([np.zeros(F), np.cumsum(x, axis=0)])
    cy = np.vstack([np.zeros(y.shape[1]), np.cumsum(y, axis=0)])
    s2 = np.maximum(start[:, None], start[None, :])
    e2 = np.maximum(np.minimum(end[:, None], end[None, :]), s2)
    da = cx[np.clip(e2 - lags[:, None], 0, L)] - cx[np.clip(s2 - lags[:, None], 0, L)]
    cross = np.stack([x[lo[k] : hi[k]].T @ y[start[k] : end[k]] for k in range(n)])
    corr = _lag_correlations(x, n)
    pad = np.zeros((n, F))
    xpad = np.vstack([pad, x, pad])
    steps = np.arange(n)
    gram = np.zeros((n, n, F, F))
    for k in range(n):
        if hi[k] <= lo[k]:
            continue
        block = corr[k - steps + n - 1].copy()  # tau = lag_k - lag_j
        for a, b in ((0, lo[k]), (hi[k], L)):  # samples outside the rows of lag k
            if b > a:
                z = xpad[np.arange(a, b)[:, None] + (k - steps)[None, :] + n]  # (u, j, F)
                block -= np.tensordot(x[a:b], z, axes=(0, 0)).transpose(1, 0, 2)
        gram[k] = block
    yr = y[r0:r1]
    return _Stats(
        gram=gram.transpose(2, 0, 3, 1).reshape(F * n, F * n),
        da=da.transpose(2, 0, 1).reshape(F * n, n),
        aa=(e2 - s2).astype(np.float64),
        cross=cross.transpose(1, 0, 2).reshape(F * n, -1),
        ay=cy[end] - cy[start],
        d1=(cx[hi] - cx[lo]).T.ravel(),
        a1=(end - start).astype(np.float64),
        yy=(yr * yr).sum(0),
        y1=yr.sum(0),
        n=r1 - r0,
    )


def _means(stats: Sequence[_Stats], sums: Sequence[tuple[np.ndarray, np.ndarray]]):
    n = sum(s.n for s in stats)
    return sum(a for a, _ in sums) / n, sum(b for _, b in sums) / n


def _fit_stats(
    full: Sequence[_Stats],
    held: Sequence[_Stats],
    sums: Sequence[tuple[np.ndarray, np.ndarray]],
    lags: np.ndarray,
    alphas: np.ndarray,
    backend: str,
) -> TRFFit:
    """Fit from per-segment statistics (``full``: all rows; ``held``: the rows scored when a
    segment is left out to choose alphas; ``sums``: per segment feature and brain sums)."""
    x_mean, y_mean = _means(full, sums)
    B = get_backend(backend, dtype="float64")
    total = sum(full[1:], full[0])
    gram, cross, _ = total.centred(x_mean, y_mean)
    n_targets = cross.shape[1]
    if alphas.size == 1:
        best = np.full(n_targets, alphas[0])
    else:
        if len(full) < 2:
            raise TRFError(
                "choosing among several trf.alphas needs >= 2 training segments; raise "
                "trf.n_folds to >= 3 or give one alpha."
            )
        sse = np.zeros((alphas.size, n_targets))
        for j in range(len(full)):
            g_j, c_j, _ = full[j].centred(x_mean, y_mean)
            s, V, z = _solve(B, gram - g_j, cross - c_j)
            gh, ch, yh = held[j].centred(x_mean, y_mean)
            for i, alpha in enumerate(alphas):
                w = V @ (z / (s + alpha)[:, None])
                sse[i] += (yh - 2 * (w * ch).sum(0) + (w * (gh @ w)).sum(0)) / max(held[j].n, 1)
        best = alphas[np.argmin(sse, axis=0)]
    s, V, z = _solve(B, gram, cross)
    w = np.empty_like(cross)
    for alpha in np.unique(best):
        cols = best == alpha
        w[:, cols] = V @ (z[:, cols] / (s + alpha)[:, None])
    coef = w.reshape(x_mean.size, len(lags), n_targets).transpose(1, 0, 2)
    intercept = y_mean - x_mean @ coef.sum(0)
    return TRFFit(coef=coef, intercept=intercept, alpha=best, lags=lags)


def _segment_stats(x: np.ndarray, y: np.ndarray, lags: np.ndarray, held: bool):
    """All-row and (when alphas are chosen: ``held``) valid-row statistics of one segment, and
    its feature and brain sums."""
    valid = _stats(x, y, lags, valid_slice(len(x), lags)) if held else None
    return _stats(x, y, lags), valid, (x.sum(0), y.sum(0))


def fit_trf(
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray],
    lags: np.ndarray,
    alphas: Sequence[float],
    *,
    backend: str = "numpy",
) -> TRFFit:
    """Fit a TRF on one or more segments (features ``xs[i]``, brain ``ys[i]``: same samples).

    One alpha: used for every target. Several: each target's alpha is chosen by leaving one
    segment out at a time (needs >= 2 segments), lowest mean squared error on the held-out
    segment's valid samples.
    """
    xs, ys = _segments(xs, ys)
    a = _check_alphas(alphas)
    lags = np.asarray(lags)
    parts = [_segment_stats(x, y, lags, a.size > 1) for x, y in zip(xs, ys)]
    return _fit_stats(*(list(p) for p in zip(*parts)), lags, a, backend)


# --------------------------------------------------------------------------- cross-validation


@dataclass
class TRFResult:
    """Cross-validated TRF: held-out scores per target and weights fitted on every block."""

    scores: np.ndarray  # (n_targets,) mean over held-out blocks
    fold_scores: np.ndarray  # (n_folds, n_targets)
    fold_alphas: np.ndarray  # (n_folds, n_targets)
    fit: TRFFit  # on all blocks, alphas chosen by leaving one block out
    blocks: list[slice]
    scoring: str


def cross_validated_trf(
    x: np.ndarray,
    y: np.ndarray,
    sfreq: float,
    tmin: float,
    tmax: float,
    alphas: Sequence[float],
    *,
    n_folds: int = 5,
    scoring: str = "pearson",
    backend: str = "numpy",
    where: str = "recording",
) -> TRFResult:
    """K-fold over contiguous blocks: fit on K-1 blocks, score the held-out one (valid samples).

    ``x``: ``(n_times, n_features)`` features, ``y``: ``(n_times, n_targets)`` brain data, both
    at ``sfreq``. ``where`` names the recording in error messages.
    """
    x = check_features(x, f"features of {where}")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise TRFError(
            f"{where}: the feature series has {x.shape[0]} samples but the recording has "
            f"{y.shape[0] if y.ndim else 0}; give features covering the recording sample by "
            "sample (same sfreq, same start)."
        )
    if int(n_folds) != n_folds or n_folds < 2:
        raise TRFError(f"trf.n_folds must be an integer >= 2, got {n_folds!r}")
    lags = lags_for(tmin, tmax, sfreq)
    check_window(len(x), lags, sfreq, n_folds, where)
    a = _check_alphas(alphas)
    blocks = contiguous_blocks(len(x), n_folds)
    parts = [_segment_stats(x[b], y[b], lags, a.size > 1) for b in blocks]  # one pass
    fold_scores, fold_alphas = [], []
    for k, test in enumerate(blocks):
        train = [p for i, p in enumerate(parts) if i != k]
        fit = _fit_stats(*(list(p) for p in zip(*train)), lags, a, backend)
        keep = valid_slice(test.stop - test.start, lags)
        pred = fit.predict(x[test])[keep]
        fold_scores.append(score_predictions(y[test][keep], pred, scoring))
        fold_alphas.append(fit.alpha)
    full = _fit_stats(*(list(p) for p in zip(*parts)), lags, a, backend)
    fold_scores = np.stack(fold_scores)
    return TRFResult(
        scores=fold_scores.mean(0),
        fold_scores=fold_scores,
        fold_alphas=np.stack(fold_alphas),
        fit=full,
        blocks=blocks,
        scoring=scoring,
    )
