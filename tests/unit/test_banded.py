"""Banded ridge: equal to himalaya's random search on the same candidates, folds and alphas."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import KFold

from brainbridge.encode.banded import (
    band_weight_candidates,
    cross_validated_banded_scores,
    fit_banded_ridge,
)

himalaya = pytest.importorskip("himalaya")


def _problem(n: int, sizes: tuple[int, ...], n_targets: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    Xs = [rng.standard_normal((n, p)) + 0.3 * i for i, p in enumerate(sizes)]
    weights = np.linspace(0.0, 1.0, n_targets)  # targets move from one band to the other
    Y = Xs[0] @ rng.standard_normal((sizes[0], n_targets)) * weights
    Y += Xs[-1] @ rng.standard_normal((sizes[-1], n_targets)) * (1 - weights)
    Y += 2.0 * rng.standard_normal((n, n_targets)) + 5.0
    Xtest = [rng.standard_normal((25, p)) for p in sizes]
    return Xs, Y, Xtest


ALPHAS = np.logspace(-2, 4, 7)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize(
    ("sizes", "n_targets"),
    [((8, 12), 6), ((50, 40), 6), ((50, 40), 150)],
    ids=["primal", "dual", "dual-many-targets"],  # more targets than alphas x test samples
)
def test_equals_himalaya_banded_ridge_cv(backend, sizes, n_targets):
    from himalaya.backend import set_backend
    from himalaya.ridge import BandedRidgeCV

    Xs, Y, Xtest = _problem(70, sizes, n_targets)
    gammas = band_weight_candidates(2, 8, seed=3)
    cv = KFold(4)
    set_backend("numpy")
    ref = BandedRidgeCV(
        groups="input",
        fit_intercept=True,
        cv=cv,
        solver_params=dict(alphas=ALPHAS, n_iter=gammas, progress_bar=False, warn=False),
    ).fit(Xs, Y)
    batch = 40 if n_targets > 40 else None  # several target batches
    fit = fit_banded_ridge(Xs, Y, ALPHAS, gammas, cv=cv, backend=backend, target_batch=batch)
    np.testing.assert_allclose(fit.cv_scores, ref.cv_scores_, atol=1e-8)
    np.testing.assert_allclose(fit.deltas, ref.deltas_, atol=1e-8)
    np.testing.assert_allclose(fit.predict(Xtest), ref.predict(Xtest), atol=1e-8)
    np.testing.assert_allclose(fit.coef, ref.coef_, atol=1e-8)
    assert len(np.unique(fit.gamma[0])) > 1  # targets did pick different band weights


def test_equals_himalaya_multiple_kernel_ridge_in_float32():
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import ColumnKernelizer, Kernelizer, MultipleKernelRidgeCV
    from sklearn.pipeline import make_pipeline

    Xs, Y, Xtest = _problem(60, (40, 50), seed=1)
    Xs = [X.astype(np.float32) for X in Xs]
    alphas = np.logspace(0, 5, 6)  # float32 kernels: no near-interpolating penalties
    gammas = band_weight_candidates(2, 6, seed=0)
    cv = KFold(5)
    set_backend("numpy")
    kernelizer = ColumnKernelizer(
        [("a", Kernelizer(), slice(0, 40)), ("b", Kernelizer(), slice(40, 90))]
    )
    ref = make_pipeline(
        kernelizer,
        MultipleKernelRidgeCV(
            kernels="precomputed",
            fit_intercept=True,
            cv=cv,
            solver_params=dict(alphas=alphas, n_iter=gammas, progress_bar=False),
        ),
    ).fit(np.hstack(Xs), Y.astype(np.float32))
    fit = fit_banded_ridge(Xs, Y, alphas, gammas, cv=cv, backend="numpy", dtype="float32")
    mkr = ref[-1]
    scale = np.abs(mkr.cv_scores_).max()
    np.testing.assert_allclose(fit.cv_scores / scale, mkr.cv_scores_ / scale, atol=1e-4)
    pred = ref.predict(np.hstack(Xtest).astype(np.float32))
    np.testing.assert_allclose(fit.predict(Xtest), pred, atol=1e-4 * np.abs(pred).max())


def test_candidates_lie_on_the_simplex():
    g = band_weight_candidates(3, 12, seed=0)
    assert g.shape == (12, 3)
    np.testing.assert_allclose(g.sum(1), 1.0)
    np.testing.assert_allclose(g[0], 1 / 3)
    assert (g >= 0).all() and len(np.unique(g[:, 0])) == 12
    np.testing.assert_array_equal(band_weight_candidates(1, 5), [[1.0]])


def test_the_band_that_carries_the_signal_gets_the_weight():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((200, 10)), rng.standard_normal((200, 10))
    Y = np.hstack([A @ rng.standard_normal((10, 3)), B @ rng.standard_normal((10, 3))])
    Y += 0.5 * rng.standard_normal(Y.shape)
    gammas = np.array([[0.5, 0.5], [0.99, 0.01], [0.01, 0.99]])
    fit = fit_banded_ridge([A, B], Y, ALPHAS, gammas, cv=5, backend="numpy")
    np.testing.assert_array_equal(fit.gamma[0], [0.99] * 3 + [0.01] * 3)


def test_outer_cross_validation_scores_held_out_r2():
    Xs, Y, _ = _problem(120, (6, 6), n_targets=4)
    result = cross_validated_banded_scores(
        Xs, Y, ALPHAS, 5, n_folds=4, inner_folds=3, backend="numpy", return_predictions=True
    )
    assert result.scores.shape == (4,) and result.gamma.shape == (4, 2, 4)
    assert (result.scores > 0.05).all()  # signal in every target
    assert result.predictions.shape == Y.shape


@pytest.mark.parametrize(
    ("spaces", "match"),
    [
        (lambda a, b: [a, b[:-1]], r"different numbers of samples .*same samples"),
        (lambda a, b: [a, np.ones((a.shape[0], 1))], r"'conv3' has no variance .*drop it"),
        (lambda a, b: [a, np.full_like(b, 2.0)], r"'conv3' has no variance"),
        (lambda a, b: [np.where(a > 2, np.nan, a), b], r"'conv2'.*non-finite.*impute or drop"),
    ],
    ids=["rows", "constant-feature", "constant-band", "nan"],
)
def test_bad_feature_spaces_are_refused_by_name(spaces, match):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 4)), rng.standard_normal((30, 5))
    with pytest.raises(ValueError, match=match):
        fit_banded_ridge(
            spaces(a, b), rng.standard_normal((30, 2)), ALPHAS, 3, names=["conv2", "conv3"]
        )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_choices_do_not_depend_on_the_scale_of_the_responses(dtype):
    """EEG in volts: squared errors near 1e-12 must not leave the choice to the tie-breaks."""
    Xs, Y, Xtest = _problem(80, (6, 30), seed=2)
    gammas = band_weight_candidates(2, 6, seed=1)
    unit = fit_banded_ridge(Xs, Y, ALPHAS, gammas, cv=4, backend="numpy", dtype=dtype)
    volts = fit_banded_ridge(Xs, Y * 1e-6, ALPHAS, gammas, cv=4, backend="numpy", dtype=dtype)
    np.testing.assert_array_equal(volts.alpha, unit.alpha)
    np.testing.assert_array_equal(volts.gamma, unit.gamma)
    assert len(np.unique(unit.alpha)) > 1
    np.testing.assert_allclose(volts.predict(Xtest) * 1e6, unit.predict(Xtest), rtol=1e-3)
