"""The shared vector quantizer: planted clusters, EMA, restarts, commitment, straight-through."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from brainbridge.tokenize.quantizer import QuantizerError, ResidualVQ, VectorQuantizer, kmeans

torch.set_num_threads(1)


def planted(k: int = 16, dim: int = 8, per: int = 200, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(k, dim, generator=gen) * 4.0
    labels = torch.arange(k).repeat_interleave(per)
    x = centers[labels] + 0.3 * torch.randn(k * per, dim, generator=gen)
    perm = torch.randperm(len(x), generator=gen)
    return x[perm], labels[perm], centers


def fit(vq: VectorQuantizer, x: torch.Tensor, steps: int = 60, batch: int = 512) -> None:
    vq.train()
    gen = torch.Generator().manual_seed(1)
    vq.generator = gen
    for _ in range(steps):
        idx = torch.randint(len(x), (batch,), generator=gen)
        vq(x[idx])


def test_planted_clusters_use_the_codebook_and_are_recovered():
    x, labels, centers = planted()
    vq = VectorQuantizer(16, 8, decay=0.9)
    fit(vq, x)
    vq.eval()
    codes = vq(x).codes.numpy()
    assert len(np.unique(codes)) >= 0.9 * 16  # >= 90% of a K-code book in use
    assert adjusted_rand_score(labels.numpy(), codes) > 0.95
    # each planted centre has a code close to it (codebook learned the clusters)
    nearest = torch.cdist(centers, vq.codebook).min(1).values
    assert float(nearest.max()) < 0.5
    # as good as scikit-learn's k-means on the same data
    ref = KMeans(16, n_init=4, random_state=0).fit_predict(x.numpy())
    assert (
        adjusted_rand_score(labels.numpy(), codes)
        >= adjusted_rand_score(labels.numpy(), ref) - 0.05
    )


def test_dead_codes_restart_on_data():
    x, _, _ = planted(k=4, per=300)
    vq = VectorQuantizer(32, 8, decay=0.8, dead_threshold=1.0)
    fit(vq, x, steps=30)
    # codes never chosen keep being re-seeded on data points: none is far from the data
    dist = torch.cdist(vq.codebook, x).min(1).values
    assert float(dist.max()) < 3.0
    assert bool(vq.initted)


def test_straight_through_gradient_and_commitment():
    vq = VectorQuantizer(8, 4, commitment=0.5)
    vq.train()
    x = torch.randn(64, 4, requires_grad=True)
    q = vq(x)
    q.vectors.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))  # identity through the quantizer
    x2 = torch.randn(64, 4)
    vq.eval()
    q2 = vq(x2)
    expected = 0.5 * torch.mean((x2 - vq.codebook[q2.codes]) ** 2)
    assert torch.allclose(q2.commitment, expected)
    assert torch.allclose(q2.vectors, vq.codebook[q2.codes], atol=1e-6)


def test_ema_moves_codes_to_cluster_means():
    x = torch.cat([torch.full((100, 2), -1.0), torch.full((100, 2), 1.0)])
    vq = VectorQuantizer(2, 2, decay=0.5, kmeans_iters=0)
    vq.generator = torch.Generator().manual_seed(0)
    vq.train()
    for _ in range(20):
        vq(x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2)))
    got = sorted(vq.codebook[:, 0].tolist())
    assert got == pytest.approx([-1.0, 1.0], abs=0.02)


def test_residual_levels_reduce_the_error():
    x, _, _ = planted(k=32, per=50)
    errors = []
    for levels in (1, 2, 3):
        rvq = ResidualVQ(levels, 8, 8, decay=0.9)
        rvq.generator = torch.Generator().manual_seed(0)
        rvq.train()
        for _ in range(20):
            rvq(x)
        rvq.eval()
        q = rvq(x)
        assert q.codes.shape == (len(x), levels)
        assert torch.allclose(q.vectors, rvq.lookup(q.codes), atol=1e-5)
        errors.append(float(torch.mean((q.vectors - x) ** 2)))
    assert errors[0] > errors[1] > errors[2]


def test_kmeans_matches_planted_centres():
    x, _, centers = planted(k=5, per=100)
    found, counts = kmeans(x, 5, 20, torch.Generator().manual_seed(0))
    assert int(counts.sum()) == len(x)
    assert float(torch.cdist(centers, found).min(1).values.max()) < 0.2


@pytest.mark.parametrize("size", [0, -3])
def test_empty_codebook_is_refused(size):
    with pytest.raises(QuantizerError, match="codebook_size"):
        VectorQuantizer(size, 4)
