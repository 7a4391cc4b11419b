"""Linear probes: same accuracy as scikit-learn, planted signal found, null p uniform."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from brainbridge.tokenize.probe import band_power, linear_probe


@pytest.mark.parametrize("n_features", [6, 80])  # primal and dual forms
def test_probe_accuracy_matches_scikit_learn(n_features):
    rng = np.random.default_rng(3)
    labels = np.repeat(["left", "right"], 15)
    x = rng.normal(size=(30, n_features))
    x[labels == "right", :3] += 0.8
    ours = linear_probe(x, labels, n_permutations=10, seed=2, alpha=3.0)
    model = make_pipeline(StandardScaler(), RidgeClassifier(alpha=3.0))
    cv = StratifiedKFold(5, shuffle=True, random_state=2)
    ref = cross_val_score(model, x, labels, cv=cv, scoring="accuracy").mean()
    assert ours.accuracy == pytest.approx(ref)


def test_probe_finds_a_planted_difference_and_not_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(["left", "right"], 20)
    x = rng.normal(size=(40, 6))
    x[labels == "right", 0] += 2.0
    found = linear_probe(x, labels, n_permutations=200)
    assert found.accuracy > 0.8 and found.p_value <= 2 / 201
    assert 0.4 < found.null_mean < 0.6
    noise = linear_probe(rng.normal(size=(40, 6)), labels, n_permutations=200, seed=1)
    assert noise.p_value > 0.05


def test_null_p_values_are_uniform():
    rng = np.random.default_rng(1)
    labels = np.repeat(["a", "b"], 12)
    ps = np.array(
        [
            linear_probe(rng.normal(size=(24, 4)), labels, n_permutations=99, seed=s).p_value
            for s in range(200)
        ]
    )
    assert 0.01 <= np.mean(ps <= 0.05) <= 0.10  # 5% expected (binomial sd 1.5%)
    assert np.mean(ps) == pytest.approx(0.5, abs=0.05)


def test_band_power_matches_welch():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 2, 400))
    bp = band_power(x, 100.0)
    f, p = welch(x[1, 0], fs=100.0, nperseg=100)
    assert bp.shape == (3, 4)
    assert bp[1, 0] == pytest.approx(np.log(p[(f >= 8) & (f < 13)].mean()))


def test_probe_needs_two_classes():
    with pytest.raises(ValueError, match="two classes"):
        linear_probe(np.zeros((4, 2)), np.array(["a"] * 4))
