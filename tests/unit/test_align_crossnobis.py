"""Crossnobis RDMs and shrinkage noise covariances against rsatoolbox; unbiasedness."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
import xarray as xr
from rsatoolbox.data.noise import cov_from_residuals

from brainbridge.align import compute_rdms, get_metric
from brainbridge.align.crossnobis import (
    crossnobis_from_trials,
    crossnobis_rdms,
    noise_covariance,
    noise_precision,
    residuals,
    trial_folds,
)
from brainbridge.steps.alignment import align
from brainbridge.store import open_store, write_store

N_COND, N_RUNS, N_CH = 7, 4, 12


@pytest.fixture(scope="module")
def runs():
    rng = np.random.default_rng(0)
    conds = np.tile(np.arange(N_COND), N_RUNS)
    folds = np.repeat(np.arange(N_RUNS), N_COND)
    mixing = rng.normal(size=(N_CH, N_CH)) * 0.5  # correlated channel noise
    data = rng.normal(size=(N_COND, N_CH))[conds] + rng.normal(size=(len(conds), N_CH)) @ mixing
    return data, conds, folds


@pytest.mark.parametrize(
    ("ours", "theirs"), [("diag", "shrinkage_diag"), ("eye", "shrinkage_eye"), ("none", "full")]
)
def test_noise_covariance_matches_rsatoolbox(runs, ours, theirs):
    data, conds, _ = runs
    res, dof = residuals(data, conds)
    assert dof == N_COND * N_RUNS - N_COND
    np.testing.assert_allclose(
        noise_covariance(res, dof, ours), cov_from_residuals(res, dof, theirs), atol=1e-10
    )


@pytest.mark.parametrize("whiten", [True, False])
def test_crossnobis_matches_rsatoolbox(runs, whiten):
    data, conds, folds = runs
    precision = noise_precision(*residuals(data, conds)) if whiten else None
    ours, labels = crossnobis_rdms(data, conds, folds, precision)
    ds = rsatoolbox.data.Dataset(data, obs_descriptors={"conds": conds, "runs": folds})
    theirs = rsatoolbox.rdm.calc_rdm(
        ds, method="crossnobis", descriptor="conds", cv_descriptor="runs", noise=precision
    )
    np.testing.assert_allclose(ours, theirs.get_matrices()[0], atol=1e-10)
    assert labels.tolist() == list(range(N_COND))
    # batched over leading dims (e.g. time) = one call per element
    stacked = np.stack([data, 2 * data])
    batched, _ = crossnobis_rdms(stacked, conds, folds, precision)
    np.testing.assert_allclose(batched[1], crossnobis_rdms(2 * data, conds, folds, precision)[0])


def test_crossnobis_is_unbiased_where_euclidean_is_not():
    """Identical conditions: crossnobis ~ 0 on average, squared Euclidean of means > 0."""
    rng = np.random.default_rng(1)
    conds = np.tile(np.arange(5), 3)
    folds = np.repeat(np.arange(3), 5)
    cross, plain = [], []
    for _ in range(200):
        data = rng.normal(size=(15, 8))  # no condition differs
        cross.append(crossnobis_rdms(data, conds, folds)[0][0, 1])
        means = np.stack([data[conds == c].mean(0) for c in range(5)])
        plain.append(compute_rdms(means, "sqeuclidean", per_feature=True)[0, 1])
    assert abs(np.mean(cross)) < 3 * np.std(cross) / np.sqrt(200)
    assert np.mean(plain) > 0.5


def test_crossnobis_needs_every_condition_in_every_fold(runs):
    data, conds, folds = runs
    keep = ~((conds == 3) & (folds == 2))
    with pytest.raises(ValueError, match=r"condition '3' has no observation in fold '2'"):
        crossnobis_rdms(data[keep], conds[keep], folds[keep])
    with pytest.raises(ValueError, match="at least 2 folds"):
        crossnobis_rdms(data, conds, np.zeros_like(folds))


def test_crossnobis_metric_through_the_align_step(tmp_path):
    """EEG epochs, 3 presentations per stimulus: crossnobis RDMs per time point."""
    rng = np.random.default_rng(2)
    n_stim, n_rep, n_ch, n_time = 14, 3, 8, 4
    ids = np.array([f"s{i:02d}" for i in range(n_stim)])
    model = rng.normal(size=(n_stim, 6))
    signal = model @ rng.normal(size=(6, n_ch))
    order = rng.permutation(n_stim * n_rep)
    stim = np.tile(np.arange(n_stim), n_rep)[order]
    data = rng.normal(size=(n_stim * n_rep, n_ch, n_time))
    data[:, :, 2] += 2 * signal[stim]  # the model's geometry at time point 2 only
    brain = xr.Dataset(
        {"data": (("trial", "channel", "time"), data.astype("f4"))},
        coords={
            "stimulus": ("trial", ids[stim]),
            "onset": ("trial", np.arange(len(stim), dtype=float)),
            "channel": [f"E{i}" for i in range(n_ch)],
            "ch_type": ("channel", ["eeg"] * n_ch),
            "time": np.arange(n_time) / 10.0,
        },
        attrs={"sfreq": 10.0, "modality": "eeg", "dataset": "e"},
    )
    write_store(brain, tmp_path / "b.zarr", kind="epochs")
    acts = xr.Dataset(
        {"deep": (("stimulus", "feature:deep"), model.astype(np.float32))},
        coords={"stimulus": ids},
        attrs={"model": "net"},
    )
    write_store(acts, tmp_path / "net.zarr", kind="activations")
    name = "rsa-rdm=crossnobis-compare=pearson"
    cfg = {"metrics": [name], "n_permutations": 100, "n_bootstrap": 20, "ci": 0.95}
    outputs = {"store": tmp_path / "al.zarr", "table": tmp_path / "al.tsv"}
    inputs = {"brain": str(tmp_path / "b.zarr"), "activations": str(tmp_path / "net.zarr")}
    align(inputs, outputs, {"dataset": "e", "model": "net", "seed": 0, "alignment": cfg})
    score = open_store(outputs["store"], "alignment", load=True)["score"].sel(metric=name)
    expected = get_metric(name).score(
        crossnobis_from_trials(data, ids[stim], ids), model.astype(np.float32)
    )
    np.testing.assert_allclose(score.values.ravel(), expected, atol=1e-5)
    assert int(np.argmax(expected)) == 2 and expected[2] > 0.5


def test_trial_folds_runs_or_repetitions():
    stimuli = np.array(["a", "b", "a", "b", "a"])
    assert trial_folds(stimuli).tolist() == [0, 0, 1, 1, 2]
    assert trial_folds(stimuli[:4], np.array([1, 1, 2, 2])).tolist() == ["1", "1", "2", "2"]
    # a run missing a stimulus: folds are repetitions
    assert trial_folds(stimuli[:3], np.array([1, 1, 2])).tolist() == [0, 0, 1]
