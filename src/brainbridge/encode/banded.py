"""Banded ridge: one regularisation per feature space, band weights chosen per target by CV.

The feature spaces ``X_1 .. X_k`` are scaled by ``sqrt(gamma_b)`` with ``gamma`` on the simplex
and one ridge penalty ``alpha`` is applied to the scaled concatenation, so the effective penalty
of band ``b`` is ``alpha / gamma_b``. Each candidate ``gamma`` (a row of ``gammas``) is scored by
K-fold cross-validation on the training data for every ``alpha`` and every target: the
negative mean squared error of each validation fold (intercept fitted on the training folds),
averaged over folds. Per target the best ``alpha`` of a candidate is kept (the larger alpha on
a tie), and a candidate replaces the current best only when it beats it by more than the
dtype's machine epsilon (the first candidate wins ties). The model is then refitted on all the
data with each target's ``(gamma, alpha)``. This is the random-search strategy of himalaya's
``BandedRidgeCV`` / ``MultipleKernelRidgeCV`` (same candidates, folds and alphas give the same
scores and weights), except that both tie-breaks are relative to each target's variance:
himalaya's absolute ones decide every choice for responses of tiny scale (EEG in volts).

One decomposition per candidate and fold serves every alpha and every target: the Gram matrix
``D Xc^T Xc D`` (primal, ``n_features <= n_train``) or the kernel ``sum_b gamma_b Xc_b Xc_b^T``
(dual) is eigendecomposed once; the per-band Gram blocks or kernels are computed once per fold
and only reweighted per candidate.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainbridge.encode.backend import Backend, get_backend
from brainbridge.encode.ridge import (
    AGGREGATES,
    SCORINGS,
    _check_2d,
    _check_alphas,
    _check_batch,
    _score_backend,
    make_folds,
)

DEFAULT_CONCENTRATION = (0.1, 1.0)

Folds = list[tuple[np.ndarray, np.ndarray]]


# --------------------------------------------------------------------------- candidates


def band_weight_candidates(
    n_bands: int,
    n_candidates: int = 20,
    *,
    concentration: float | Sequence[float] = DEFAULT_CONCENTRATION,
    seed: int | None = 0,
) -> np.ndarray:
    """Candidate band weights ``(n_candidates, n_bands)`` on the simplex.

    The first row weighs every band equally; the others are Dirichlet samples whose
    concentration cycles through ``concentration`` (small values favour one band, 1 is uniform
    on the simplex). One band gives the single candidate ``[[1.0]]``.
    """
    if int(n_bands) != n_bands or n_bands < 1:
        raise ValueError(f"n_bands must be a positive integer, got {n_bands!r}")
    if int(n_candidates) != n_candidates or n_candidates < 1:
        raise ValueError(f"n_candidates must be a positive integer, got {n_candidates!r}")
    if n_bands == 1:
        return np.ones((1, 1))
    conc = np.atleast_1d(np.asarray(concentration, dtype=float))
    if conc.size == 0 or np.any(conc <= 0):
        raise ValueError(f"concentration must be positive, got {conc.tolist()}")
    rng = np.random.default_rng(seed)
    rows = [np.full(n_bands, 1.0 / n_bands)]
    for i in range(1, int(n_candidates)):
        c = conc[(i - 1) % conc.size]
        rows.append(
            np.full(n_bands, 1.0 / n_bands) if np.isinf(c) else rng.dirichlet([c] * n_bands)
        )
    return np.asarray(rows)


def _check_gammas(gammas: Any, n_bands: int, seed: int | None) -> np.ndarray:
    if isinstance(gammas, int | np.integer):
        return band_weight_candidates(n_bands, int(gammas), seed=seed)
    g = np.asarray(_to_numpy(gammas), dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != n_bands or g.shape[0] == 0:
        raise ValueError(
            f"gammas must have shape (n_candidates, {n_bands}) (one weight per band), got "
            f"{g.shape}; or pass an integer number of candidates"
        )
    if not np.all(np.isfinite(g)) or np.any(g < 0) or np.any(g.sum(1) <= 0):
        raise ValueError("gammas must be finite, non-negative, with a positive sum per row")
    return g


# --------------------------------------------------------------------------- validation


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def check_spaces(
    Xs: Sequence[Any], Y: Any | None = None, *, names: Sequence[str] | None = None
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Validate feature spaces (and targets): 2-D, finite, same rows, each with variance.

    Errors name the space (``names``, default ``X_0``, ``X_1`` ...) and the fix.
    """
    if isinstance(Xs, np.ndarray) or not isinstance(Xs, Sequence) or len(Xs) == 0:
        raise ValueError("Xs must be a non-empty list of 2-D arrays, one per feature space")
    names = list(names) if names is not None else [f"X_{i}" for i in range(len(Xs))]
    if len(names) != len(Xs):
        raise ValueError(f"got {len(names)} names for {len(Xs)} feature spaces")
    arrays = []
    for name, X in zip(names, Xs):
        try:
            X = _check_2d("X", X)
        except ValueError as err:
            raise ValueError(f"feature space {name!r}: {err}") from None
        if X.shape[1] == 0:
            raise ValueError(f"feature space {name!r} has no features; drop it")
        if not np.any(X.max(0) != X.min(0)):
            raise ValueError(
                f"feature space {name!r} has no variance (all {X.shape[1]} feature(s) constant "
                "over samples): it cannot explain anything; drop it from the feature spaces"
            )
        arrays.append(X)
    rows = {name: X.shape[0] for name, X in zip(names, arrays)}
    if len(set(rows.values())) > 1:
        raise ValueError(
            f"feature spaces have different numbers of samples {rows}; give every space the "
            "same samples in the same order"
        )
    if Y is not None:
        Y = _check_2d("Y", Y)
        if Y.shape[0] != arrays[0].shape[0]:
            raise ValueError(
                f"Y has {Y.shape[0]} samples but the feature spaces have {arrays[0].shape[0]}; "
                "align them on the same samples"
            )
    return arrays, Y


def _as_folds(cv: Any, n_samples: int) -> Folds:
    """(train, test) index pairs from an int (``KFold`` without shuffling, as himalaya), a
    scikit-learn splitter or an explicit list."""
    if isinstance(cv, int | np.integer):
        from sklearn.model_selection import KFold

        if cv < 2 or cv > n_samples:
            raise ValueError(f"cv={cv} folds needs 2 <= cv <= n_samples ({n_samples})")
        cv = KFold(int(cv))
    if hasattr(cv, "split"):
        folds = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(np.zeros((n_samples, 1)))]
    else:
        folds = [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
    for train, test in folds:
        if len(train) < 2 or len(test) == 0:
            raise ValueError("every inner fold needs >= 2 training and >= 1 validation samples")
    return folds


# --------------------------------------------------------------------------- decompositions


def _band_slices(sizes: Sequence[int]) -> list[slice]:
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def _feature_scale(B: Backend, gamma: np.ndarray, sizes: Sequence[int]) -> Any:
    """``sqrt(gamma_b)`` repeated over the features of band ``b``."""
    return B.asarray(np.repeat(np.sqrt(gamma), sizes))


class _FoldDesign:
    """One training split, centred, with what every candidate reuses."""

    def __init__(self, B: Backend, Xtr: Any, Xte: Any | None, slices: list[slice]) -> None:
        self.B = B
        self.slices = slices
        self.n, self.p = Xtr.shape
        mu = Xtr.mean(0)
        self.Xtr = Xtr - mu
        self.Xte = None if Xte is None else Xte - mu
        self.x_mean = mu
        self.dual = self.p > self.n
        if self.dual:  # per-band kernels, reweighted per candidate
            self.K = [self.Xtr[:, s] @ self.Xtr[:, s].T for s in slices]
            self.Kte = None if Xte is None else [self.Xte[:, s] @ self.Xtr[:, s].T for s in slices]
        else:  # the Gram matrix, rescaled per candidate
            self.G = self.Xtr.T @ self.Xtr

    def decompose(self, gamma: np.ndarray, sizes: Sequence[int]) -> tuple[Any, Any, Any]:
        """Eigenvalues ``s2`` and vectors of the scaled Gram (primal: ``V``, p x r) or kernel
        (dual: ``U``, n x r), and the feature scale ``d``."""
        B = self.B
        d = _feature_scale(B, gamma, sizes)
        if self.dual:
            Kg = self.K[0] * float(gamma[0])
            for g, Kb in zip(gamma[1:], self.K[1:]):
                Kg = Kg + Kb * float(g)
            s2, W = B.eigh(Kg)
        else:
            s2, W = B.eigh(self.G * d[:, None] * d[None, :])
        return B.clip_min(s2, 0.0), W, d


def _inner_cv_scores(
    B: Backend,
    X: Any,
    Y: Any,
    sizes: Sequence[int],
    gammas: np.ndarray,
    alphas: Any,
    folds: Folds,
    batch: int,
) -> np.ndarray:
    """Negative validation MSE averaged over folds, ``(n_gammas, n_alphas, n_targets)`` float64."""
    slices = _band_slices(sizes)
    n_alphas, n_targets = alphas.shape[0], Y.shape[1]
    total = np.zeros((gammas.shape[0], n_alphas, n_targets))
    for train, test in folds:
        tr, te = B.asindex(train), B.asindex(test)
        fold = _FoldDesign(B, X[tr], X[te], slices)
        Ytr = Y[tr]
        y_mean = Ytr.mean(0)
        Ytr = Ytr - y_mean
        Yte = Y[te] - y_mean
        n_te = len(test)
        C = None if fold.dual else fold.Xtr.T @ Ytr  # (p, t): shared by every candidate
        for g, gamma in enumerate(gammas):
            s2, W, d = fold.decompose(gamma, sizes)
            if fold.dual:
                Kte = fold.Kte[0] * float(gamma[0])
                for gb, Kb in zip(gamma[1:], fold.Kte[1:]):
                    Kte = Kte + Kb * float(gb)
                A = Kte @ W  # (n_te, n_train)
            else:
                A = fold.Xte @ (d[:, None] * W)  # (n_te, p)
            # dual with many targets: the (n_te, n_train) prediction matrix of every alpha,
            # stacked once per candidate, then one product per target batch
            matrices = fold.dual and n_targets > n_alphas * n_te
            if matrices:
                M = B.stack(
                    [(A * (1.0 / (s2 + alphas[i]))[None, :]) @ W.T for i in range(n_alphas)]
                )
                M = M.reshape(n_alphas * n_te, -1)
            for start in range(0, n_targets, batch):
                sl = slice(start, min(start + batch, n_targets))
                Yb_te = Yte[:, sl]
                if matrices:
                    P = (M @ Ytr[:, sl]).reshape(n_alphas, n_te, -1)
                    P -= Yb_te[None]  # in place: the residuals of every alpha
                    P *= P
                    mse = P.mean(1)
                    total[g, :, sl] -= B.to_numpy(mse).astype(np.float64)
                    continue
                Z = W.T @ (Ytr[:, sl] if fold.dual else d[:, None] * C[:, sl])
                for i in range(n_alphas):
                    P = A @ ((1.0 / (s2 + alphas[i]))[:, None] * Z)
                    mse = ((Yb_te - P) ** 2).mean(0)
                    total[g, i, sl] -= B.to_numpy(mse).astype(np.float64)
    return total / len(folds)


def _select(
    mean_scores: np.ndarray, alphas: np.ndarray, eps: float, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target: best candidate index, best alpha index, and per-candidate best scores.

    ``scale`` (per target, the variance of Y) makes the tie-breaks relative: himalaya's
    absolute ones (1e-10 log alpha, machine epsilon) would decide every choice for responses
    of tiny scale (EEG in volts: squared errors near 1e-12); for unit-variance data the two
    coincide.
    """
    n_gammas, _, n_targets = mean_scores.shape
    tilted = mean_scores + (np.log(alphas) * 1e-10)[None, :, None] * scale  # larger alpha on ties
    alpha_idx = tilted.argmax(1)  # (n_gammas, n_targets)
    cv_scores = np.take_along_axis(tilted, alpha_idx[:, None, :], 1)[:, 0, :]
    best = np.full(n_targets, -np.inf)
    best_gamma = np.zeros(n_targets, dtype=int)
    best_alpha = np.zeros(n_targets, dtype=int)
    for g in range(n_gammas):  # a later candidate must beat the current best by eps
        better = cv_scores[g] > best + eps * scale
        best[better] = cv_scores[g, better]
        best_gamma[better] = g
        best_alpha[better] = alpha_idx[g, better]
    return best_gamma, best_alpha, cv_scores


def _refit(
    B: Backend,
    X: Any,
    Y: Any,
    sizes: Sequence[int],
    gammas: np.ndarray,
    alphas: np.ndarray,
    best_gamma: np.ndarray,
    best_alpha: np.ndarray,
    batch: int,
    X_test: Any | None = None,
) -> tuple[Any, Any]:
    """Refit on all of ``X`` with each target's (gamma, alpha).

    Returns the coefficients on the unscaled features and the intercepts or, with ``X_test``,
    the predictions of ``X_test`` and None (the dual form then never forms the coefficients:
    per-band test kernels serve every target).
    """
    slices = _band_slices(sizes)
    fold = _FoldDesign(B, X, X_test, slices)
    y_mean = Y.mean(0)
    n_targets = Y.shape[1]
    predict = X_test is not None
    if predict:
        out = B.zeros((X_test.shape[0], n_targets))
    else:
        out = B.zeros((X.shape[1], n_targets))
    for g in np.unique(best_gamma):
        targets = np.flatnonzero(best_gamma == g)
        s2, W, d = fold.decompose(gammas[g], sizes)
        if predict and fold.dual:
            Kte = fold.Kte[0] * float(gammas[g][0])
            for gb, Kb in zip(gammas[g][1:], fold.Kte[1:]):
                Kte = Kte + Kb * float(gb)
        for start in range(0, targets.size, batch):
            idx = targets[start : start + batch]
            ti = B.asindex(idx)
            Yc = Y[:, ti] - y_mean[ti]
            a = B.asarray(alphas[best_alpha[idx]])
            if fold.dual:  # dual coefficients, then back to features (or to test samples)
                c = W @ ((W.T @ Yc) / (s2[:, None] + a[None, :]))
                if predict:
                    out[:, ti] = Kte @ c + y_mean[ti]
                    continue
                coef = (d * d)[:, None] * (fold.Xtr.T @ c)
            else:
                Z = W.T @ (d[:, None] * (fold.Xtr.T @ Yc))
                coef = d[:, None] * (W @ (Z / (s2[:, None] + a[None, :])))
            out[:, ti] = fold.Xte @ coef + y_mean[ti] if predict else coef
    if predict:
        return out, None
    return out, y_mean - fold.x_mean @ out


# --------------------------------------------------------------------------- public API


@dataclass
class BandedFit:
    """A fitted banded ridge: ``Y_hat = concat(Xs) @ coef + intercept``."""

    coef: np.ndarray  # (n_features, n_targets) on the unscaled features, bands concatenated
    intercept: np.ndarray  # (n_targets,)
    gamma: np.ndarray  # (n_bands, n_targets) chosen band weights
    alpha: np.ndarray  # (n_targets,) chosen penalty
    cv_scores: np.ndarray  # (n_candidates, n_targets) inner CV score (-MSE) at the best alpha
    gammas: np.ndarray  # (n_candidates, n_bands) the candidates
    alphas: np.ndarray  # (n_alphas,)
    band_sizes: tuple[int, ...]

    @property
    def deltas(self) -> np.ndarray:
        """``log(gamma / alpha)`` per band and target (himalaya's ``deltas_``)."""
        with np.errstate(divide="ignore"):
            return np.log(self.gamma / self.alpha[None, :])

    def predict(self, Xs: Sequence[Any], *, split: bool = False) -> np.ndarray:
        """Predictions ``(n_samples, n_targets)``; with ``split`` the part of each band
        ``(n_bands, n_samples, n_targets)`` (without the intercept)."""
        arrays = [_check_2d("X", X) for X in Xs]
        sizes = tuple(X.shape[1] for X in arrays)
        if sizes != self.band_sizes:
            raise ValueError(
                f"feature spaces have {sizes} features but the fit used {self.band_sizes}; "
                "pass the same spaces in the same order"
            )
        parts = [X @ self.coef[s] for X, s in zip(arrays, _band_slices(sizes))]
        if split:
            return np.stack(parts)
        return np.sum(parts, axis=0) + self.intercept


def fit_banded_ridge(
    Xs: Sequence[Any],
    Y: Any,
    alphas: Sequence[float] | np.ndarray,
    gammas: int | np.ndarray = 20,
    *,
    cv: Any = 5,
    seed: int | None = 0,
    backend: str | Backend = "auto",
    dtype: str | None = None,
    target_batch: int | None = None,
    names: Sequence[str] | None = None,
) -> BandedFit:
    """Fit banded ridge with an intercept, choosing band weights and alpha per target by CV.

    Parameters
    ----------
    Xs : feature spaces, each ``(n_samples, n_features_b)``.
    Y : ``(n_samples, n_targets)`` responses.
    alphas : candidate penalties, all > 0.
    gammas : ``(n_candidates, n_bands)`` band weights to try, or a number of candidates
        (:func:`band_weight_candidates` with ``seed``).
    cv : inner folds: an int (``KFold`` without shuffling), a scikit-learn splitter or a list
        of ``(train, validation)`` index pairs.
    backend, dtype : the array backend (``"numpy"``, ``"torch"``, ``"auto"``) and precision.
    target_batch : targets solved together (bounds memory); None picks a size.
    names : names of the spaces, for error messages.

    Equals himalaya's ``BandedRidgeCV(groups="input", fit_intercept=True, cv=cv,
    solver_params=dict(alphas=alphas, n_iter=gammas))``.
    """
    arrays, Y = check_spaces(Xs, Y, names=names)
    a = _check_alphas(alphas)
    g = _check_gammas(gammas, len(arrays), seed)
    B = get_backend(backend, dtype=dtype)
    sizes, best_gamma, best_alpha, cv_scores, (coef, intercept) = _fit(
        B, arrays, Y, a, g, cv, target_batch
    )
    return BandedFit(
        coef=coef,
        intercept=intercept,
        gamma=g[best_gamma].T.copy(),
        alpha=a[best_alpha],
        cv_scores=cv_scores,
        gammas=g,
        alphas=a,
        band_sizes=sizes,
    )


def _fit(
    B: Backend,
    arrays: list[np.ndarray],
    Y: np.ndarray,
    a: np.ndarray,
    g: np.ndarray,
    cv: Any,
    target_batch: int | None,
    X_test: list[np.ndarray] | None = None,
) -> tuple:
    """Inner CV, choice per target and refit (coefficients, or predictions of ``X_test``)."""
    sizes = tuple(X.shape[1] for X in arrays)
    folds = _as_folds(cv, Y.shape[0])
    X = B.asarray(np.concatenate(arrays, axis=1))
    Yb = B.asarray(Y)
    batch = _check_batch(target_batch, Y.shape[0], Y.shape[1])
    scores = _inner_cv_scores(B, X, Yb, sizes, g, B.asarray(a), folds, batch)
    scale = np.maximum(Y.astype(np.float64).var(0), np.finfo(np.float64).tiny)
    best_gamma, best_alpha, cv_scores = _select(scores, a, B.eps(), scale)
    Xte = None if X_test is None else B.asarray(np.concatenate(X_test, axis=1))
    out, intercept = _refit(B, X, Yb, sizes, g, a, best_gamma, best_alpha, batch, Xte)
    result = (B.to_numpy(out), None if intercept is None else B.to_numpy(intercept))
    return sizes, best_gamma, best_alpha, cv_scores, result


@dataclass
class BandedCVResult:
    """Outer cross-validated scores of banded ridge (inner CV picks gamma and alpha)."""

    scores: np.ndarray  # (n_targets,) mean over outer test folds, or of all of them at once
    gamma: np.ndarray  # (n_folds, n_bands, n_targets) chosen in each training fold
    alpha: np.ndarray  # (n_folds, n_targets)
    folds: Folds
    scoring: str
    predictions: np.ndarray | None = field(default=None, repr=False)


def cross_validated_banded_scores(
    Xs: Sequence[Any],
    Y: Any,
    alphas: Sequence[float] | np.ndarray,
    gammas: int | np.ndarray = 20,
    *,
    n_folds: int = 5,
    inner_folds: int = 5,
    groups: Any = None,
    folds: Folds | None = None,
    scoring: str = "r2",
    seed: int | None = 0,
    backend: str | Backend = "auto",
    dtype: str | None = None,
    target_batch: int | None = None,
    names: Sequence[str] | None = None,
    return_predictions: bool = False,
    aggregate: str = "folds",
) -> BandedCVResult:
    """Held-out scores: outer folds (:func:`make_folds`, or ``folds``), banded ridge fitted on
    each training fold with shuffled inner K-fold selection, scored on the test fold.

    ``aggregate="folds"`` averages the score of each test fold; ``"concatenated"`` scores all
    out-of-fold predictions at once (for R^2: less biased below 0 without signal, since the
    test folds' means no longer count against the model).
    """
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    arrays, Y = check_spaces(Xs, Y, names=names)
    g = _check_gammas(gammas, len(arrays), seed)
    if folds is None:
        folds = make_folds(Y.shape[0], n_folds, groups=groups, seed=seed)
    P = np.zeros(Y.shape)
    per_fold, fold_gamma, fold_alpha = [], [], []
    a = _check_alphas(alphas)
    B = get_backend(backend, dtype=dtype)
    for train, test in folds:
        inner = make_folds(train.size, inner_folds, seed=seed)
        _, best_gamma, best_alpha, _, (pred, _) = _fit(
            B,
            [X[train] for X in arrays],
            Y[train],
            a,
            g,
            inner,
            target_batch,
            X_test=[X[test] for X in arrays],
        )
        P[test] = pred
        per_fold.append(_score_backend(get_backend("numpy"), Y[test], P[test], scoring))
        fold_gamma.append(g[best_gamma].T)
        fold_alpha.append(a[best_alpha])
    if aggregate == "concatenated":
        scores = _score_backend(get_backend("numpy"), Y, P, scoring)
    else:
        scores = np.mean(per_fold, axis=0)
    return BandedCVResult(
        scores=scores,
        gamma=np.stack(fold_gamma),
        alpha=np.stack(fold_alpha),
        folds=folds,
        scoring=scoring,
        predictions=P if return_predictions else None,
    )
