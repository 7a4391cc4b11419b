"""Coverage of the stimulus-bootstrap intervals, by simulation, for every metric.

Stimuli are drawn from a population (a 3-dimensional latent shared by a 20-feature "brain"
with strong noise and a 40-feature "model"), so each simulated dataset is a new stimulus
sample; the 200 datasets are drawn once for all metrics. The true value is the metric's
population value (from 1,000 stimuli), except for metrics whose expectation depends on the
number of stimuli (biased CKA, linear and RBF; whitened cosine, an uncentred inner product of
double-centred second moments; Procrustes, SVCCA and mutual k-NN, whose chance level grows
with n_features / n_stimuli): there it is the mean score at the simulated number of stimuli
(1,000 datasets). At least 90% of 200 datasets' 95% intervals must contain it (resampling
stimuli with their copies' pairs kept gave 89.5% for unbiased and 87% for biased linear CKA
here; raw RBF Grams with copies' pairs zeroed 5% (biased) / 2% (unbiased), raw Procrustes
and SVCCA replicates 3.5% / 0%).

Crossnobis RDMs: each stimulus is recorded in two runs (trial noise as above); the brain RDM
is the crossnobis RDM of the trials (noise precision from the residuals) and the true value is
its comparison with the model's RDM at 1,000 stimuli (the noise of the distance estimates
attenuates it, as the noise of the patterns attenuates the other RSA scores).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from brainbridge.align import bootstrap_ci, get_metric
from brainbridge.align.crossnobis import crossnobis_from_trials

N_SIM, N_STIM, N_BOOT, N_RUNS = 200, 30, 200, 2
N_POPULATION, N_MEAN = 1000, 1000  # stimuli for population values; datasets for expectations
LATENT, P_BRAIN, P_MODEL, NOISE = 3, 20, 40, 2.0
BIASED_CKA = "cka-kernel=linear-hsic=biased"
# expectation depends on the number of stimuli: intervals cover the expectation at that n
N_DEPENDENT = (
    BIASED_CKA,
    "rsa-rdm=correlation-compare=whitened-cosine",
    "cka-kernel=rbf-median-hsic=biased",
    "procrustes-transform=orthogonal-score=cos-angle",
    "svcca-dims=10-score=mean-corr",
    "mutual-knn-k=10-similarity=cosine",
)
CROSSNOBIS = [f"rsa-rdm=crossnobis-compare={c}" for c in ("spearman", "pearson", "cosine")]
METRICS = [
    *(
        f"rsa-rdm={rdm}-compare={cmp}"
        for rdm in ("correlation", "euclidean", "sqeuclidean")
        for cmp in ("spearman", "pearson", "cosine")
    ),
    *(f"rsa-rdm=correlation-compare={c}" for c in ("tau-a", "whitened-pearson", "whitened-cosine")),
    "cka-kernel=linear-hsic=unbiased",
    BIASED_CKA,
    "cka-kernel=rbf-median-hsic=unbiased",
    "cka-kernel=rbf-median-hsic=biased",
    "procrustes-transform=orthogonal-score=cos-angle",
    "svcca-dims=10-score=mean-corr",
    "mutual-knn-k=10-similarity=cosine",
    *CROSSNOBIS,
]


def _draw(rng: np.random.Generator, n: int, size: tuple[int, ...] = (), runs: int = 0):
    """(brain, model) patterns; with ``runs``, brain is (..., runs, n, p) trials of signal +
    noise, else the signal plus one draw of noise."""
    gen = np.random.default_rng(0)
    to_brain = gen.normal(size=(LATENT, P_BRAIN))
    to_model = gen.normal(size=(LATENT, P_MODEL))
    latent = rng.normal(size=(*size, n, LATENT))
    signal = latent @ to_brain
    reps = (runs,) if runs else ()
    noise = NOISE * rng.normal(size=(*size, *reps, n, P_BRAIN))
    brain = (signal[..., None, :, :] if runs else signal) + noise
    model = latent @ to_model + rng.normal(size=(*size, n, P_MODEL))
    return (brain, model, signal) if runs else (brain, model)


def _crossnobis(trials: np.ndarray):
    """Crossnobis RDM vectors of (runs, n, p) trials, runs as folds."""
    n_runs, n = trials.shape[:2]
    stimuli = np.tile(np.arange(n).astype(str), n_runs)
    runs = np.repeat(np.arange(n_runs), n)
    return crossnobis_from_trials(trials.reshape(-1, P_BRAIN), stimuli, stimuli[:n], runs)


@pytest.fixture(scope="module")
def datasets():
    """200 simulated datasets: (brain patterns, model, crossnobis brain RDM vectors)."""
    rng = np.random.default_rng(2)
    out = []
    for _ in range(N_SIM):
        trials, model, _ = _draw(rng, N_STIM, runs=N_RUNS)
        out.append((trials[0], model, _crossnobis(trials)))  # one run: the truth's draws
    return out


@functools.cache
def _crossnobis_population():
    """The crossnobis RDM of 1,000 stimuli and their model patterns (shared by 3 metrics)."""
    trials, model, _ = _draw(np.random.default_rng(1), N_POPULATION, runs=N_RUNS)
    return _crossnobis(trials), model


def _truth(metric) -> float:
    rng = np.random.default_rng(1)
    if metric.name in CROSSNOBIS:  # the crossnobis RDM of 1,000 stimuli against the model's
        return float(metric.score(*_crossnobis_population()))
    if metric.name in N_DEPENDENT:
        return float(np.mean(metric.score(*_draw(rng, N_STIM, (N_MEAN,)))))
    return float(metric.score(*_draw(rng, N_POPULATION)))


@pytest.mark.parametrize("name", METRICS)
def test_bootstrap_interval_covers_the_true_value(name, datasets):
    metric = get_metric(name)
    truth = _truth(metric)
    hits = contains = 0
    for i, (brain, model, rdm) in enumerate(datasets):
        brain = rdm if name in CROSSNOBIS else brain
        res = bootstrap_ci(metric, brain, model, n_bootstrap=N_BOOT, seed=i)
        hits += bool(res.lower <= truth <= res.upper)
        contains += bool(res.lower <= res.observed <= res.upper)
    assert hits / N_SIM >= 0.90, f"{name}: coverage {hits / N_SIM:.3f} of {truth:.3f}"
    assert contains / N_SIM >= 0.95, f"{name}: score inside its interval {contains / N_SIM:.3f}"


def test_recentred_replicates_keep_their_spread():
    from brainbridge.align.shape import recentred

    boot = np.random.default_rng(4).uniform(0.6, 0.9, size=(3, 500))
    observed = np.array([0.5, 0.7, 0.95])
    flat = recentred(boot, observed)
    np.testing.assert_allclose(np.median(flat, axis=-1), observed)
    np.testing.assert_allclose(flat - flat[:, :1], boot - boot[:, :1])
    angular = recentred(boot, observed, angular=True)
    np.testing.assert_allclose(np.median(angular, axis=-1), observed)
    assert np.all((angular >= -1) & (angular <= 1))
    # the angle spread is kept
    np.testing.assert_allclose(np.ptp(np.arccos(angular), -1), np.ptp(np.arccos(boot), -1))


def test_bias_corrected_interval_levels():
    from scipy.stats import norm

    from brainbridge.align.stats import interval_from_replicates

    boot = np.random.default_rng(3).normal(size=(2, 4001))
    boot[1, :5] = np.nan  # ignored
    median = np.nanmedian(boot, axis=-1)
    pct = interval_from_replicates(boot, median, 0.95, "percentile")
    bc = interval_from_replicates(boot, median, 0.95, "bias-corrected")
    np.testing.assert_allclose(bc, pct, atol=0.02)  # no bias: z0 ~ 0
    shifted = np.nanquantile(boot, norm.cdf(1.0), axis=-1)  # z0 = 1
    low, high = interval_from_replicates(boot, shifted, 0.95, "bias-corrected")
    levels = norm.cdf(2.0 + norm.ppf([0.025, 0.975]))
    expected = np.nanquantile(boot, levels, axis=-1)
    np.testing.assert_allclose([low, high], expected, atol=0.02)
