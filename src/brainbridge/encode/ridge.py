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

from brainbridge.encode.backend import Backend, get_backend

SCORINGS = ("pearson", "r2")
AGGREGATES = ("folds", "concatenated")
_BATCH_ELEMENTS = 2**22  # default target batch: each (n_samples, batch) block near 16-32 MB


@dataclass
class RidgeFit:
    """A fitted multi-target ridge: ``Y_hat = X @ coef + intercept``."""

    coef: np.ndarray  # (n_features, n_targets)
    intercept: np.ndarray  # (n_targets,)
    alpha: np.ndarray  # (n_targets,) alpha chosen per target
    loo_mse: np.ndarray  # (n_alphas, n_targets) mean squared LOO residual per alpha
    alphas: np.ndarray  # (n_alphas,) the candidate alphas
    backend: str = ""  # provenance of the numerics: "numpy" or "torch"
    device: str = ""  # "cpu", "cuda:0", ...
    dtype: str = ""  # "float64" or "float32"

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
    backend: str = ""  # provenance of the numerics: "numpy" or "torch"
    device: str = ""  # "cpu", "cuda:0", ...
    dtype: str = ""  # "float64" or "float32"

    @property
    def numerics(self) -> dict[str, str]:
        """``{"backend", "device", "dtype"}`` actually used, for store attrs."""
        return {"backend": self.backend, "device": self.device, "dtype": self.dtype}


# --------------------------------------------------------------------------- validation


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor, possibly on GPU
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _all_finite(a: np.ndarray, chunk: int = 2**22) -> bool:
    """``np.isfinite(a).all()`` a block of rows at a time (no full-size boolean copy)."""
    rows = max(1, chunk // max(a.shape[1], 1))
    return all(np.isfinite(a[i : i + rows]).all() for i in range(0, a.shape[0], rows))


def _resolve_dtype(dtype: str | None, X: np.ndarray, Y: np.ndarray) -> str | None:
    """float32 inputs (both X and Y) are solved in float32 unless ``dtype`` says otherwise."""
    if dtype is None and X.dtype == np.float32 and Y.dtype == np.float32:
        return "float32"
    return dtype


def _check_2d(name: str, a: Any) -> np.ndarray:
    a = _to_numpy(a)
    if a.ndim != 2:
        hint = f"; reshape a single column with {name}[:, None]" if a.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_columns), got shape {a.shape}{hint}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if not _all_finite(a):
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
    """Return ``U`` (n, r), ``s2`` (r,) and ``V`` (p, r) or None, ``Xc = U diag(sqrt s2) V^T``.

    One symmetric eigendecomposition of the smaller Gram matrix: the kernel ``Xc Xc^T`` when
    ``p > n`` (``V`` is then left to the caller, who rarely needs it), else ``Xc^T Xc`` (cheaper
    than the thin SVD). Directions with numerically zero variance (including the intercept
    direction in the kernel) are dropped.
    """
    n, p = Xc.shape
    dual = p > n
    s2, E = B.eigh(Xc @ Xc.T if dual else Xc.T @ Xc)
    s2 = B.clip_min(s2, 0.0)
    tol = float(s2.max()) * max(n, p) * B.eps() if s2.shape[0] else 0.0
    keep = s2 > tol
    s2, E = s2[keep], E[:, keep]
    if dual:
        return E, s2, None
    return (Xc @ E) / B.sqrt(s2)[None, :], s2, E


class _Fold:
    """One training set's decomposition, shared by every target batch and every alpha."""

    def __init__(self, B: Backend, Xtr: Any, alphas: Any) -> None:
        self.B, self.alphas = B, alphas
        self.n = Xtr.shape[0]
        self.x_mean = Xtr.mean(0)
        self.Xc = Xtr - self.x_mean
        self.U, self.s2, self.V = _decompose(B, self.Xc)
        self.s = B.sqrt(self.s2)
        # 1 - diag of the hat matrix (intercept included), every alpha at once, summed from
        # non-negative parts (no cancellation when alpha is small): with g = alpha / (s2 + alpha)
        # 1 - h_i = sum_k U_ik^2 g_k + q_i, q_i = 1 - 1/n - sum_k U_ik^2 the share of sample i
        # outside the span of U and the intercept (exactly 0 when U spans all the rest)
        self.complete = self.U.shape[1] == self.n - 1
        self.gain = alphas[:, None] / (self.s2[None, :] + alphas[:, None])  # (n_alphas, r)
        U2 = self.U * self.U
        one_minus_h = self.gain @ U2.T  # (n_alphas, n)
        if not self.complete:
            one_minus_h = one_minus_h + B.clip_min(1.0 - 1.0 / self.n - U2.sum(1), 0.0)
        # LOO mean squared error = sum_i w_i resid_i^2 with w_i = 1 / (n (1 - h_i)^2)
        self.loo_weights = 1.0 / (self.n * one_minus_h**2)

    def coef_basis(self) -> Any:
        """``V`` (p, r), computed from the kernel eigenvectors when ``p > n``."""
        if self.V is None:
            self.V = (self.Xc.T @ self.U) / self.s[None, :]
        return self.V

    def test_basis(self, Xte: Any) -> Any:
        """``(Xte - mean) V`` (n_test, r) without forming ``V`` in the kernel case."""
        Xte_c = Xte - self.x_mean
        if self.V is not None:
            return Xte_c @ self.V
        return ((Xte_c @ self.Xc.T) @ self.U) / self.s[None, :]

    def solve(self, Yb: Any) -> tuple[Any, Any, Any, Any]:
        """For a target batch ``Yb`` (n, b): ``y_mean``, ``Z = U^T Yc``, best alpha, LOO MSE.

        ``Yb`` is overwritten. The residual ``Yc - U diag(1 - g) Z = Y_perp + U diag(g) Z``
        (``Y_perp`` the part of ``Yc`` outside the span of ``U``, zero when that span is
        complete) is written into one reused (n, b) buffer per alpha, squared in place and
        reduced by a product with the per-sample LOO weights: no (n_alphas, n, b) block is ever
        held, and nothing cancels when alpha is small (float32 stays accurate).
        """
        B = self.B
        y_mean = Yb.mean(0)
        Yb -= y_mean
        Z = self.U.T @ Yb  # (r, b): reused by every alpha
        resid = B.empty(tuple(Yb.shape))
        if self.complete:
            y_perp = None
        else:
            y_perp = B.sub_matmul_(Yb, self.U, Z, resid)
        n_alphas = self.alphas.shape[0]
        loo = B.empty((n_alphas, Yb.shape[1]))
        gZ = B.empty(tuple(Z.shape))
        for i in range(n_alphas):
            B.mul_into(Z, self.gain[i][:, None], gZ)
            B.add_matmul(y_perp, self.U, gZ, resid)
            B.square_(resid)
            loo[i] = self.loo_weights[i] @ resid
        best = B.take(self.alphas, B.argmin(loo, 0))  # first alpha wins ties
        return y_mean, Z, best, loo

    def weighted(self, Z: Any, best: Any) -> Any:
        """``diag(s / (s^2 + alpha_j)) Z`` column by column (r, b)."""
        return (self.s[:, None] / (self.s2[:, None] + best[None, :])) * Z


def _target_slices(n_targets: int, batch: int) -> list[slice]:
    return [slice(i, min(i + batch, n_targets)) for i in range(0, n_targets, batch)]


def _fit_backend(B: Backend, X: Any, Y: Any, alphas: Any, batch: int) -> tuple[Any, Any, Any, Any]:
    """Fit on backend arrays; return ``coef, intercept, best alpha, loo_mse``."""
    fold = _Fold(B, X, alphas)
    V = fold.coef_basis()
    n_targets = Y.shape[1]
    coef = B.zeros((X.shape[1], n_targets))
    best_alpha = B.zeros((n_targets,))
    loo = B.zeros((alphas.shape[0], n_targets))
    intercept = B.zeros((n_targets,))
    for sl in _target_slices(n_targets, batch):
        y_mean, Z, best, loo[:, sl] = fold.solve(Y[:, sl] * 1.0)
        best_alpha[sl] = best
        coef[:, sl] = V @ fold.weighted(Z, best)
        intercept[sl] = y_mean - fold.x_mean @ coef[:, sl]
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
    dtype : ``"float64"`` or ``"float32"``; None: float32 when X and Y are both float32,
        else float64 on CPU and float32 on CUDA (logged). The choice is recorded in the fit.
    target_batch : targets solved together (bounds memory); None picks a size automatically.

    Equivalent to ``sklearn.linear_model.RidgeCV(alphas, alpha_per_target=True)``.
    """
    X, Y = _check_xy(X, Y)
    a = _check_alphas(alphas)
    batch = _check_batch(target_batch, X.shape[0], Y.shape[1])
    B = get_backend(backend, dtype=_resolve_dtype(dtype, X, Y))
    coef, intercept, best, loo = _fit_backend(B, B.asarray(X), B.asarray(Y), B.asarray(a), batch)
    return RidgeFit(
        coef=B.to_numpy(coef),
        intercept=B.to_numpy(intercept),
        alpha=B.to_numpy(best),
        loo_mse=B.to_numpy(loo),
        alphas=a,
        **_numerics(B),
    )


def _numerics(B: Backend) -> dict[str, str]:
    return {"backend": B.name, "device": B.device_name, "dtype": B.dtype_name}


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
    from sklearn.model_selection import GroupKFold, KFold  # imported when folds are made

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

    Cost per training fold: one eigendecomposition of the smaller Gram matrix, ``U^T Y`` once,
    then one (n, r) x (r, batch) product per alpha; targets are solved in batches of
    ``target_batch`` so memory stays bounded, and the (n, n_targets) prediction matrix is kept
    only for ``return_predictions`` or ``aggregate="concatenated"``. ``dtype=None`` solves
    float32 inputs in float32 (else float64 on CPU, float32 on CUDA); the backend, device and
    dtype used are recorded in the result.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
    X, Y = _check_xy(X, Y)
    a = _check_alphas(alphas)
    folds = make_folds(X.shape[0], n_folds, groups=groups, seed=seed, shuffle=shuffle)
    for train, _test in folds:
        if train.size < 3:
            raise ValueError(f"a training fold has {train.size} samples; use fewer folds")
    B = get_backend(backend, dtype=_resolve_dtype(dtype, X, Y))
    Xb, Yb, ab = B.asarray(X), B.asarray(Y), B.asarray(a)
    n_targets = Y.shape[1]
    keep_predictions = return_predictions or aggregate == "concatenated"
    P = B.zeros(tuple(Y.shape)) if keep_predictions else None
    fold_scores = B.zeros((len(folds), n_targets))
    fold_alphas = B.zeros((len(folds), n_targets))
    for k, (train, test) in enumerate(folds):
        tr, te = B.asindex(train), B.asindex(test)
        Xtr, Xte = Xb[tr], Xb[te]
        if standardize:
            mu = Xtr.mean(0)
            sd = B.sqrt(((Xtr - mu) ** 2).mean(0))
            sd = sd + (sd == 0)
            Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
        fold = _Fold(B, Xtr, ab)
        T = fold.test_basis(Xte)  # (n_test, r): test predictions without forming coefficients
        for sl in _target_slices(n_targets, _check_batch(target_batch, train.size, n_targets)):
            Ysl = Yb[:, sl]
            y_mean, Z, best, _ = fold.solve(Ysl[tr])  # row indexing copies: centred in place
            pred = T @ fold.weighted(Z, best) + y_mean
            fold_alphas[k, sl] = best
            if P is not None:
                P[te, sl] = pred
            if aggregate == "folds":
                fold_scores[k, sl] = _score_backend(B, Ysl[te], pred, scoring)
    scores = _score_backend(B, Yb, P, scoring) if aggregate == "concatenated" else None
    return CVResult(
        scores=B.to_numpy(fold_scores.mean(0) if scores is None else scores),
        alphas=B.to_numpy(fold_alphas),
        folds=folds,
        scoring=scoring,
        predictions=B.to_numpy(P) if return_predictions else None,
        **_numerics(B),
    )
