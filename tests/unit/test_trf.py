"""Temporal response functions: parity with MNE's ReceptiveField, planted kernels, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from mne.decoding import ReceptiveField
from sklearn.linear_model import Ridge

from brainbridge.encode.trf import (
    TRFError,
    contiguous_blocks,
    cross_validated_trf,
    fit_trf,
    lag_matrix,
    lags_for,
    valid_slice,
)

SFREQ = 50.0


def _series(rng, n_times=600, n_features=2, n_targets=3):
    x = rng.standard_normal((n_times, n_features)) + 0.3
    y = rng.standard_normal((n_times, n_targets)) + 1.0
    return x, y


@pytest.mark.parametrize("window", [(-0.1, 0.3), (0.02, 0.2), (-0.2, -0.04)])
def test_equals_mne_receptive_field(window):
    """Coefficients, intercepts and predictions equal ReceptiveField(estimator=alpha)."""
    rng = np.random.default_rng(0)
    x, y = _series(rng)
    x_test, _ = _series(rng, n_times=200)
    tmin, tmax = window
    alpha = 3.0
    rf = ReceptiveField(tmin, tmax, SFREQ, estimator=alpha).fit(x, y)
    fit = fit_trf([x], [y], lags_for(tmin, tmax, SFREQ), [alpha])
    np.testing.assert_allclose(fit.coef.transpose(2, 1, 0), rf.coef_, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(fit.intercept, rf.estimator_.intercept_, atol=1e-6)
    np.testing.assert_allclose(fit.predict(x_test), rf.predict(x_test), atol=1e-6, rtol=1e-6)


def test_segments_equal_mne_epochs():
    """Segments are MNE's epochs: lags never cross from one into another."""
    rng = np.random.default_rng(1)
    xs = [_series(rng, n_times=300)[0] for _ in range(3)]
    ys = [_series(rng, n_times=300)[1] for _ in range(3)]
    rf = ReceptiveField(-0.06, 0.2, SFREQ, estimator=10.0)
    rf.fit(np.stack(xs, axis=1), np.stack(ys, axis=1))
    fit = fit_trf(xs, ys, lags_for(-0.06, 0.2, SFREQ), [10.0])
    np.testing.assert_allclose(fit.coef.transpose(2, 1, 0), rf.coef_, atol=1e-6, rtol=1e-6)


def test_design_is_the_ridge_of_the_lagged_centred_features():
    """The solution is sklearn's Ridge (no intercept) on the explicit zero-filled lag matrix."""
    rng = np.random.default_rng(2)
    x, y = _series(rng, n_times=400)
    lags = lags_for(-0.04, 0.1, SFREQ)
    fit = fit_trf([x], [y], lags, [5.0])
    design = lag_matrix(x - x.mean(0), lags)
    ref = Ridge(5.0, fit_intercept=False).fit(design, y - y.mean(0))
    coef = ref.coef_.reshape(3, 2, len(lags))  # target, feature, lag
    np.testing.assert_allclose(fit.coef.transpose(2, 1, 0), coef, atol=1e-8)


def test_fold_scores_equal_mne_score():
    """A held-out block is scored on its valid samples, as ReceptiveField.score does."""
    rng = np.random.default_rng(3)
    x, y = _series(rng, n_times=900)
    y[:, 0] += np.convolve(x[:, 0], np.hanning(9), mode="full")[: len(x)]
    result = cross_validated_trf(x, y, SFREQ, 0.0, 0.2, [2.0], n_folds=3)
    blocks = contiguous_blocks(len(x), 3)
    for k, test in enumerate(blocks):
        train = [b for i, b in enumerate(blocks) if i != k]
        rf = ReceptiveField(0.0, 0.2, SFREQ, estimator=2.0, scoring="corrcoef")
        rf.fit(np.stack([x[b] for b in train], 1), np.stack([y[b] for b in train], 1))
        np.testing.assert_allclose(result.fold_scores[k], rf.score(x[test], y[test]), atol=1e-6)


def test_recovers_planted_kernel():
    """A planted TRF (two features -> four channels) is recovered: r > 0.9 with the truth."""
    rng = np.random.default_rng(4)
    sfreq, n_times = 100.0, 6000
    lags = lags_for(-0.05, 0.3, sfreq)
    t = lags / sfreq
    x = rng.standard_normal((n_times, 2))
    kernel = np.zeros((len(lags), 2, 4))
    for f in range(2):
        for c in range(4):
            peak = 0.08 + 0.05 * (f + c)
            kernel[:, f, c] = rng.choice([-1, 1]) * np.exp(-0.5 * ((t - peak) / 0.03) ** 2)
    w = kernel.transpose(1, 0, 2).reshape(-1, 4)
    signal = lag_matrix(x, lags) @ w
    y = signal + 1.0 * signal.std() * rng.standard_normal(signal.shape)
    result = cross_validated_trf(x, y, sfreq, -0.05, 0.3, np.logspace(-1, 5, 7), n_folds=4)
    for c in range(4):
        r = np.corrcoef(result.fit.coef[:, :, c].ravel(), kernel[:, :, c].ravel())[0, 1]
        assert r > 0.9, (c, r)
    assert np.all(result.scores > 0.5)
    assert result.fold_alphas.shape == (4, 4)


def test_no_signal_scores_near_zero():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((3000, 1)), rng.standard_normal((3000, 8))
    result = cross_validated_trf(x, y, SFREQ, 0.0, 0.2, [1e-1, 1e2, 1e4], n_folds=5)
    assert abs(result.scores.mean()) < 0.05


def test_valid_slice_and_blocks():
    assert valid_slice(100, np.arange(-3, 6)) == slice(5, 97)
    assert valid_slice(100, np.arange(2, 6)) == slice(5, 100)
    blocks = contiguous_blocks(103, 4)
    assert blocks[0].start == 0 and blocks[-1].stop == 103
    assert all(a.stop == b.start for a, b in itertools.pairwise(blocks))


# ----------------------------------------------------------------------------- bad input


def test_window_longer_than_recording_is_refused():
    rng = np.random.default_rng(6)
    x, y = _series(rng, n_times=100)
    with pytest.raises(TRFError, match=r"sub-01.*trf\.tmin / trf\.tmax.*trf\.n_folds"):
        cross_validated_trf(x, y, SFREQ, -0.5, 3.0, [1.0], n_folds=2, where="sub-01")


def test_window_longer_than_a_block_is_refused():
    rng = np.random.default_rng(7)
    x, y = _series(rng, n_times=600)  # 12 s; 10 blocks of 1.2 s; window 1 s
    with pytest.raises(TRFError, match="each of the 10 cross-validation blocks"):
        cross_validated_trf(x, y, SFREQ, 0.0, 1.0, [1.0], n_folds=10)
    cross_validated_trf(x, y, SFREQ, 0.0, 1.0, [1.0], n_folds=2)  # fits with fewer blocks


def test_nan_in_features_is_refused():
    rng = np.random.default_rng(8)
    x, y = _series(rng)
    x[40, 1] = np.nan
    with pytest.raises(TRFError, match=r"NaN/inf.*sample 40, feature 1.*fill the gaps"):
        cross_validated_trf(x, y, SFREQ, 0.0, 0.2, [1.0])


def test_length_mismatch_is_refused():
    rng = np.random.default_rng(9)
    x, y = _series(rng)
    with pytest.raises(TRFError, match="599 samples but the recording has 600"):
        cross_validated_trf(x[:-1], y, SFREQ, 0.0, 0.2, [1.0], where="rec")


def test_bad_window_and_alphas():
    with pytest.raises(TRFError, match=r"trf\.tmin"):
        lags_for(0.3, 0.1, SFREQ)
    rng = np.random.default_rng(10)
    x, y = _series(rng)
    with pytest.raises(TRFError, match=r"trf\.alphas"):
        fit_trf([x], [y], lags_for(0, 0.1, SFREQ), [-1.0])
    with pytest.raises(TRFError, match=r"needs >= 2 training segments"):
        fit_trf([x], [y], lags_for(0, 0.1, SFREQ), [1.0, 10.0])


def _explicit_stats(x, y, lags, rows=slice(None)):
    """The statistics from the explicit lagged design (the reference)."""
    t = np.arange(len(x))[:, None] - lags[None, :]
    D = lag_matrix(x, lags)[rows]
    A = ((t >= 0) & (t < len(x))).astype(np.float64)[rows]
    y = y[rows]
    return {
        "gram": D.T @ D,
        "da": D.T @ A,
        "aa": A.T @ A,
        "cross": D.T @ y,
        "ay": A.T @ y,
        "d1": D.sum(0),
        "a1": A.sum(0),
        "yy": (y * y).sum(0),
        "y1": y.sum(0),
    }


@pytest.mark.parametrize("window", [(-3, 5), (2, 6), (-7, -2), (0, 0), (-40, 40)])
@pytest.mark.parametrize("valid", [False, True])
def test_structured_statistics_equal_the_explicit_design(window, valid):
    """The Toeplitz-with-edges statistics equal those of the explicit lag matrix."""
    from brainbridge.encode.trf import _stats

    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((50, 2))
    lags = np.arange(window[0], window[1] + 1)
    rows = valid_slice(50, lags) if valid else None
    got = _stats(x, y, lags, rows)
    want = _explicit_stats(x, y, lags, rows or slice(None))
    for key, value in want.items():
        np.testing.assert_allclose(getattr(got, key), value, atol=1e-10, err_msg=key)
