"""Pure ridge solvers: many targets, many alphas, per-target alpha by efficient leave-one-out.

One decomposition per fit serves every alpha and every target. With ``Xc`` the column-centred
design and ``Xc = U diag(s) V^T`` its thin SVD (primal, ``n_samples >= n_features``) or
``Xc Xc^T = U diag(s^2) U^T`` its kernel eigendecomposition (dual, ``n_features > n_samples``),
the ridge hat matrix with an unpenalised intercept is::

    H(alpha) = 1 1^T / n + U diag(s^2 / (s^2 + alpha)) U^T

and the leave-one-out residuals are ``(y - H y) / (1 - diag H)``. The alpha with the smallest mean
squared LOO residual is kept per target, as scikit-learn's ``RidgeCV(alpha_per_target=True)`` does
with its default efficient LOO and ``scoring=None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, KFold

from brainbridge.encode.backend import Backend, get_backend

SCORINGS = ("pearson", "r2")
AGGREGATES = ("folds", "concatenated")
_BATCH_ELEMENTS = 2**25  # default target batch keeps each (n_samples, batch) block near 256 MB


@dataclass
class RidgeFit:
    """A fitted multi-target ridge: ``Y_hat = X @ coef + intercept``."""

    coef: np.ndarray  # (n_features, n_targets)
    intercept: np.ndarray  # (n_targets,)
    alpha: np.ndarray  # (n_targets,) alpha chosen per target
    loo_mse: np.ndarray  # (n_alphas, n_targets) mean squared LOO residual per alpha
    alphas: np.ndarray  # (n_alphas,) the candidate alphas

    def predict(self, X: Any) -> np.ndarray:
        """Predict ``(n_samples, n_targets)`` from ``X`` of shape ``(n_samples, n_features)``."""
        X = _check_2d("X", X)
        if X.shape[1] != self.coef.shape[0]:
            raise ValueError(
                f"X has {X.shape[1]} features but the fit used {self.coef.shape[0]}; "
                "pass X with the same columns as at fit time"
            )
        return X @ self.coef + self.intercept


@dataclass
class CVResult:
    """Outer cross-validated encoding scores.

    ``scores`` is the mean over test folds of each fold's score (or, with
    ``aggregate="concatenated"``, the score of all out-of-fold predictions at once).
    """

    scores: np.ndarray  # (n_targets,)
    alphas: np.ndarray  # (n_folds, n_targets) alpha chosen by inner LOO in each training fold
    folds: list[tuple[np.ndarray, np.ndarray]]  # (train, test) sample indices per fold
    scoring: str
    predictions: np.ndarray | None = field(default=None, repr=False)  # (n_samples, n_targets)


# --------------------------------------------------------------------------- validation


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor, possibly on GPU
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _check_2d(name: str, a: Any) -> np.ndarray:
    a = _to_numpy(a)
    if a.ndim != 2:
        hint = f"; reshape a single column with {name}[:, None]" if a.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_columns), got shape {a.shape}{hint}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(
            f"{name} contains {bad} non-finite values (NaN or inf); impute or drop them first"
        )
    return a


def _check_xy(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = _check_2d("X", X)
    Y = _check_2d("Y", Y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of rows (samples), got X {X.shape[0]} and "
            f"Y {Y.shape[0]}; align them on the same samples"
        )
    if X.shape[0] < 3:
        raise ValueError(f"need at least 3 samples for leave-one-out, got {X.shape[0]}")
    return X, Y


def _check_alphas(alphas: Any) -> np.ndarray:
    a = np.atleast_1d(_to_numpy(alphas)).astype(np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-D sequence, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(
            f"alphas must be finite and strictly positive, got {a.tolist()}; "
            "use e.g. np.logspace(-2, 6, 9)"
        )
    return a


def _check_batch(target_batch: int | None, n_samples: int, n_targets: int) -> int:
    if target_batch is None:
        return max(1, min(n_targets, _BATCH_ELEMENTS // max(n_samples, 1)))
    if int(target_batch) != target_batch or target_batch < 1:
        raise ValueError(f"target_batch must be a positive integer or None, got {target_batch!r}")
    return int(target_batch)


# --------------------------------------------------------------------------- solver


def _decompose(B: Backend, Xc: Any) -> tuple[Any, Any, Any]:
    """Return ``U`` (n, r), ``s2`` (r,), ``V`` (p, r) with ``Xc = U diag(sqrt s2) V^T``.

    Kernel eigendecomposition when ``p > n``, Gram (``Xc^T Xc``) eigendecomposition when
    ``n / 2 < p <= n`` (cheaper than the SVD), thin SVD otherwise; directions with
    numerically zero variance (including the intercept direction in the dual) are dropped.
    """
    n, p = Xc.shape
    if p > n:
        s2, U = B.eigh(Xc @ Xc.T)
        s2 = B.clip_min(s2, 0.0)
        V = None
    elif 2 * p > n:  # nearly square: the Gram eigendecomposition is cheaper than the SVD
        s2, V = B.eigh(Xc.T @ Xc)
        s2 = B.clip_min(s2, 0.0)
        U = None
    else:
        U, s, Vt = B.svd(Xc)
        s2 = s * s
        V = Vt.T
    tol = float(s2.max()) * max(n, p) * B.eps() if s2.shape[0] else 0.0
    keep = s2 > tol
    s2 = s2[keep]
    if V is None:
        U = U[:, keep]
        V = (Xc.T @ U) / B.sqrt(s2)[None, :]
    elif U is None:
        V = V[:, keep]
        U = (Xc @ V) / B.sqrt(s2)[None, :]
    else:
        U, V = U[:, keep], V[:, keep]
    return U, s2, V


def _fit_backend(B: Backend, X: Any, Y: Any, alphas: Any, batch: int) -> tuple[Any, Any, Any, Any]:
    """Fit on backend arrays; return ``coef, intercept, best alpha, loo_mse``."""
    n = X.shape[0]
    x_mean, y_mean = X.mean(0), Y.mean(0)
    Xc = X - x_mean
    U, s2, V = _decompose(B, Xc)
    s = B.sqrt(s2)
    U2 = U * U
    n_targets = Y.shape[1]
    coef = B.zeros((X.shape[1], n_targets))
    best_alpha = B.zeros((n_targets,))
    loo = B.zeros((alphas.shape[0], n_targets))
    for start in range(0, n_targets, batch):
        sl = slice(start, min(start + batch, n_targets))
        Yb = Y[:, sl] - y_mean[sl]
        Z = U.T @ Yb  # (r, b)
        for i in range(alphas.shape[0]):
            f = s2 / (s2 + alphas[i])  # shrinkage factors (r,)
            leverage = U2 @ f + 1.0 / n  # diag of the hat matrix, intercept included
            resid = Yb - U @ (f[:, None] * Z)
            loo[i, sl] = ((resid / (1.0 - leverage)[:, None]) ** 2).mean(0)
        a = B.take(alphas, B.argmin(loo[:, sl], 0))  # first alpha wins ties
        best_alpha[sl] = a
        coef[:, sl] = V @ ((s[:, None] / (s2[:, None] + a[None, :])) * Z)
    intercept = y_mean - x_mean @ coef
    return coef, intercept, best_alpha, loo


def fit_ridge_loo(
    X: Any,
    Y: Any,
    alphas: Sequence[float] | np.ndarray,
    *,
    backend: str | Backend = "auto",
    dtype: str | None = None,
    target_batch: int | None = None,
) -> RidgeFit:
    """Fit ridge with an intercept, choosing one alpha per target by efficient LOO.

    Parameters
    ----------
    X : (n_samples, n_features) design.
    Y : (n_samples, n_targets) responses.
    alphas : candidate penalties, all > 0.
    backend : ``"numpy"``, ``"torch"`` or ``"auto"`` (torch), or a backend instance.
    dtype : ``"float64"`` (default on CPU) or ``"float32"``.
    target_batch : targets solved together (bounds memory); None picks a size automatically.

    Equivalent to ``sklearn.linear_model.RidgeCV(alphas, alpha_per_target=True)``.
    """
    X, Y = _check_xy(X, Y)
    a = _check_alphas(alphas)
    batch = _check_batch(target_batch, X.shape[0], Y.shape[1])
    B = get_backend(backend, dtype=dtype)
    coef, intercept, best, loo = _fit_backend(B, B.asarray(X), B.asarray(Y), B.asarray(a), batch)
    return RidgeFit(
        coef=B.to_numpy(coef),
        intercept=B.to_numpy(intercept),
        alpha=B.to_numpy(best),
        loo_mse=B.to_numpy(loo),
        alphas=a,
    )


# --------------------------------------------------------------------------- scoring


def _score_backend(B: Backend, Y: Any, P: Any, scoring: str) -> Any:
    Yc = Y - Y.mean(0)
    if scoring == "r2":
        sst = (Yc * Yc).sum(0)
        sse = ((Y - P) ** 2).sum(0)
        ok = sst > 0
        return 1.0 - sse / (sst + (~ok)) * ok
    Pc = P - P.mean(0)
    denom = B.sqrt((Yc * Yc).sum(0) * (Pc * Pc).sum(0))
    ok = denom > 0
    return (Yc * Pc).sum(0) / (denom + (~ok)) * ok


def score_predictions(Y_true: Any, Y_pred: Any, scoring: str = "pearson") -> np.ndarray:
    """Per-target Pearson r or R^2 (``(n_targets,)``); 0 where a column has no variance."""
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
    Y_true, Y_pred = _check_2d("Y_true", Y_true), _check_2d("Y_pred", Y_pred)
    if Y_true.shape != Y_pred.shape:
        raise ValueError(f"Y_true {Y_true.shape} and Y_pred {Y_pred.shape} must match in shape")
    B = get_backend("numpy")
    return _score_backend(B, B.asarray(Y_true), B.asarray(Y_pred), scoring)


# --------------------------------------------------------------------------- cross-validation


def make_folds(
    n_samples: int,
    n_folds: int = 5,
    *,
    groups: Any = None,
    seed: int | None = 0,
    shuffle: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Outer (train, test) indices: ``KFold``, or ``GroupKFold`` when ``groups`` is given.

    Pass stimulus ids as ``groups`` so repeated presentations of a stimulus share one fold.
    """
    if int(n_folds) != n_folds or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    if groups is None:
        if n_folds > n_samples:
            raise ValueError(f"n_folds={n_folds} exceeds n_samples={n_samples}; lower n_folds")
        cv = KFold(n_folds, shuffle=shuffle, random_state=seed if shuffle else None)
        return list(cv.split(np.zeros(n_samples)))
    groups = np.asarray(_to_numpy(groups))
    if groups.shape != (n_samples,):
        raise ValueError(
            f"groups must have shape ({n_samples},) (one id per sample), got {groups.shape}"
        )
    n_groups = np.unique(groups).size
    if n_folds > n_groups:
        raise ValueError(f"n_folds={n_folds} exceeds the {n_groups} distinct groups; lower n_folds")
    try:
        cv = GroupKFold(n_folds, shuffle=shuffle, random_state=seed if shuffle else None)
    except TypeError:  # scikit-learn < 1.6 has no shuffling GroupKFold
        cv = GroupKFold(n_folds)
    return list(cv.split(np.zeros(n_samples), groups=groups))


def cross_validated_scores(
    X: Any,
    Y: Any,
    alphas: Sequence[float] | np.ndarray,
    *,
    n_folds: int = 5,
    groups: Any = None,
    scoring: str = "pearson",
    seed: int | None = 0,
    shuffle: bool = True,
    standardize: bool = False,
    return_predictions: bool = False,
    backend: str | Backend = "auto",
    dtype: str | None = None,
    target_batch: int | None = None,
    aggregate: str = "folds",
) -> CVResult:
    """Outer K-fold encoding scores with per-target alphas picked by inner LOO on each train fold.

    Folds come from :func:`make_folds` (``GroupKFold`` when ``groups`` is given). With
    ``standardize`` each fold z-scores X with the training fold's mean and std.
    ``aggregate="folds"`` (default) averages the score of each test fold: unbiased under the
    null (no signal gives 0 on average). ``"concatenated"`` scores all out-of-fold predictions
    at once, which is biased below 0 without signal (a heavily regularized prediction is the
    training-fold mean, which anti-correlates with the held-out samples).
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
    X, Y = _check_xy(X, Y)
    a = _check_alphas(alphas)
    folds = make_folds(X.shape[0], n_folds, groups=groups, seed=seed, shuffle=shuffle)
    B = get_backend(backend, dtype=dtype)
    Xb, Yb, ab = B.asarray(X), B.asarray(Y), B.asarray(a)
    P = B.zeros(tuple(Y.shape))
    fold_alphas = []
    for train, test in folds:
        if train.size < 3:
            raise ValueError(f"a training fold has {train.size} samples; use fewer folds")
        tr, te = B.asindex(train), B.asindex(test)
        Xtr, Xte = Xb[tr], Xb[te]
        if standardize:
            mu = Xtr.mean(0)
            sd = B.sqrt(((Xtr - mu) ** 2).mean(0))
            sd = sd + (sd == 0)
            Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
        batch = _check_batch(target_batch, train.size, Y.shape[1])
        coef, intercept, best, _ = _fit_backend(B, Xtr, Yb[tr], ab, batch)
        P[te] = Xte @ coef + intercept
        fold_alphas.append(best)
    if aggregate == "concatenated":
        scores = _score_backend(B, Yb, P, scoring)
    else:
        per_fold = [
            _score_backend(B, Yb[B.asindex(te)], P[B.asindex(te)], scoring) for _, te in folds
        ]
        scores = B.stack(per_fold).mean(0)
    return CVResult(
        scores=B.to_numpy(scores),
        alphas=B.to_numpy(B.stack(fold_alphas)),
        folds=folds,
        scoring=scoring,
        predictions=B.to_numpy(P) if return_predictions else None,
    )
