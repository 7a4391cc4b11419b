"""Cross-validation of encoding models as labs run it: grouped folds, repetition averaging.

Folds split *trials*, and every grouping keeps all repetitions of a stimulus on one side (the
network features of a stimulus are the same at each repetition, so a repetition on both sides
would score memory, not generalisation):

- ``run``: the groups are runs, linked when they show the same stimulus (the connected
  components of the run-stimulus graph); K-fold over these groups (``GroupKFold``).
- ``stimulus``: the groups are the stimuli (``GroupKFold``, folds balanced in trial counts).
- ``none``: no grouping beyond the stimulus: the stimulus list is split into K shuffled folds
  of (nearly) equal numbers of stimuli (``KFold``), whatever the runs or trial counts.
- ``auto``: ``run`` when the brain store has a ``run`` coord with more than one run and the runs
  form at least ``n_folds`` groups, else ``stimulus``.

Repetitions are averaged per stimulus (``average``) on the training side, the test side, both
(the default: the model sees and predicts stimulus means) or neither (single trials). Inside
each training fold the penalty of each target is chosen by efficient leave-one-out
(:func:`brainbridge.encode.ridge.fit_ridge_loo`).

The test side of each fold is kept as per-stimulus sufficient statistics (:class:`FoldData`),
from which scores, permutation nulls and bootstrap resamples follow by matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brainbridge.encode.ridge import SCORINGS, fit_ridge_loo, make_folds

GROUPINGS = ("auto", "run", "stimulus", "none")
AVERAGING = ("both", "train", "test", "none")


@dataclass(frozen=True)
class EncodingFolds:
    """Outer folds over trials and how they were grouped."""

    folds: list[tuple[np.ndarray, np.ndarray]]  # (train, test) trial indices
    groups: str  # resolved grouping: run | stimulus | none
    n_groups: int  # distinct groups the folds were drawn from


@dataclass
class FoldData:
    """The held-out side of one fold, per held-out stimulus ``s`` (rows) and target (columns).

    ``pred[s]`` is the prediction for stimulus ``s``; the fold's test rows (stimulus means, or
    single trials) of ``s`` number ``count[s]``, sum to ``y_sum[s]`` and their squares to
    ``y_sq[s]``.
    """

    pred: np.ndarray  # (m, T)
    y_sum: np.ndarray  # (m, T)
    y_sq: np.ndarray  # (m, T)
    count: np.ndarray  # (m,)
    alpha: np.ndarray  # (T,) penalty chosen per target in the training fold
    train: np.ndarray | None = None  # (n_train,) training stimuli (rows of the design)
    test: np.ndarray | None = None  # (m,) held-out stimuli
    hat: dict[float, np.ndarray] | None = None  # alpha -> (m, n_train): pred = hat @ means


@dataclass
class CVFit:
    """Every fold's held-out side, and the mean response of each stimulus (``means``, the
    training responses the hat matrices act on)."""

    folds: list[FoldData]
    means: np.ndarray  # (n_stimuli, T)


def run_components(stimulus: np.ndarray, run: np.ndarray) -> np.ndarray:
    """Per trial, the id of its group of runs linked by a shared stimulus."""
    from scipy.sparse import coo_matrix  # here: scipy.sparse costs ~1 s at start-up
    from scipy.sparse.csgraph import connected_components

    _, s = np.unique(np.asarray(stimulus).astype(str), return_inverse=True)
    _, r = np.unique(np.asarray(run).astype(str), return_inverse=True)
    n_s, n_r = s.max() + 1, r.max() + 1
    graph = coo_matrix((np.ones(s.size), (r, n_r + s)), shape=(n_r + n_s, n_r + n_s))
    _, label = connected_components(graph, directed=False)
    return label[r]


def make_encoding_folds(
    stimulus: np.ndarray,
    run: np.ndarray | None,
    *,
    groups: str = "auto",
    n_folds: int = 5,
    seed: int = 0,
    source: str = "the brain store",
) -> EncodingFolds:
    """Folds over trials that keep every stimulus' repetitions on one side (see module doc).

    Raises ``ValueError`` naming ``encoding.groups`` / ``encoding.n_folds`` and the fix when
    the grouping has fewer groups than folds.
    """
    if groups not in GROUPINGS:
        raise ValueError(f"encoding.groups must be one of {GROUPINGS}, got {groups!r}")
    stimulus = np.asarray(stimulus).astype(str)
    n_stim = np.unique(stimulus).size
    n_runs = 0 if run is None else np.unique(np.asarray(run).astype(str)).size
    components = run_components(stimulus, run) if n_runs > 1 else None
    n_comp = 0 if components is None else np.unique(components).size
    if groups == "auto":
        groups = "run" if n_comp >= n_folds else "stimulus"
    if groups == "run":
        if n_comp < n_folds:
            found = (
                "has no 'run' coord"
                if run is None
                else f"has {n_runs} run(s) forming {n_comp or 1} group(s) that keep every "
                "stimulus' repetitions on one side (runs showing a common stimulus are linked)"
            )
            fix = (
                f"lower encoding.n_folds to {n_comp}"
                if n_comp >= 2
                else "there are not two independent runs to split"
            )
            raise ValueError(
                f"encoding.groups: run needs at least encoding.n_folds={n_folds} groups of runs, "
                f"but {source} {found}; {fix}, or set encoding.groups: stimulus"
            )
        folds = make_folds(stimulus.size, n_folds, groups=components, seed=seed)
        return EncodingFolds(folds, "run", n_comp)
    if n_stim < n_folds:
        raise ValueError(
            f"encoding.n_folds={n_folds} exceeds the {n_stim} distinct stimuli of {source}; "
            f"lower encoding.n_folds to at most {n_stim}"
        )
    if groups == "stimulus":
        return EncodingFolds(
            make_folds(stimulus.size, n_folds, groups=stimulus, seed=seed), "stimulus", n_stim
        )
    # groups: none -- shuffled folds of the stimuli, each carrying all its trials
    names, index = np.unique(stimulus, return_inverse=True)
    folds = []
    for _, test_stims in make_folds(names.size, n_folds, seed=seed):
        test = np.isin(index, test_stims)
        folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return EncodingFolds(folds, "none", int(names.size))


def _stimulus_sums(rows: np.ndarray, values: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-stimulus sums of ``values`` rows (``rows[i]`` = stimulus of row ``i``) and counts."""
    onehot = np.zeros((m, rows.size))
    onehot[rows, np.arange(rows.size)] = 1.0
    return onehot @ values, onehot.sum(1)


def ridge_hat(
    X_train: np.ndarray, X_test: np.ndarray, weight: np.ndarray, alphas: Sequence[float]
) -> dict[float, np.ndarray]:
    """Smoother of ridge with an unpenalised intercept, per alpha: ``pred = H @ y_means``.

    Rows of ``X_train`` are stimuli with ``weight`` trials each; ridge on those trials (every
    trial of a stimulus shares its features) predicts ``X_test`` as ``H`` times the stimulus
    means of the training responses. Kernel form: one eigendecomposition for every alpha.
    """
    w = np.asarray(weight, dtype=np.float64)
    total = w.sum()
    x_mean = w @ X_train / total
    root = np.sqrt(w)
    Xw = (X_train - x_mean) * root[:, None]
    lam, U = np.linalg.eigh(Xw @ Xw.T)
    lam = np.clip(lam, 0.0, None)
    KU = ((X_test - x_mean) @ Xw.T) @ U  # (m, n_train)
    out = {}
    for a in alphas:
        core = ((KU / (lam + a)) @ U.T) * root[None, :]  # acts on centred means
        out[float(a)] = core - np.outer(core.sum(1), w / total) + (w / total)[None, :]
    return out


def fit_folds(
    X: np.ndarray,
    Y: np.ndarray,
    stim_index: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    alphas: Sequence[float] | np.ndarray,
    *,
    average: str = "both",
    backend: str = "auto",
    dtype: str | None = None,
) -> CVFit:
    """Fit ridge on each training fold and keep the test side's statistics.

    ``X`` (n_stimuli, n_features) holds the features of each stimulus, ``Y`` (n_trials,
    n_targets) the single-trial responses, ``stim_index[t]`` the row of ``X`` shown at trial
    ``t``. ``average`` (``both | train | test | none``) says on which side repetitions are
    averaged per stimulus before fitting or scoring. Each fold also keeps its ridge smoother
    at the penalties chosen there (for refits on permuted responses).
    """
    if average not in AVERAGING:
        raise ValueError(
            f"encoding.average_repetitions must be one of {AVERAGING}, got {average!r}"
        )
    stim_index = np.asarray(stim_index)
    Y = np.asarray(Y, dtype=np.float64)
    Y = Y - Y.mean(0)  # a constant shift changes no fit and no score; it keeps sums accurate
    all_sums, all_counts = _stimulus_sums(stim_index, Y, X.shape[0])
    means = all_sums / np.maximum(all_counts, 1)[:, None]
    out = []
    for train, test in folds:
        s_tr, r_tr = np.unique(stim_index[train], return_inverse=True)
        if average in ("both", "train"):
            sums, counts = _stimulus_sums(r_tr, Y[train], s_tr.size)
            x_train, y_train = X[s_tr], sums / counts[:, None]
        else:
            x_train, y_train = X[stim_index[train]], Y[train]
        if x_train.shape[0] < 3:
            raise ValueError(
                f"a training fold has {x_train.shape[0]} samples; lower encoding.n_folds"
            )
        fit = fit_ridge_loo(x_train, y_train, alphas, backend=backend, dtype=dtype)
        s_te, r_te = np.unique(stim_index[test], return_inverse=True)
        if np.intersect1d(s_tr, s_te).size:
            raise ValueError("a stimulus has trials on both sides of a fold; group folds by it")
        pred = fit.predict(X[s_te])
        y_sum, counts = _stimulus_sums(r_te, Y[test], s_te.size)
        y_sq, _ = _stimulus_sums(r_te, Y[test] ** 2, s_te.size)
        if average in ("both", "test"):
            mean = y_sum / counts[:, None]
            y_sum, y_sq, counts = mean, mean**2, np.ones_like(counts)
        weight = np.ones(s_tr.size) if average in ("both", "train") else all_counts[s_tr]
        alpha = np.asarray(fit.alpha, dtype=np.float64)
        hat = ridge_hat(X[s_tr], X[s_te], weight, np.unique(alpha))
        out.append(FoldData(pred, y_sum, y_sq, counts, alpha, s_tr, s_te, hat))
    return CVFit(out, means)


def score_from_sums(
    syp: np.ndarray,
    sy: np.ndarray,
    sp: np.ndarray,
    syy: np.ndarray,
    spp: np.ndarray,
    n: np.ndarray | float,
    scoring: str,
) -> np.ndarray:
    """Pearson r or R^2 from the sums of ``y p``, ``y``, ``p``, ``y^2``, ``p^2`` over ``n``
    rows; 0 where a column has no variance (as :func:`~brainbridge.encode.score_predictions`)."""
    if scoring not in SCORINGS:
        raise ValueError(f"encoding.scoring must be one of {SCORINGS}, got {scoring!r}")
    sst = syy - sy * sy / n
    if scoring == "r2":
        sse = syy - 2.0 * syp + spp
        ok = sst > 1e-12 * np.maximum(syy, 1e-300)
        return np.where(ok, 1.0 - sse / np.where(ok, sst, 1.0), 0.0)
    spp_c = spp - sp * sp / n
    cov = syp - sy * sp / n
    denom = np.sqrt(np.clip(sst, 0, None) * np.clip(spp_c, 0, None))
    ok = denom > 1e-12 * np.sqrt(np.maximum(syy * spp, 1e-300))
    return np.where(ok, cov / np.where(ok, denom, 1.0), 0.0)


def fold_scores(fold: FoldData, scoring: str, cols: slice | None = None) -> np.ndarray:
    """Score (``(T,)``) of one fold's held-out rows."""
    cols = slice(None) if cols is None else cols
    p, ys, yq, c = fold.pred[:, cols], fold.y_sum[:, cols], fold.y_sq[:, cols], fold.count
    return score_from_sums(
        (ys * p).sum(0), ys.sum(0), c @ p, yq.sum(0), c @ (p * p), c.sum(), scoring
    )


def cv_scores(folds: Sequence[FoldData], scoring: str) -> np.ndarray:
    """Mean over folds of each fold's score, per target (unbiased at 0 without signal)."""
    return np.mean([fold_scores(f, scoring) for f in folds], axis=0)


def n_averaged(stim_index: np.ndarray, average: str) -> float:
    """Harmonic mean number of trials in a scored test row (1 when tests are single trials)."""
    if average in ("train", "none"):
        return 1.0
    counts = np.unique(np.asarray(stim_index), return_counts=True)[1]
    return float(1.0 / np.mean(1.0 / counts))
