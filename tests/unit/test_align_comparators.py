"""Kendall's tau-a and whitened RDM comparisons against rsatoolbox (scores, resamples)."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox

from brainbridge.align import RDMVectors, get_metric, list_metrics
from brainbridge.align.comparators import tau_a

PAIRS = [("tau-a", "tau-a"), ("whitened-pearson", "corr_cov"), ("whitened-cosine", "cosine_cov")]


def _rsa(method: str, rdm: str = "correlation"):
    return get_metric(f"rsa-rdm={rdm}-compare={method}")


@pytest.fixture
def rdms():
    rng = np.random.default_rng(0)
    brain = rng.normal(size=(3, 14, 6))
    model = rng.normal(size=(14, 4))
    vec = _rsa("pearson").vectors
    return vec(brain), vec(model)


def _theirs(a: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    return rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(np.atleast_2d(a)), rsatoolbox.rdm.RDMs(b[None]), method=method
    )[:, 0]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_scores_match_rsatoolbox_with_and_without_ties(rdms, ours, theirs):
    bv, mv = rdms
    categorical = np.round(mv * 2) / 2  # a model with many tied dissimilarities
    assert len(np.unique(categorical)) < len(mv) / 10
    for model in (mv, categorical):
        got = _rsa(ours).score(RDMVectors(bv), RDMVectors(model))
        np.testing.assert_allclose(got, _theirs(bv, model, theirs), atol=1e-10)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_bootstrap_resamples_match_rsatoolbox(rdms, ours, theirs):
    """Same resamples: rsatoolbox's subsample_pattern marks copies' pairs NaN."""
    bv, mv = rdms
    idx = np.random.default_rng(1).integers(0, 14, size=(6, 14))
    got = _rsa(ours).bootstrap_scores(RDMVectors(bv), RDMVectors(mv), idx)
    rb, rm = rsatoolbox.rdm.RDMs(bv), rsatoolbox.rdm.RDMs(mv[None])
    expected = np.array(
        [
            rsatoolbox.rdm.compare(
                rb.subsample_pattern("index", i), rm.subsample_pattern("index", i), method=theirs
            )[:, 0]
            for i in idx
        ]
    ).T
    assert np.isnan(rb.subsample_pattern("index", idx[0]).get_vectors()).any()  # copies drawn
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_permutations_equal_relabelled_scores(ours, theirs):
    rng = np.random.default_rng(2)
    brain, model = rng.normal(size=(2, 12, 5)), rng.normal(size=(12, 3))
    metric = _rsa(ours, "euclidean")
    perms = np.array([rng.permutation(12) for _ in range(4)])
    got = metric.permutation_scores(brain, model, perms)
    for k, p in enumerate(perms):
        np.testing.assert_allclose(got[:, k], metric.score(brain, model[p]), atol=1e-12)


def test_tau_a_definition_and_edge_cases():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 4, 30).astype(float), rng.normal(size=30)
    i, j = np.triu_indices(30, k=1)
    brute = np.sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])) / len(i)
    assert tau_a(x, y) == pytest.approx(brute, abs=1e-12)
    assert tau_a(np.ones(30), y) == 0.0  # rsatoolbox: constant vectors give 0
    assert np.isnan(tau_a(np.r_[np.nan, y[1:]], y))


def test_new_comparators_are_registered_with_range_and_null():
    for rdm in ("correlation", "euclidean", "sqeuclidean"):
        for method in ("tau-a", "whitened-pearson", "whitened-cosine"):
            name = f"rsa-rdm={rdm}-compare={method}"
            assert name in list_metrics()
            doc = get_metric(name).doc
            assert "Range" in doc and "null" in doc
    for method in ("spearman", "pearson", "cosine"):
        doc = get_metric(f"rsa-rdm=crossnobis-compare={method}").doc
        assert "Range" in doc and "null" in doc and "crossnobis" in doc


@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine"])
def test_weighted_bootstrap_equals_gathered_resamples(method):
    """Resamples as weights of the original pairs = resampled RDMs written out and compared
    (copies' pairs dropped), ties included (a categorical brain RDM and model RDM)."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(4)
    brain = RDMVectors(np.round(rng.normal(size=(3, 66)), 1))  # 12 stimuli, many ties
    model = RDMVectors(np.round(rng.normal(size=66)))
    idx = rng.integers(0, 12, size=(15, 12))
    got = _rsa(method).bootstrap_scores(brain, model, idx)
    bsq, msq = brain.square(), model.square()
    rows, cols = np.triu_indices(12, k=1)
    for k, i in enumerate(idx):
        keep = i[rows] != i[cols]
        a, b = bsq[:, i[rows][keep], i[cols][keep]], msq[i[rows][keep], i[cols][keep]]
        if method == "spearman":
            a, b = rankdata(a, axis=-1), rankdata(b)
        if method != "cosine":
            a, b = a - a.mean(axis=-1, keepdims=True), b - b.mean()
        expected = a @ b / np.linalg.norm(a, axis=-1) / np.linalg.norm(b)
        np.testing.assert_allclose(got[:, k], expected, atol=1e-12)


def test_tau_a_bootstrap_loop_path_matches_sign_products(rdms, monkeypatch):
    """Large RDMs loop over resamples (O(p log p) each): the same numbers."""
    from brainbridge.align import comparators

    bv, mv = rdms
    idx = np.random.default_rng(5).integers(0, 14, size=(5, 14))
    small = _rsa("tau-a").bootstrap_scores(RDMVectors(bv), RDMVectors(mv), idx)
    monkeypatch.setattr(comparators, "SMALL_RDM", 0)
    looped = _rsa("tau-a").bootstrap_scores(RDMVectors(bv), RDMVectors(mv), idx)
    np.testing.assert_allclose(looped, small, atol=1e-12)
