"""Significance of cross-validated encoding scores: permutations, corrections, bootstrap CIs.

Everything starts from the cross-validated fits, computed once (:class:`CVFit`).

- **Permutation test**: the stimulus labels are permuted within each fold (every fold at once,
  all targets with the same permutation, so the dependence between channels, voxels and time
  points is kept) and every fold's model is refitted on its permuted training responses. The
  refit is exact and cheap: with each target's penalty fixed at its observed choice, ridge
  predictions are linear in the training responses (``pred = H @ stimulus means``), so a batch
  of permutations is one matrix product of the permuted smoothers with the means. Permuting
  only the held-out predictions would not do: each fold's model is trained on the other folds' test
  responses, so the fold scores are coupled, and a null that breaks the coupling is too narrow
  (p-values of null data pile up near 0). Under the null (responses independent of the
  features) stimuli are exchangeable, and ``p = (1 + #{null >= observed}) / (1 +
  n_permutations)``; one-sided (a score above chance). With unequal trial counts and models
  trained on single trials, the smoother keeps the observed counts (approximate).
- **Corrections** over the targets of a layer (channels x time points, or voxels): the
  max-statistic (family-wise error; each permutation's maximum over targets is the null of the
  largest score) or Benjamini-Hochberg FDR of the uncorrected p-values.
- **Region summaries** (mean score over the targets of a region, or over channels per time
  point) get their p-value from the same permutations (the mean of the permuted scores) and a
  percentile bootstrap interval from resampling the held-out stimuli with replacement within
  each fold: a batch of resamples is one matrix product of resampling counts with the
  per-stimulus sums a score is made of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brainbridge.correction import fdr_bh
from brainbridge.encode.cv import CVFit, FoldData, cv_scores, score_from_sums

CORRECTIONS = ("max", "fdr")
PERMUTATION_SCHEME = (
    "stimulus labels permuted within each fold (one joint permutation of every fold's "
    "stimuli, the same for all targets), every fold's ridge refitted on the permuted training "
    "responses with each target's penalty fixed at its observed choice (held-out predictions "
    "= hat matrix @ permuted stimulus means), scored as observed; one-sided, p = (1 + #{null "
    ">= observed}) / (1 + n_permutations)"
)
_ELEMENTS = 2**23  # bound of one (batch, stimuli, targets) block
_TIE = 1e-10


@dataclass(frozen=True)
class Significance:
    """Permutation p-values per target and per summary unit (region, or time point)."""

    p_value: np.ndarray  # (T,) uncorrected
    p_corrected: np.ndarray  # (T,) max-statistic or FDR over the T targets
    summary_p_value: np.ndarray  # (U,) of the summary (targets weighted by ``summary``)
    n_permutations: int


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _target_batch(folds: Sequence[FoldData]) -> int:
    m = max(f.pred.shape[0] for f in folds)
    return max(1, min(folds[0].pred.shape[1], _ELEMENTS // (16 * m)))


def within_fold_permutations(cv: CVFit, n_permutations: int, seed: int) -> list[np.ndarray]:
    """Per fold, ``(n_permutations, m)`` row orders of its held-out stimuli."""
    rng = np.random.default_rng([seed, 0])
    return [
        rng.permuted(np.tile(np.arange(f.test.size), (n_permutations, 1)), axis=1) for f in cv.folds
    ]


def permutation_test(
    cv: CVFit,
    scoring: str,
    summary: np.ndarray,
    *,
    n_permutations: int = 200,
    correction: str = "max",
    seed: int = 0,
) -> Significance:
    """Permutation p-values of the fold-averaged scores (see the module doc).

    ``summary`` (T, U) maps per-target scores to summary units (e.g. a region mean: weights
    ``1/n`` on the region's targets).
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"encoding.correction must be one of {CORRECTIONS}, got {correction!r}")
    if int(n_permutations) != n_permutations or n_permutations < 1:
        raise ValueError(f"encoding.n_permutations must be >= 1, got {n_permutations!r}")
    folds = cv.folds
    local = within_fold_permutations(cv, n_permutations, seed)
    relabel = np.tile(np.arange(cv.means.shape[0]), (n_permutations, 1))
    for f, perm in zip(folds, local):  # the joint permutation, on global stimulus ids
        relabel[:, f.test] = f.test[perm]
    observed = cv_scores(folds, scoring)
    n_targets = observed.size
    exceed = np.zeros(n_targets)
    max_null = np.full(n_permutations, -np.inf)
    unit_null = np.zeros((n_permutations, summary.shape[1]))
    tb = _target_batch(folds)
    m = max(f.test.size for f in folds)
    pb = max(1, _ELEMENTS // (m * tb))
    for cols in _batches(n_targets, tb):
        for rows in _batches(n_permutations, pb):
            null = np.zeros((rows.stop - rows.start, cols.stop - cols.start))
            for f, perm in zip(folds, local):
                null += _refit_scores(f, cv.means, relabel[rows], perm[rows], cols, scoring)
            null /= len(folds)
            exceed[cols] += (null >= observed[cols] - _TIE).sum(0)
            max_null[rows] = np.maximum(max_null[rows], null.max(1))
            unit_null[rows] += null @ summary[cols]
    p = (1.0 + exceed) / (1.0 + n_permutations)
    if correction == "max":
        ordered = np.sort(max_null)
        n_ge = n_permutations - np.searchsorted(ordered, observed - _TIE, side="left")
        p_corr = (1.0 + n_ge) / (1.0 + n_permutations)
    else:
        p_corr = fdr_bh(p)
    unit_obs = observed @ summary
    unit_p = (1.0 + (unit_null >= unit_obs - _TIE).sum(0)) / (1.0 + n_permutations)
    return Significance(p, p_corr, unit_p, int(n_permutations))


def _refit_scores(
    f: FoldData,
    means: np.ndarray,
    relabel: np.ndarray,
    perm: np.ndarray,
    cols: slice,
    scoring: str,
) -> np.ndarray:
    """Scores of one fold under a batch of permutations: ``relabel[b, s]`` is the stimulus
    whose responses stimulus ``s`` gets, ``perm[b]`` the same within this fold's rows.

    Row ``j`` of a permutation's predictions is taken to the held-out stimulus whose responses
    it is compared with, and the training responses to their columns of ``means``: the
    smoother of each permutation becomes a (m, n_stimuli) matrix, and the predictions of every
    permutation are one matrix product with ``means``.
    """
    b, m = perm.shape
    inverse = np.argsort(perm, axis=1)
    batch = np.arange(b)[:, None, None]
    columns = relabel[:, f.train][:, None, :]  # (b, 1, n_train)
    alpha = f.alpha[cols]
    y_sum, y_sq, count = f.y_sum[:, cols], f.y_sq[:, cols], f.count
    means = means[:, cols]
    null = np.empty((b, alpha.size))
    for a in np.unique(alpha):
        sel = np.flatnonzero(alpha == a)
        smoother = np.zeros((b, m, means.shape[0]))
        smoother[batch, np.arange(m)[None, :, None], columns] = f.hat[float(a)][inverse]
        pred = (smoother.reshape(b * m, -1) @ means[:, sel]).reshape(b, m, sel.size)
        ys = y_sum[:, sel]
        syp = np.einsum("bmt,mt->bt", pred, ys)
        sp = np.einsum("m,bmt->bt", count, pred)
        spp = np.einsum("m,bmt->bt", count, pred * pred)
        null[:, sel] = score_from_sums(
            syp, ys.sum(0), sp, y_sq[:, sel].sum(0), spp, count.sum(), scoring
        )
    return null


def bootstrap_summary(
    folds: Sequence[FoldData],
    scoring: str,
    summary: np.ndarray,
    *,
    n_bootstrap: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval (``ci``) of each summary unit's score over resampled stimuli.

    Each resample draws, within every test fold, as many held-out stimuli as it has, with
    replacement, and recomputes the fold-averaged score; the summary is taken per resample.
    """
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 1:
        raise ValueError(f"encoding.n_bootstrap must be >= 1, got {n_bootstrap!r}")
    if not 0 < ci < 1:
        raise ValueError(f"encoding.ci must be in (0, 1), got {ci!r}")
    rng = np.random.default_rng([seed, 1])
    weights = [
        rng.multinomial(
            f.pred.shape[0], np.full(f.pred.shape[0], 1.0 / f.pred.shape[0]), size=n_bootstrap
        ).astype(float)
        for f in folds
    ]
    n_targets = folds[0].pred.shape[1]
    unit_boot = np.zeros((n_bootstrap, summary.shape[1]))
    for cols in _batches(n_targets, _target_batch(folds)):
        boot = np.zeros((n_bootstrap, cols.stop - cols.start))
        for f, w in zip(folds, weights):
            p, ys, yq, c = f.pred[:, cols], f.y_sum[:, cols], f.y_sq[:, cols], f.count
            cp = c[:, None] * p
            boot += score_from_sums(
                w @ (ys * p), w @ ys, w @ cp, w @ yq, w @ (cp * p), (w @ c)[:, None], scoring
            )
        unit_boot += (boot / len(folds)) @ summary[cols]
    tail = 100.0 * (1.0 - ci) / 2.0
    low, high = np.percentile(unit_boot, [tail, 100.0 - tail], axis=0)
    return low, high
