"""Crossnobis RDMs and shrinkage noise covariances against rsatoolbox; unbiasedness."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.data.noise import cov_from_residuals

from brainbridge.align import compute_rdms
from brainbridge.align.crossnobis import (
    crossnobis_rdms,
    noise_covariance,
    noise_precision,
    residuals,
)

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
