"""Variance partitioning recovers planted unique and shared components."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from brainbridge.encode.partition import (
    component_names,
    partition_components,
    variance_partition,
)

ALPHAS = np.logspace(-2, 4, 7)


def _planted(regions: dict[tuple[str, ...], float], n: int = 500, n_targets: int = 12, seed=0):
    """Spaces whose features mix latent sources; each source is seen by the spaces of its key
    and explains the given fraction of every target's variance (the rest is noise)."""
    rng = np.random.default_rng(seed)
    names = sorted({x for key in regions for x in key})
    latent = {key: rng.standard_normal((n, 3)) for key in regions}
    spaces = {}
    for x in names:
        sources = np.hstack([z for key, z in latent.items() if x in key])
        mixing = rng.standard_normal((sources.shape[1], sources.shape[1] + 2))
        spaces[x] = sources @ mixing  # mixed features that keep every source
    Y = np.sqrt(1.0 - sum(regions.values())) * rng.standard_normal((n, n_targets))
    for key, z in latent.items():
        w = rng.standard_normal((3, n_targets))
        part = z @ w
        Y += part / part.std(0) * np.sqrt(regions[key])
    return spaces, Y


def test_two_spaces():
    truth = {("A",): 0.25, ("B",): 0.10, ("A", "B"): 0.20}
    spaces, Y = _planted(truth, n=1000)
    part = variance_partition(spaces, Y, ALPHAS, 6, n_folds=4, inner_folds=3, backend="numpy")
    assert part.components == component_names(["A", "B"])
    np.testing.assert_allclose(part["unique:A"].mean(), 0.25, atol=0.04)
    np.testing.assert_allclose(part["unique:B"].mean(), 0.10, atol=0.04)
    np.testing.assert_allclose(part["shared:A+B"].mean(), 0.20, atol=0.04)
    np.testing.assert_allclose(part["r2:A+B"].mean(), 0.55, atol=0.04)
    assert part.gamma.shape == (4, 2, Y.shape[1])


def test_three_spaces():
    truth = {("A",): 0.15, ("B",): 0.05, ("C",): 0.10, ("A", "B"): 0.10, ("B", "C"): 0.15}
    truth |= {("A", "C"): 0.0, ("A", "B", "C"): 0.10}
    spaces, Y = _planted({k: v for k, v in truth.items() if v > 0}, n=1000, n_targets=8)
    part = variance_partition(spaces, Y, ALPHAS, 5, n_folds=3, inner_folds=3, backend="numpy")
    for key, value in truth.items():
        label = ("unique:" if len(key) == 1 else "shared:") + "+".join(key)
        np.testing.assert_allclose(part[label].mean(), value, atol=0.04, err_msg=label)
    regions = [c for c in part.components if not c.startswith("r2:")]
    total = sum(part[c] for c in regions)
    np.testing.assert_allclose(total, part["r2:A+B+C"], atol=1e-12)  # the regions add up


@pytest.mark.parametrize("k", [2, 3])
def test_the_regions_invert_the_union_r2(k):
    rng = np.random.default_rng(k)
    names = "ABC"[:k]
    keys = [s for m in range(1, k + 1) for s in itertools.combinations(names, m)]
    regions = dict(zip(keys, rng.uniform(0, 1, len(keys))))
    r2 = {"+".join(s): sum(v for t, v in regions.items() if set(t) & set(s)) for s in keys}
    out = partition_components(r2, list(names))
    for key, value in regions.items():
        label = ("unique:" if len(key) == 1 else "shared:") + "+".join(key)
        assert out[label] == pytest.approx(value)


def test_needs_two_or_three_spaces():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="2 or 3 feature spaces"):
        variance_partition({"A": rng.standard_normal((20, 2))}, rng.standard_normal((20, 1)), [1])


def test_spaces_are_joined_on_stimulus_ids():
    from brainbridge.encode.partition import align_spaces

    ids = ["s1", "s2", "s3"]
    a = np.arange(6.0).reshape(3, 2)
    out = align_spaces({"A": (ids, a), "B": (ids[::-1], a[::-1] * 10)}, ["s3", "s1"])
    np.testing.assert_array_equal(out["A"], a[[2, 0]])
    np.testing.assert_array_equal(out["B"], a[[2, 0]] * 10)


def test_spaces_with_different_stimulus_sets_are_refused():
    from brainbridge.encode.partition import align_spaces

    a = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"'conv2' and 'conv3' .*different stimulus sets.*s3"):
        align_spaces({"conv2": (["s1", "s2", "s3"], a), "conv3": (["s1", "s2", "s4"], a)}, ["s1"])
    with pytest.raises(ValueError, match=r"absent from the feature spaces.*s9"):
        align_spaces({"conv2": (["s1", "s2"], a[:2]), "conv3": (["s1", "s2"], a[:2])}, ["s9"])
