"""Noise ceilings of encoding scores from repeated presentations of the stimuli.

Two estimates of the same quantity, the reliability ``rho`` of the scored responses (the share
of their variance that is stimulus-driven), per target:

- **NCSNR** (Allen et al. 2022, Natural Scenes Dataset): the noise variance is the pooled
  variance across repetitions of a stimulus, the signal variance the variance of single trials
  minus it; ``ncsnr = sqrt(max(var_signal, 0)) / sd_noise`` and, for test responses averaged
  over ``n`` trials, ``NC = 100 * ncsnr^2 / (ncsnr^2 + 1/n)`` percent of variance
  (``1/n`` is the mean of ``1/n_s`` over stimuli when counts differ); ``rho = NC / 100``.
- **Split-half**: odd and even repetitions (in onset order) are averaged per stimulus and
  correlated across stimuli; Spearman-Brown steps the half reliability ``r`` up to ``n``
  trials: ``rho = k r / (1 + (k - 1) r)`` with ``k = n / n_half``.

The ceiling is the best score a noise-free model can expect: ``sqrt(rho)`` for Pearson r (the
correlation of the true signal with the noisy responses), ``rho`` for R^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CEILINGS = ("ncsnr", "split_half")
DEFINITIONS = {
    "ncsnr": (
        "NCSNR (Allen et al. 2022): ncsnr = sqrt(max(var_signal, 0)) / sd_noise, sd_noise from "
        "the pooled variance across repetitions, var_signal = single-trial variance - noise "
        "variance; NC = ncsnr^2 / (ncsnr^2 + 1/n_avg)"
    ),
    "split_half": (
        "split-half reliability (odd vs even repetitions, averaged per stimulus, Pearson across "
        "stimuli) stepped up to n_avg trials by Spearman-Brown"
    ),
}
UNITS = {"pearson": "ceiling = sqrt(NC)", "r2": "ceiling = NC"}


@dataclass(frozen=True)
class Ceiling:
    """Per-target noise statistics and the ceiling in the units of the score."""

    ncsnr: np.ndarray  # (T,)
    reliability: np.ndarray  # (T,) rho of the chosen method, at n_avg trials
    ceiling: np.ndarray  # (T,) in score units
    n_avg: float
    method: str


def _repeated(stim_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per trial, a dense stimulus index; and the number of trials of each stimulus."""
    _, index, counts = np.unique(np.asarray(stim_index), return_inverse=True, return_counts=True)
    return index, counts


def ncsnr(Y: np.ndarray, stim_index: np.ndarray) -> np.ndarray:
    """NCSNR per target of single-trial responses ``Y`` (trials x targets); NaN without
    repetitions."""
    Y = np.asarray(Y, dtype=np.float64)
    index, counts = _repeated(stim_index)
    rep = counts[index] >= 2
    if not rep.any():
        return np.full(Y.shape[1], np.nan)
    Yr, ir = Y[rep], index[rep]
    means = np.zeros((counts.size, Y.shape[1]))
    np.add.at(means, ir, Yr)
    means /= np.maximum(counts, 1)[:, None]
    dof = float((counts[counts >= 2] - 1).sum())
    var_noise = ((Yr - means[ir]) ** 2).sum(0) / dof
    var_total = Yr.var(0, ddof=1)
    var_signal = np.clip(var_total - var_noise, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var_noise > 0, np.sqrt(var_signal / var_noise), np.nan)


def split_half(Y: np.ndarray, stim_index: np.ndarray, order: np.ndarray | None = None):
    """Pearson r across stimuli of the odd- and even-repetition averages, per target, and the
    harmonic mean number of trials in a half. ``order``: trial order (e.g. onsets)."""
    Y = np.asarray(Y, dtype=np.float64)
    index, counts = _repeated(stim_index)
    trials = np.argsort(order, kind="stable") if order is not None else np.arange(index.size)
    rank = np.zeros(index.size, int)
    seen = np.zeros(counts.size, int)
    for t in trials:  # repetition number of each trial, in order (trials, not targets)
        rank[t] = seen[index[t]]
        seen[index[t]] += 1
    keep = counts >= 2
    if keep.sum() < 3:
        return np.full(Y.shape[1], np.nan), np.nan
    halves, sizes = [], []
    for parity in (0, 1):
        sel = (rank % 2 == parity) & keep[index]
        sums = np.zeros((counts.size, Y.shape[1]))
        np.add.at(sums, index[sel], Y[sel])
        n = np.bincount(index[sel], minlength=counts.size)[keep]
        halves.append(sums[keep] / n[:, None])
        sizes.append(n)
    a, b = (h - h.mean(0) for h in halves)
    denom = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(denom > 0, (a * b).sum(0) / denom, np.nan)
    n_half = float(1.0 / np.mean(1.0 / np.concatenate(sizes)))
    return r, n_half


def spearman_brown(r: np.ndarray, k: float) -> np.ndarray:
    """Reliability of a ``k`` times longer measure from reliability ``r``."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return k * r / (1.0 + (k - 1.0) * r)


def noise_ceiling(
    Y: np.ndarray,
    stim_index: np.ndarray,
    *,
    n_avg: float,
    scoring: str = "pearson",
    method: str = "ncsnr",
    order: np.ndarray | None = None,
) -> Ceiling:
    """Ceiling per target for test responses averaged over ``n_avg`` trials (see module doc)."""
    if method not in CEILINGS:
        raise ValueError(f"encoding.ceiling must be one of {CEILINGS}, got {method!r}")
    snr = ncsnr(Y, stim_index)
    if method == "ncsnr":
        rho = snr**2 / (snr**2 + 1.0 / n_avg)
    else:
        r, n_half = split_half(Y, stim_index, order)
        k = n_avg / n_half if np.isfinite(n_half) else 1.0
        rho = np.where(r > 0, spearman_brown(np.where(r > 0, r, 0.0), k), 0.0)
        rho = np.where(np.isfinite(r), rho, np.nan)
    rho = np.clip(rho, 0.0, 1.0)
    ceiling = np.sqrt(rho) if scoring == "pearson" else rho
    return Ceiling(snr, rho, ceiling, float(n_avg), method)


def normalise(score: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """``score / ceiling`` where the ceiling is positive, NaN elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ceiling > 0, score / ceiling, np.nan)
