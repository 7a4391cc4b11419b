"""RBF CKA, Procrustes shape similarity, SVCCA and mutual k-NN against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.distance import cdist, pdist
from scipy.stats import ortho_group
from sklearn.cross_decomposition import CCA
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from brainbridge.align import bootstrap_ci, get_metric, noise_ceiling_split_half, permutation_test

RBF_B = "cka-kernel=rbf-median-hsic=biased"
RBF_U = "cka-kernel=rbf-median-hsic=unbiased"
PROCRUSTES = "procrustes-transform=orthogonal-score=cos-angle"
SVCCA = "svcca-dims=10-score=mean-corr"
MKNN = "mutual-knn-k=10-similarity=cosine"
NEW = [RBF_B, RBF_U, PROCRUSTES, SVCCA, MKNN]


def _data(seed: int, n: int = 40, p: int = 12, q: int = 30, noise: float = 1.0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, q))
    x = y[:, :p] @ rng.normal(size=(p, p)) + noise * rng.normal(size=(n, p))
    return x, y


# ---------------------------------------------------------------- references


def _ref_rbf(x):
    sigma = np.median(pdist(x))
    return np.exp(-cdist(x, x, "sqeuclidean") / (2 * sigma**2))


def _ref_hsic(k, gl, unbiased):
    n = len(k)
    if not unbiased:
        h = np.eye(n) - 1.0 / n
        return np.trace(k @ h @ gl @ h) / (n - 1) ** 2
    kt, lt = k - np.diag(np.diag(k)), gl - np.diag(np.diag(gl))
    one = np.ones(n)
    return (
        np.trace(kt @ lt)
        + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
        - 2 / (n - 2) * one @ kt @ lt @ one
    ) / (n * (n - 3))


def _ref_rbf_cka(x, y, unbiased):
    k, gl = _ref_rbf(x), _ref_rbf(y)
    h = _ref_hsic
    return h(k, gl, unbiased) / np.sqrt(h(k, k, unbiased) * h(gl, gl, unbiased))


def _ref_procrustes(x, y):
    """scipy's orthogonal Procrustes on centered, unit-norm, zero-padded data."""
    x, y = x - x.mean(0), y - y.mean(0)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    width = max(x.shape[1], y.shape[1])
    x = np.pad(x, ((0, 0), (0, width - x.shape[1])))
    y = np.pad(y, ((0, 0), (0, width - y.shape[1])))
    rotation, _ = orthogonal_procrustes(y, x)
    return float(np.sum(x * (y @ rotation)))


def _ref_svcca(x, y, dims=10):
    """scikit-learn: PCA to ``dims`` components, then iterative CCA; mean correlation."""
    px = PCA(dims).fit_transform(x)
    py = PCA(dims).fit_transform(y)
    cca = CCA(n_components=dims, scale=False, max_iter=20000, tol=1e-14).fit(px, py)
    u, v = cca.transform(px, py)
    return float(np.mean([abs(np.corrcoef(u[:, i], v[:, i])[0, 1]) for i in range(dims)]))


def _ref_mknn(x, y, k=10):
    """scikit-learn's cosine neighbours (self excluded); mean shared fraction."""

    def sets(z):
        nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(z)
        idx = nn.kneighbors(z, return_distance=False)
        return [set(row[row != i][:k]) for i, row in enumerate(idx)]

    return float(np.mean([len(a & b) / k for a, b in zip(sets(x), sets(y), strict=True)]))


# ---------------------------------------------------------------- scores


@pytest.mark.parametrize("name", [RBF_B, RBF_U])
def test_rbf_cka_matches_reference(name):
    x, y = _data(1)
    got = get_metric(name).score(x, y)
    assert got == pytest.approx(_ref_rbf_cka(x, y, name.endswith("unbiased")), abs=1e-10)
    batched = get_metric(name).score(np.stack([x, y[:, :12]]), y)
    assert batched[1] == pytest.approx(_ref_rbf_cka(y[:, :12], y, name.endswith("unbiased")))


def test_procrustes_matches_scipy_and_is_invariant():
    m = get_metric(PROCRUSTES)
    for seed, (p, q) in enumerate([(12, 30), (30, 12), (60, 80)]):  # wider than n too
        rng = np.random.default_rng(seed)
        y = rng.normal(size=(40, q))
        x = y[:, : min(p, q)] @ rng.normal(size=(min(p, q), p)) + rng.normal(size=(40, p))
        assert float(m.score(x, y)) == pytest.approx(_ref_procrustes(x, y), abs=1e-10)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(25, 8))
    moved = 3.0 * x @ ortho_group.rvs(8, random_state=1) + 5.0
    assert float(m.score(x, moved)) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < float(m.score(x, rng.normal(size=(25, 8)))) < 1.0


def test_svcca_matches_sklearn_cca():
    x, y = _data(2, n=120, p=25, q=40, noise=2.0)
    got = float(get_metric(SVCCA).score(x, y))
    assert got == pytest.approx(_ref_svcca(x, y), abs=1e-6)
    assert 0.0 < got < 1.0
    # invariant to invertible maps of the kept subspace when the rank is the kept count
    z = np.random.default_rng(3).normal(size=(120, 10))
    assert float(
        get_metric(SVCCA).score(z, z @ np.random.default_rng(4).normal(size=(10, 10)))
    ) == (pytest.approx(1.0, abs=1e-10))


def test_mutual_knn_matches_sklearn_neighbours():
    x, y = _data(3, n=60, p=12, q=30, noise=0.5)
    got = float(get_metric(MKNN).score(x, y))
    assert got == pytest.approx(_ref_mknn(x, y), abs=1e-12)
    assert float(get_metric(MKNN).score(y, 2.0 * y)) == 1.0  # cosine: scale invariant


# ---------------------------------------------------------------- resampling


@pytest.mark.parametrize("name", NEW)
def test_permutation_and_bootstrap_scores_equal_naive(name):
    rng = np.random.default_rng(6)
    brain = rng.normal(size=(3, 30, 6))
    model = brain[0] @ rng.normal(size=(6, 15)) + rng.normal(size=(30, 15))
    m = get_metric(name)
    perms = np.array([rng.permutation(30) for _ in range(5)])
    got = m.permutation_scores(brain, model, perms)
    assert got.shape == (3, 5)
    for k, p in enumerate(perms):
        np.testing.assert_allclose(got[:, k], m.score(brain, model[p]), atol=1e-10)
    # a resample without duplicates is a relabelling of both sides: the plain score
    np.testing.assert_allclose(
        m.bootstrap_scores(brain, model, perms[:2])[:, 1],
        m.score(brain[:, perms[1]], model[perms[1]]),
        atol=1e-10,
    )


def test_procrustes_bootstrap_with_duplicates_equals_reference():
    x, y = _data(7, n=30)
    idx = np.random.default_rng(8).integers(0, 30, size=(3, 30))
    got = get_metric(PROCRUSTES).bootstrap_scores(x, y, idx)
    np.testing.assert_allclose(got, [_ref_procrustes(x[i], y[i]) for i in idx], atol=1e-10)


def test_mutual_knn_bootstrap_never_counts_copies_as_neighbours():
    x, y = _data(9, n=30)
    idx = np.random.default_rng(10).integers(0, 30, size=(2, 30))
    got = get_metric(MKNN).bootstrap_scores(x, y, idx)
    for b, i in zip(got, idx, strict=True):
        copies = i[:, None] == i[None, :]

        def sets(z, i=i, copies=copies):
            zn = z[i] / np.linalg.norm(z[i], axis=1, keepdims=True)
            sim = np.where(copies, -np.inf, zn @ zn.T)
            return [set(np.argsort(-row, kind="stable")[:10]) for row in sim]

        ref = np.mean([len(a & c) / 10 for a, c in zip(sets(x), sets(y), strict=True)])
        assert b == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("name", NEW)
def test_statistics_planted_vs_null(name):
    """Planted relation: p at the floor and a CI above the null mean; noise: p not small."""
    rng = np.random.default_rng(11)
    model = rng.normal(size=(40, 20))
    related = model[:, :8] + 0.3 * rng.normal(size=(40, 8))
    unrelated = rng.normal(size=(40, 8))
    res = permutation_test(name, np.stack([related, unrelated]), model, n_permutations=200)
    assert res.p_value[0] == pytest.approx(1 / 201)
    assert res.p_value[1] > 0.05
    boot = bootstrap_ci(name, related, model, n_bootstrap=100)
    assert boot.lower > res.null_mean[0]
    nc = noise_ceiling_split_half(related, related + 0.1 * rng.normal(size=(40, 8)), name)
    assert np.isfinite(nc.upper) and nc.lower <= nc.upper


def test_null_means_as_documented():
    """Mutual k-NN: null mean k / (n - 1); unbiased RBF CKA: null mean about 0."""
    rng = np.random.default_rng(12)
    brain, model = rng.normal(size=(30, 40, 10)), rng.normal(size=(40, 10))
    knn = get_metric(MKNN).score(brain, model)
    assert knn.mean() == pytest.approx(10 / 39, abs=0.03)
    assert abs(get_metric(RBF_U).score(brain, model).mean()) < 0.02
