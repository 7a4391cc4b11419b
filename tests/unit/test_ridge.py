"""Tests for brainbridge.encode: exactness against scikit-learn, recovery, folds, validation."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import StandardScaler

from brainbridge.encode import (
    RidgeEncoder,
    cross_validated_scores,
    fit_ridge_loo,
    get_backend,
    make_folds,
    score_predictions,
)
from brainbridge.encode.backend import numerics as get_backend_numerics

ALPHAS = np.logspace(-3, 5, 9)
BACKENDS = ["numpy", "torch"]
SHAPES = {"primal": (90, 25), "dual": (40, 150)}


def _data(n, p, n_targets=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3, p) + 2.0
    W = rng.standard_normal((p, n_targets)) / np.sqrt(p)
    noise = np.geomspace(0.05, 20, n_targets)
    Y = X @ W + rng.standard_normal((n, n_targets)) * noise + 3.0
    return X, Y


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_fit_matches_sklearn_ridgecv(shape, backend):
    X, Y = _data(*SHAPES[shape])
    ref = RidgeCV(alphas=ALPHAS, alpha_per_target=True, store_cv_results=True).fit(X, Y)
    fit = fit_ridge_loo(X, Y, ALPHAS, backend=backend)
    np.testing.assert_array_equal(fit.alpha, ref.alpha_)
    np.testing.assert_allclose(fit.coef, ref.coef_.T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.intercept, ref.intercept_, rtol=1e-8, atol=1e-10)
    Xnew = np.random.default_rng(1).standard_normal((7, X.shape[1]))
    np.testing.assert_allclose(fit.predict(Xnew), ref.predict(Xnew), rtol=1e-8, atol=1e-10)
    # stored LOO squared errors: (n_samples, n_targets, n_alphas) in scikit-learn
    np.testing.assert_allclose(fit.loo_mse, ref.cv_results_.mean(0).T, rtol=1e-7)
    assert len(np.unique(fit.alpha)) > 2  # the data really exercise per-target choices


def test_alpha_grows_with_noise():
    X, Y = _data(120, 30, n_targets=24)
    fit = fit_ridge_loo(X, Y, ALPHAS, backend="numpy")
    assert fit.alpha[-4:].min() > fit.alpha[:4].max()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scoring", ["pearson", "r2"])
def test_recovery_signal_vs_noise(backend, scoring):
    rng = np.random.default_rng(3)
    n, p = 200, 40
    X = rng.standard_normal((n, p))
    signal = X @ rng.standard_normal((p, 10)) + 0.5 * rng.standard_normal((n, 10))
    noise = rng.standard_normal((n, 10))
    res = cross_validated_scores(
        X, np.hstack([signal, noise]), ALPHAS, scoring=scoring, backend=backend
    )
    assert res.scores.shape == (20,)
    assert res.alphas.shape == (5, 20)
    assert res.scores[:10].min() > 0.9
    assert np.abs(res.scores[10:]).max() < 0.25
    if scoring == "r2":
        assert res.scores[10:].max() < 0.05


@pytest.mark.parametrize("standardize", [False, True])
def test_cv_matches_sklearn_in_same_folds(standardize):
    X, Y = _data(60, 80, n_targets=12, seed=5)
    X[:, 3] = 1.0  # constant column: standardization must not divide by zero
    res = cross_validated_scores(
        X,
        Y,
        ALPHAS,
        n_folds=4,
        standardize=standardize,
        return_predictions=True,
        backend="torch",
    )
    P = np.zeros_like(Y)
    for k, (train, test) in enumerate(res.folds):
        Xtr, Xte = X[train], X[test]
        if standardize:
            sc = StandardScaler().fit(Xtr)
            Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
        ref = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(Xtr, Y[train])
        np.testing.assert_array_equal(res.alphas[k], ref.alpha_)
        P[test] = ref.predict(Xte)
    np.testing.assert_allclose(res.predictions, P, rtol=1e-7, atol=1e-9)
    per_fold = [
        [np.corrcoef(Y[te, j], P[te, j])[0, 1] for j in range(Y.shape[1])] for _, te in res.folds
    ]
    np.testing.assert_allclose(res.scores, np.mean(per_fold, axis=0), atol=1e-10)
    concat = cross_validated_scores(
        X, Y, ALPHAS, n_folds=4, standardize=standardize, backend="numpy", aggregate="concatenated"
    )
    np.testing.assert_allclose(concat.scores, score_predictions(Y, P), atol=1e-10)
    r = [np.corrcoef(Y[:, j], P[:, j])[0, 1] for j in range(Y.shape[1])]
    np.testing.assert_allclose(concat.scores, r, atol=1e-10)


def test_per_fold_scores_are_unbiased_under_the_null():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((100, 40)), rng.standard_normal((100, 400))
    folds = cross_validated_scores(X, Y, ALPHAS, backend="numpy").scores
    concat = cross_validated_scores(X, Y, ALPHAS, backend="numpy", aggregate="concatenated")
    assert abs(folds.mean()) < 0.03  # no signal: zero on average
    assert concat.scores.mean() < folds.mean() - 0.03  # the concatenated score is biased low
    with pytest.raises(ValueError, match="aggregate"):
        cross_validated_scores(X, Y, ALPHAS, aggregate="median")


def test_groups_keep_repeats_in_one_fold():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(30), 4)  # 30 stimuli, 4 repetitions each
    rng.shuffle(groups)
    folds = make_folds(groups.size, 5, groups=groups)
    test_sets = [set(groups[test]) for _, test in folds]
    for (train, _test), ids in zip(folds, test_sets, strict=True):
        assert not ids & set(groups[train])
    assert sorted(np.concatenate([t for _, t in folds])) == list(range(groups.size))
    assert set().union(*test_sets) == set(range(30))
    X = rng.standard_normal((groups.size, 10))
    Y = rng.standard_normal((groups.size, 3))
    res = cross_validated_scores(X, Y, ALPHAS, groups=groups, backend="numpy")
    for train, test in res.folds:
        assert not set(groups[test]) & set(groups[train])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_target_batching_is_exact(shape, backend):
    X, Y = _data(*SHAPES[shape], n_targets=23)
    full = fit_ridge_loo(X, Y, ALPHAS, backend=backend)
    part = fit_ridge_loo(X, Y, ALPHAS, backend=backend, target_batch=5)
    np.testing.assert_array_equal(part.alpha, full.alpha)
    np.testing.assert_allclose(part.coef, full.coef, rtol=1e-12, atol=1e-12)
    cv_full = cross_validated_scores(X, Y, ALPHAS, backend=backend)
    cv_part = cross_validated_scores(X, Y, ALPHAS, backend=backend, target_batch=4)
    np.testing.assert_allclose(cv_part.scores, cv_full.scores, atol=1e-12)
    np.testing.assert_array_equal(cv_part.alphas, cv_full.alphas)


def test_float32_close_to_float64():
    X, Y = _data(*SHAPES["primal"])
    f64 = fit_ridge_loo(X, Y, ALPHAS, backend="torch")
    f32 = fit_ridge_loo(X, Y, ALPHAS, backend="torch", dtype="float32")
    assert f32.coef.dtype == np.float32
    np.testing.assert_allclose(f32.predict(X), f64.predict(X), rtol=1e-3, atol=1e-3)


def test_estimator_wraps_solver():
    X, Y = _data(*SHAPES["dual"])
    est = clone(RidgeEncoder(alphas=ALPHAS, backend="numpy")).fit(X, Y)
    ref = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X, Y)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(est.alpha_, ref.alpha_)
    assert est.n_features_in_ == X.shape[1]
    r = est.score_targets(X, Y)
    assert r.shape == (Y.shape[1],) and est.score(X, Y) == pytest.approx(r.mean())
    est_r2 = RidgeEncoder(alphas=ALPHAS, backend="numpy", scoring="r2").fit(X, Y)
    r2 = 1 - ((Y - ref.predict(X)) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)
    assert est_r2.score(X, Y) == pytest.approx(r2.mean())
    with pytest.raises(ValueError, match="not fitted"):
        RidgeEncoder().predict(X)


def test_backend_seam():
    assert get_backend("auto").name == "torch"
    assert get_backend("numpy").asarray([1, 2]).dtype == np.float64
    with pytest.raises(ValueError, match="backend must be one of"):
        get_backend("jax")
    with pytest.raises(ValueError, match="dtype"):
        get_backend("numpy", dtype="int8")


def _bad(case):
    rng = np.random.default_rng(0)
    X, Y, alphas, kwargs = rng.standard_normal((20, 4)), rng.standard_normal((20, 3)), ALPHAS, {}
    if case == "nan_x":
        X[2, 1] = np.nan
    elif case == "inf_y":
        Y[0, 0] = np.inf
    elif case == "short_y":
        Y = Y[:19]
    elif case == "1d_x":
        X = X[:, 0]
    elif case == "negative_alpha":
        alphas = [1.0, -1.0]
    elif case == "zero_alpha":
        alphas = [0.0]
    elif case == "no_alpha":
        alphas = []
    elif case == "zero_batch":
        kwargs = {"target_batch": 0}
    return X, Y, alphas, kwargs


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("nan_x", r"X contains 1 non-finite"),
        ("inf_y", r"Y contains 1 non-finite"),
        ("short_y", r"same number of rows.*X 20 and Y 19"),
        ("1d_x", r"X must be 2-D.*X\[:, None\]"),
        ("negative_alpha", r"alphas must be finite and strictly positive"),
        ("zero_alpha", r"alphas must be finite and strictly positive"),
        ("no_alpha", r"alphas must be a non-empty"),
        ("zero_batch", r"target_batch must be a positive integer"),
    ],
)
def test_bad_inputs_raise_clearly(case, match):
    X, Y, alphas, kwargs = _bad(case)
    with pytest.raises(ValueError, match=match):
        fit_ridge_loo(X, Y, alphas, backend="numpy", **kwargs)
    with pytest.raises(ValueError, match=match):
        cross_validated_scores(X, Y, alphas, backend="numpy", **kwargs)


def test_bad_cv_arguments():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20, 4)), rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match="scoring must be one of"):
        cross_validated_scores(X, Y, ALPHAS, scoring="mse")
    with pytest.raises(ValueError, match="n_folds must be an integer >= 2"):
        cross_validated_scores(X, Y, ALPHAS, n_folds=1)
    with pytest.raises(ValueError, match="groups must have shape"):
        cross_validated_scores(X, Y, ALPHAS, groups=np.arange(5))
    with pytest.raises(ValueError, match="distinct groups"):
        cross_validated_scores(X, Y, ALPHAS, groups=np.arange(20) % 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_record_the_numerics_used(backend):
    X, Y = _data(*SHAPES["dual"])
    res = cross_validated_scores(X, Y, ALPHAS, backend=backend)
    assert res.numerics == {"backend": backend, "device": "cpu", "dtype": "float64"}
    assert get_backend_numerics(backend) == res.numerics  # what the encoding step records
    fit = fit_ridge_loo(X.astype(np.float32), Y.astype(np.float32), ALPHAS, backend=backend)
    assert (fit.backend, fit.device, fit.dtype) == (backend, "cpu", "float32")  # float32 in
    assert fit.coef.dtype == np.float32


@pytest.mark.parametrize("shape", [(160, 600), (300, 40)])  # kernel and primal regimes
def test_float32_input_solves_in_float32_close_to_float64(shape):
    X, Y = _data(*shape, n_targets=30, seed=2)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    f64 = fit_ridge_loo(X, Y, ALPHAS, backend="numpy")
    f32 = fit_ridge_loo(X32, Y32, ALPHAS)
    assert f32.dtype == "float32" and f32.backend == "torch"
    # small alphas must not lose the LOO error to cancellation (1 - h and residuals near 0)
    np.testing.assert_allclose(f32.loo_mse, f64.loo_mse, rtol=2e-5)
    idx = np.abs(np.log(ALPHAS)[:, None] - np.log(f32.alpha)[None]).argmin(0)
    chosen = f64.loo_mse[idx, np.arange(Y.shape[1])]
    np.testing.assert_allclose(chosen, f64.loo_mse.min(0), rtol=2e-5)  # a tie at worst
    cv64 = cross_validated_scores(X, Y, ALPHAS, backend="numpy")
    cv32 = cross_validated_scores(X32, Y32, ALPHAS, backend="numpy")
    assert cv32.dtype == "float32"
    np.testing.assert_allclose(cv32.scores, cv64.scores, atol=1e-3)


def test_encoding_step_records_backend_device_and_dtype(tmp_path):
    import xarray as xr

    from brainbridge.steps import get_step
    from brainbridge.store import open_store, write_store

    rng = np.random.default_rng(0)
    n_stim, ids = 40, np.array([f"s{i:02d}" for i in range(40)])
    feats = rng.standard_normal((n_stim, 6))
    stim = np.tile(np.arange(n_stim), 2)
    data = feats[stim] @ rng.standard_normal((6, 12)) + rng.standard_normal((len(stim), 12))
    brain = xr.Dataset(
        {"data": (("trial", "voxel"), data)},
        coords={"stimulus": ("trial", ids[stim]), "region": ("voxel", np.repeat(["A", "B"], 6))},
        attrs={"modality": "fmri"},
    )
    acts = xr.Dataset(
        {"conv1": (("stimulus", "feature:conv1"), feats)},
        coords={"stimulus": ids},
        attrs={"model": "toy"},
    )
    write_store(acts, tmp_path / "acts.zarr", kind="activations")
    write_store(brain, tmp_path / "brain.zarr", kind="responses")
    inputs = {"brain": tmp_path / "brain.zarr", "activations": tmp_path / "acts.zarr"}
    for backend in BACKENDS:
        out = {"store": tmp_path / f"{backend}.zarr", "table": tmp_path / f"{backend}.tsv"}
        cfg = {"alphas": list(ALPHAS), "n_folds": 4, "scoring": "pearson", "backend": backend}
        cfg |= {"n_permutations": 0, "n_bootstrap": 0}  # numerics only: no statistics
        params = {"dataset": "toy", "model": "toy", "encoding": cfg}
        get_step("encode")(inputs, out, params)
        attrs = open_store(out["store"], "encoding").attrs
        assert (attrs["backend"], attrs["device"], attrs["dtype"]) == (backend, "cpu", "float64")


def test_encoding_step_imports_torch_only_for_the_torch_backend():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; import brainbridge.steps.encoding as s;"
        "from brainbridge.encode import cross_validated_scores as cv;"
        "s.set_torch_threads(1); x = np.random.default_rng(0).standard_normal((20, 3));"
        "r = cv(x, x[:, :2], [1.0], n_folds=2, backend='numpy');"
        "print('torch' in sys.modules, r.backend)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "numpy"]
