"""Encoding statistics: grouped folds, repetition averaging, permutation p-values and their
corrections, bootstrap intervals, noise ceilings, and the encode step that stores them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats
from sklearn.linear_model import Ridge, RidgeCV

from brainbridge.encode.ceiling import ncsnr, noise_ceiling, spearman_brown, split_half
from brainbridge.encode.cv import (
    FoldData,
    cv_scores,
    fit_folds,
    fold_scores,
    make_encoding_folds,
    n_averaged,
)
from brainbridge.encode.ridge import score_predictions
from brainbridge.encode.significance import (
    bootstrap_summary,
    permutation_test,
    within_fold_permutations,
)
from brainbridge.steps.encoding import encode
from brainbridge.store import open_store, write_store

ALPHAS = np.logspace(-2, 4, 7)


def _folds(rng, n_folds=5, m=24, n_targets=50, rho=0.0, counts=None) -> list[FoldData]:
    """Held-out folds whose predictions correlate ``rho`` with the stimulus means."""
    out = []
    for _ in range(n_folds):
        pred = rng.normal(size=(m, n_targets))
        y = rho * pred + np.sqrt(1 - rho**2) * rng.normal(size=(m, n_targets))
        c = np.ones(m) if counts is None else counts
        out.append(FoldData(pred, y * c[:, None], y**2 * c[:, None], c, np.ones(n_targets)))
    return out


# ------------------------------------------------------------------ folds


def test_run_folds_keep_runs_and_stimuli_whole():
    runs = np.repeat(np.arange(6), 20)
    stimulus = np.array([f"s{r}-{i % 10}" for r, i in zip(runs, range(120))])  # 2 reps per run
    design = make_encoding_folds(stimulus, runs, groups="auto", n_folds=5, seed=0)
    assert design.groups == "run" and design.n_groups == 6 and len(design.folds) == 5
    for train, test in design.folds:
        assert not set(runs[train]) & set(runs[test])
        assert not set(stimulus[train]) & set(stimulus[test])
    covered = np.sort(np.concatenate([te for _, te in design.folds]))
    assert np.array_equal(covered, np.arange(120))


def test_runs_sharing_stimuli_fall_back_to_stimulus_groups():
    stimulus = np.tile([f"s{i}" for i in range(30)], 2)
    runs = np.repeat(["1", "2"], 30)  # every run shows every stimulus: one linked group
    design = make_encoding_folds(stimulus, runs, groups="auto", n_folds=5)
    assert design.groups == "stimulus"
    for train, test in design.folds:
        assert not set(stimulus[train]) & set(stimulus[test])
    with pytest.raises(ValueError, match=r"encoding\.groups: run.*encoding\.n_folds=5.*1 group"):
        make_encoding_folds(stimulus, runs, groups="run", n_folds=5, source="brain store b.zarr")


def test_fewer_runs_than_folds_is_an_error_naming_the_keys_and_the_fix():
    runs = np.repeat(np.arange(3), 10)
    stimulus = np.array([f"s{i}" for i in range(30)])
    with pytest.raises(ValueError) as err:
        make_encoding_folds(stimulus, runs, groups="run", n_folds=5, source="brain store b.zarr")
    msg = str(err.value)
    assert "b.zarr" in msg and "3 run(s)" in msg and "lower encoding.n_folds to 3" in msg
    assert "encoding.groups: stimulus" in msg
    with pytest.raises(ValueError, match="has no 'run' coord"):
        make_encoding_folds(stimulus, None, groups="run", n_folds=5)
    with pytest.raises(ValueError, match=r"encoding\.n_folds=40 exceeds the 30 distinct"):
        make_encoding_folds(stimulus, None, groups="stimulus", n_folds=40)


def test_ungrouped_folds_split_the_stimulus_list():
    stimulus = np.repeat([f"s{i}" for i in range(25)], [1, 3, 2, 2, 1] * 5)
    design = make_encoding_folds(stimulus, None, groups="none", n_folds=5, seed=1)
    assert design.groups == "none"
    for train, test in design.folds:
        assert np.unique(stimulus[test]).size == 5
        assert not set(stimulus[train]) & set(stimulus[test])


# ------------------------------------------------------------------ fits and scores


@pytest.mark.parametrize("scoring", ["pearson", "r2"])
def test_fold_scores_equal_scores_of_the_expanded_rows(scoring):
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 4, size=12).astype(float)
    pred = rng.normal(size=(12, 7))
    rows = np.repeat(np.arange(12), counts.astype(int))
    y = pred[rows] * 0.5 + rng.normal(size=(rows.size, 7)) + 3.0
    y_sum = np.zeros((12, 7))
    np.add.at(y_sum, rows, y)
    y_sq = np.zeros((12, 7))
    np.add.at(y_sq, rows, y**2)
    fold = FoldData(pred, y_sum, y_sq, counts, np.ones(7))
    expected = score_predictions(y, pred[rows], scoring)
    np.testing.assert_allclose(fold_scores(fold, scoring), expected, atol=1e-10)


def _trials(rng, n_stim=40, reps=2, n_feat=6, n_targets=5, signal=1.0):
    x = rng.normal(size=(n_stim, n_feat))
    stim = np.tile(np.arange(n_stim), reps)
    y = signal * (x @ rng.normal(size=(n_feat, n_targets)))[stim]
    y += rng.normal(size=y.shape)
    return x, y, stim


@pytest.mark.parametrize("average", ["both", "train", "test", "none"])
def test_fit_folds_equals_scikit_learn_ridgecv_per_fold(average):
    rng = np.random.default_rng(1)
    x, y, stim = _trials(rng)
    design = make_encoding_folds(stim.astype(str), None, groups="stimulus", n_folds=4, seed=0)
    folds = fit_folds(x, y, stim, design.folds, ALPHAS, average=average, backend="numpy").folds
    expected = []
    for train, test in design.folds:
        if average in ("both", "train"):
            s = np.unique(stim[train])
            xt, yt = x[s], np.stack([y[train][stim[train] == i].mean(0) for i in s])
        else:
            xt, yt = x[stim[train]], y[train]
        model = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(xt, yt)
        if average in ("both", "test"):
            s = np.unique(stim[test])
            yte = np.stack([y[test][stim[test] == i].mean(0) for i in s])
            expected.append(score_predictions(yte, model.predict(x[s])))
        else:
            expected.append(score_predictions(y[test], model.predict(x[stim[test]])))
    np.testing.assert_allclose(cv_scores(folds, "pearson"), np.mean(expected, 0), atol=1e-6)
    assert n_averaged(stim, average) == (2.0 if average in ("both", "test") else 1.0)


# ------------------------------------------------------------------ permutation tests


def _cv(rng, n_stim=24, n_targets=20, n_feat=4, signal=0.0, n_folds=3, average="both"):
    x, y, stim = _trials(rng, n_stim=n_stim, n_feat=n_feat, n_targets=n_targets, signal=signal)
    design = make_encoding_folds(stim.astype(str), None, groups="stimulus", n_folds=n_folds)
    return x, y, stim, fit_folds(x, y, stim, design.folds, ALPHAS, average=average, backend="numpy")


@pytest.mark.parametrize("average", ["both", "none"])
def test_permutation_refits_equal_scikit_learn_ridge_on_permuted_labels(average):
    """The null: labels permuted within folds, every fold refitted (penalties fixed)."""
    rng = np.random.default_rng(2)
    x, y, stim, cv = _cv(rng, n_stim=18, n_targets=4, signal=0.5, average=average)
    for f in cv.folds:  # identity permutation: the smoother reproduces the fitted predictions
        y_train = cv.means[f.train]
        refit = np.stack([f.hat[a] @ y_train[:, t] for t, a in enumerate(f.alpha)], 1)
        np.testing.assert_allclose(refit, f.pred, atol=1e-8)
    summary = np.full((4, 1), 0.25)
    sig = permutation_test(cv, "pearson", summary, n_permutations=10, correction="max", seed=4)
    local = within_fold_permutations(cv, 10, 4)
    null = np.zeros((10, 4))
    yc = y - y.mean(0)
    for k in range(10):
        relabel = np.arange(18)
        for f, perm in zip(cv.folds, local):
            relabel[f.test] = f.test[perm[k]]
        # trial t of stimulus s now stands for stimulus inverse(s): responses follow the labels
        new_stim = np.argsort(relabel)[stim]
        for f in cv.folds:
            tr, te = np.isin(new_stim, f.train), np.isin(new_stim, f.test)
            scores = []
            for t in range(4):
                model = Ridge(alpha=f.alpha[t])
                if average == "both":
                    s = f.train
                    yt = np.stack([yc[tr][new_stim[tr] == i, t].mean() for i in s])
                    model.fit(x[s], yt)
                    yte = np.stack([yc[te][new_stim[te] == i, t].mean() for i in f.test])
                    scores.append(
                        score_predictions(yte[:, None], model.predict(x[f.test])[:, None])
                    )
                else:
                    model.fit(x[new_stim[tr]], yc[tr, t])
                    p = model.predict(x[new_stim[te]])
                    scores.append(score_predictions(yc[te, t][:, None], p[:, None]))
            null[k] += np.concatenate(scores) / len(cv.folds)
    observed = cv_scores(cv.folds, "pearson")
    np.testing.assert_allclose(sig.p_value, (1 + (null >= observed - 1e-10).sum(0)) / 11)
    fwer = (1 + (null.max(1)[:, None] >= observed - 1e-10).sum(0)) / 11
    np.testing.assert_allclose(sig.p_corrected, fwer)
    unit = (1 + (null @ summary >= observed @ summary - 1e-10).sum(0)) / 11
    np.testing.assert_allclose(sig.summary_p_value, unit)


def test_p_values_are_uniform_under_the_null_with_fitted_models():
    """Ridge fitted per fold on responses unrelated to the features: p ~ U(0, 1)."""
    rng = np.random.default_rng(3)
    _, _, _, cv = _cv(rng, n_stim=60, n_feat=8, n_targets=600, n_folds=5)
    summary = np.full((600, 1), 1 / 600)
    p = permutation_test(cv, "pearson", summary, n_permutations=99, seed=1).p_value
    assert stats.kstest(p, "uniform").pvalue > 0.001
    for level in (0.05, 0.2, 0.5):
        assert abs(np.mean(p <= level) - level) < 0.04


@pytest.mark.parametrize("correction", ["max", "fdr"])
def test_corrections_control_the_familywise_error_under_the_global_null(correction):
    rng = np.random.default_rng(4)
    summary = np.full((4, 1), 1 / 4)
    hits = []
    for rep in range(200):
        _, _, _, cv = _cv(rng, n_targets=4)
        sig = permutation_test(
            cv, "pearson", summary, n_permutations=99, correction=correction, seed=rep
        )
        hits.append(sig.p_corrected.min() <= 0.05)
    assert 0.015 <= np.mean(hits) <= 0.095  # nominal 0.05 (at most, for FDR); sd 0.015


def test_corrected_p_values_find_planted_targets():
    rng = np.random.default_rng(5)
    x, y, stim = _trials(rng, n_stim=40, n_feat=4, n_targets=40, signal=0.0)
    y[:, :10] += (x @ rng.normal(size=(4, 10)))[stim]  # targets 0-9 follow the features
    design = make_encoding_folds(stim.astype(str), None, groups="stimulus", n_folds=5)
    cv = fit_folds(x, y, stim, design.folds, ALPHAS, backend="numpy")
    summary = np.full((40, 1), 1 / 40)
    for correction in ("max", "fdr"):
        sig = permutation_test(cv, "pearson", summary, n_permutations=199, correction=correction)
        assert (sig.p_corrected[:10] < (0.01 if correction == "max" else 0.05)).all()
        assert (sig.p_corrected[10:] > 0.05).mean() > 0.85
        assert (sig.p_corrected >= sig.p_value - 1e-12).all()


# ------------------------------------------------------------------ bootstrap


def test_bootstrap_interval_covers_the_true_correlation_near_the_nominal_rate():
    rng = np.random.default_rng(6)
    rho, covered = 0.4, []
    summary = np.full((3, 1), 1 / 3)
    for rep in range(200):
        folds = _folds(rng, n_folds=5, m=40, n_targets=3, rho=rho)
        low, high = bootstrap_summary(folds, "pearson", summary, n_bootstrap=200, seed=rep)
        covered.append(low[0] <= rho <= high[0])
    assert 0.88 <= np.mean(covered) <= 0.99  # nominal 0.95; binomial sd 0.015


# ------------------------------------------------------------------ noise ceilings


def _repeated(rng, n_stim=200, reps=4, n_targets=300, sd_signal=1.0, sd_noise=2.0):
    signal = sd_signal * rng.normal(size=(n_stim, n_targets))
    stim = np.tile(np.arange(n_stim), reps)
    y = signal[stim] + sd_noise * rng.normal(size=(stim.size, n_targets)) + 5.0
    return signal, stim, y


def test_ncsnr_and_split_half_recover_the_known_signal_to_noise_ratio():
    rng = np.random.default_rng(7)
    _, stim, y = _repeated(rng)
    snr = ncsnr(y, stim)
    assert abs(np.median(snr) - 0.5) < 0.03
    truth = 0.25 / (0.25 + 1 / 4)  # reliability of a 4-trial average: 0.5
    r_half, n_half = split_half(y, stim)
    assert n_half == 2.0
    assert abs(np.median(spearman_brown(r_half, 4 / n_half)) - truth) < 0.03
    for method in ("ncsnr", "split_half"):
        c = noise_ceiling(y, stim, n_avg=4, method=method, scoring="r2")
        assert abs(np.median(c.reliability) - truth) < 0.03
        assert abs(np.median(c.ceiling) - truth) < 0.03


def test_a_noise_free_model_reaches_the_pearson_ceiling():
    rng = np.random.default_rng(8)
    signal, stim, y = _repeated(rng, reps=3, sd_noise=1.5)
    means = np.stack([y[stim == s].mean(0) for s in range(signal.shape[0])])
    perfect = score_predictions(means, signal)
    c = noise_ceiling(y, stim, n_avg=3, method="ncsnr", scoring="pearson")
    assert abs(np.mean(perfect) - np.mean(c.ceiling)) < 0.02
    single = noise_ceiling(y, stim, n_avg=1, method="split_half", scoring="pearson")
    assert np.mean(single.ceiling) < np.mean(c.ceiling)


def test_no_repetitions_give_no_ceiling():
    y = np.random.default_rng(9).normal(size=(20, 4))
    c = noise_ceiling(y, np.arange(20), n_avg=1)
    assert np.isnan(c.ncsnr).all() and np.isnan(c.ceiling).all()


# ------------------------------------------------------------------ the step


N = 30
IDS = [f"img{i:02d}" for i in range(N)]


@pytest.fixture()
def stores(tmp_path):
    rng = np.random.default_rng(10)
    feats = rng.normal(size=(N, 8))
    acts = xr.Dataset(
        {
            "good": (("stimulus", "feature:good"), feats.astype(np.float32)),
            "bad": (("stimulus", "feature:bad"), rng.normal(size=(N, 8)).astype(np.float32)),
        },
        coords={"stimulus": IDS},
        attrs={"model": "net"},
    )
    write_store(acts, tmp_path / "net.zarr", kind="activations")
    trials = np.tile(np.arange(N), 2)
    data = rng.normal(size=(2 * N, 12))
    data[:, :6] += 2 * (feats @ rng.normal(size=(8, 6)))[trials]
    fmri = xr.Dataset(
        {"data": (("trial", "voxel"), data)},
        coords={
            "stimulus": ("trial", np.array(IDS)[trials]),
            "run": ("trial", np.repeat(["1", "2"], N)),
            "onset": ("trial", np.arange(2.0 * N)),
            "region": ("voxel", np.repeat(["A", "B"], 6)),
        },
        attrs={"modality": "fmri", "dataset": "toy-fmri"},
    )
    write_store(fmri, tmp_path / "fmri.zarr", kind="responses")
    times = np.round(np.arange(0.0, 0.1, 0.01), 3)
    eeg = rng.normal(size=(2 * N, 4, times.size))
    eeg[:, :2, 5:] += 2 * (feats @ rng.normal(size=(8, 2)))[trials][:, :, None]
    epochs = xr.Dataset(
        {"data": (("trial", "channel", "time"), eeg)},
        coords={
            "stimulus": ("trial", np.array(IDS)[trials]),
            "channel": ["Oz", "O1", "Fz", "Cz"],
            "ch_type": ("channel", ["eeg"] * 4),
            "time": times,
        },
        attrs={"modality": "eeg", "sfreq": 100.0, "dataset": "toy-eeg"},
    )
    write_store(epochs, tmp_path / "eeg.zarr", kind="epochs")
    return tmp_path


def _encode(stores, brain, **cfg):
    encoding = {"alphas": [0.1, 10.0, 1000.0], "n_folds": 5, "scoring": "pearson"}
    encoding |= {"backend": "numpy", "n_permutations": 49, "n_bootstrap": 49, **cfg}
    out = {"store": stores / f"{brain}.enc.zarr", "table": stores / f"{brain}.enc.tsv"}
    encode(
        {"brain": stores / f"{brain}.zarr", "activations": stores / "net.zarr"},
        out,
        {"dataset": f"toy-{brain}", "model": "net", "seed": 0, "encoding": encoding},
    )
    return open_store(out["store"], "encoding", load=True), pd.read_csv(out["table"], sep="\t")


def test_encode_step_stores_significance_ceilings_and_the_cv_design(stores):
    ds, table = _encode(stores, "fmri", correction="fdr", average_repetitions="train")
    for var in ("p_value", "p_corrected", "ceiling", "ncsnr", "score_normalised"):
        assert var in ds
    assert ds["summary_ci_low"].dims == ("layer", "region") == ds["summary_p_value"].dims
    assert ds.attrs["cv_groups"] == "stimulus"  # the two runs share every stimulus
    assert ds.attrs["average_repetitions"] == "train" and ds.attrs["n_avg"] == 1.0
    assert ds.attrs["correction"] == "fdr" and "permuted" in ds.attrs["permutation_scheme"]
    assert "NCSNR" in ds.attrs["ceiling_definition"]
    good = ds.sel(layer="good")
    assert (good["p_corrected"].values[:6] < 0.05).all()
    assert float(good["summary_p_value"].sel(region="A")) < 0.05
    assert float(good["summary_ci_low"].sel(region="A")) > float(
        ds["summary_ci_high"].sel(layer="bad", region="A")
    )
    ceiling = ds["ceiling"].values
    assert (ceiling[:6] > 0.5).all() and (ceiling[:6] <= 1).all()
    np.testing.assert_allclose(
        ds["score_normalised"].values[:, :6], ds["score"].values[:, :6] / ceiling[:6], rtol=1e-5
    )
    assert {"p_value", "ci_low", "ci_high", "ceiling", "score_normalised"} <= set(table.columns)
    assert len(table) == 4  # 2 layers x 2 regions


def test_encode_step_on_epochs_keeps_time_resolved_summaries(stores):
    ds, table = _encode(stores, "eeg", ceiling="split_half")
    assert ds["summary"].dims == ("layer", "region", "time")
    assert ds["summary_ceiling"].dims == ("region", "time")
    assert ds.attrs["ceiling_method"] == "split_half" and ds.attrs["n_avg"] == 2.0
    late = ds["summary_p_value"].sel(layer="good", region="scalp").values[5:]
    assert (late < 0.05).all()
    assert table["time"].notna().all() and len(table) == 2 * 10


def test_too_few_runs_stop_the_step_before_anything_is_written(stores):
    with pytest.raises(ValueError, match=r"fmri\.zarr.*lower encoding\.n_folds|encoding\.groups"):
        _encode(stores, "fmri", groups="run")
    assert not (stores / "fmri.enc.zarr").exists() and not (stores / "fmri.enc.tsv").exists()


def test_report_marks_significance_and_shows_ceilings(stores):
    from brainbridge.report import build_report

    _encode(stores, "fmri")
    _encode(stores, "eeg")
    out = build_report(
        encoding=[stores / "fmri.enc.zarr", stores / "eeg.enc.zarr"],
        alignment=[],
        out=stores / "report.html",
    )
    text = out.read_text(encoding="utf-8")
    assert "encoding normalised heatmap toy-fmri" in text  # score / ceiling beside the raw one
    assert text.count("BH-FDR q &lt; 0.05") >= 3  # fMRI cells, EEG heatmap and time course
    assert "NC: noise ceiling" in text and "Grey: noise ceiling" in text
    assert "labels permuted within each fold" in text  # the methods paragraph
