"""Identification decoding: scoring against a brute-force reference, null calibration, ridge
decoding with folds that keep stimuli whole, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics.pairwise import cosine_similarity

from brainbridge.decode.crossval import TargetSpace, cross_identify, sliding_windows
from brainbridge.decode.identification import (
    check_top_k,
    fold_groups,
    make_decoding_folds,
    ranks_from_similarity,
    score_folds,
    similarity,
)
from brainbridge.decode.ridge_decoder import RidgeDecoder


def _brute_ranks(queries, candidates, truth, metric):
    """Loop reference: sort candidates by similarity, position of the true one (ties half)."""
    out = []
    for i, q in enumerate(queries):
        sims = []
        for c in candidates:
            if metric == "correlation":
                sims.append(np.corrcoef(q, c)[0, 1])
            else:
                sims.append(float(np.dot(q, c) / np.sqrt(np.dot(q, q) * np.dot(c, c))))
        sims = np.array(sims)
        t = sims[truth[i]]
        greater = sum(1 for j, s in enumerate(sims) if j != truth[i] and s > t + 1e-12)
        ties = sum(1 for j, s in enumerate(sims) if j != truth[i] and abs(s - t) <= 1e-12)
        out.append(greater + 0.5 * ties)
    return np.array(out)


@pytest.mark.parametrize("metric", ["correlation", "cosine"])
def test_ranks_match_a_brute_force_reference(metric):
    rng = np.random.default_rng(1)
    cands = rng.standard_normal((15, 8))
    truth = rng.integers(0, 15, 40)
    queries = cands[truth] + 1.5 * rng.standard_normal((40, 8))
    sim = similarity(queries, cands, metric)
    ref = cosine_similarity(queries, cands) if metric == "cosine" else None
    if ref is not None:
        np.testing.assert_allclose(sim, ref, atol=1e-12)
    else:
        np.testing.assert_allclose(sim, np.corrcoef(queries, cands)[:40, 40:], atol=1e-12)
    ranks = ranks_from_similarity(sim, truth)
    np.testing.assert_allclose(ranks, _brute_ranks(queries, cands, truth, metric))
    result = score_folds([sim], [truth], top_k=(1, 5), n_permutations=0)
    assert result.top_k[1] == pytest.approx(np.mean(ranks == 0))
    assert result.top_k[5] == pytest.approx(np.mean(ranks < 5))
    assert result.chance == {1: pytest.approx(1 / 15), 5: pytest.approx(5 / 15)}
    assert result.mean_rank == pytest.approx(np.mean(ranks / 14))


def test_ties_count_half():
    sim = np.array([[1.0, 1.0, 0.0], [0.5, 0.5, 0.5]])
    np.testing.assert_allclose(ranks_from_similarity(sim, np.array([0, 2])), [0.5, 1.0])


def test_permutation_p_is_uniform_under_the_null():
    """Ridge decoding of features independent of the brain: p ~ U(0, 1), top-1 ~ chance."""
    rng = np.random.default_rng(0)
    stim = np.repeat(np.arange(30), 2)
    folds, _ = make_decoding_folds(stim.astype(str), None, 3, seed=0)
    decoder = RidgeDecoder((1.0, 100.0), backend="numpy").as_decoder()
    ps, top1, chance = [], [], []
    for sim_i in range(100):
        features = rng.standard_normal((30, 4))
        X = rng.standard_normal((60, 3))
        r = cross_identify(X, features, stim, folds, decoder, n_permutations=49, seed=sim_i)
        ps.append(r.levels["trial"].p_value)
        top1.append(r.levels["trial"].top_k[1])
        chance.append(r.levels["trial"].chance[1])
    ps = np.array(ps)
    assert stats.kstest(ps, stats.uniform(0, 1).cdf).pvalue > 0.01
    assert np.mean(ps < 0.05) < 0.1
    assert abs(np.mean(top1) - np.mean(chance)) < 0.02


def test_ridge_identifies_planted_features_with_stimuli_kept_whole():
    rng = np.random.default_rng(2)
    features = rng.standard_normal((40, 50))
    stim = np.tile(np.arange(40), 3)  # three repetitions
    mixing = rng.standard_normal((50, 20))
    X = features[stim] @ mixing + 4.0 * rng.standard_normal((120, 20))
    folds, how = make_decoding_folds(stim.astype(str), None, 4, seed=0)
    assert how == "stimulus"
    for train, test in folds:
        assert not set(stim[train]) & set(stim[test])
    r = cross_identify(
        X, features, stim, folds, RidgeDecoder(backend="numpy").as_decoder(), n_components=10
    )
    trial, avg = r.levels["trial"], r.levels["stimulus"]
    assert trial.top_k[1] > 3 * trial.chance[1]
    assert avg.top_k[1] >= trial.top_k[1]  # averaging repetitions removes noise
    assert trial.p_value < 0.01 and avg.p_value < 0.01
    assert r.n_candidates == 10


def test_runs_group_folds_only_when_they_keep_stimuli_whole():
    stim = np.array(list("aabbccddeeff"))
    run_distinct = np.repeat(["r1", "r2", "r3", "r4"], 3)
    groups, how = fold_groups(stim, run_distinct, 2)  # 'b' links r1-r2, 'e' links r3-r4
    assert how == "run" and len(set(groups)) == 2
    assert fold_groups(stim, run_distinct, 3)[1] == "stimulus"  # two run groups < 3 folds
    run_whole = np.array(["r1"] * 4 + ["r2"] * 4 + ["r3"] * 4)
    groups, how = fold_groups(stim, run_whole, 3)
    assert how == "run" and len(set(groups)) == 3
    every_run = np.tile(["r1", "r2"], 6)  # every stimulus in both runs
    assert fold_groups(stim, every_run, 2)[1] == "stimulus"


def test_target_space_is_fitted_on_training_stimuli_only():
    rng = np.random.default_rng(3)
    train, test = rng.standard_normal((20, 6)), 10 + rng.standard_normal((5, 6))
    space = TargetSpace(3).fit(train)
    np.testing.assert_allclose(space.mean_, train.mean(0))
    assert space.transform(test).shape == (5, 3)
    assert TargetSpace(None).fit(train).transform(train).std(0) == pytest.approx(np.ones(6))


def test_sliding_windows_cover_the_epoch():
    times = np.arange(-0.2, 0.6, 0.01)
    wins = sliding_windows(times, 0.1, 0.05)
    assert wins[0][:2] == (0, 10) and all(b - a == 10 for a, b, _ in wins)
    assert wins[-1][1] <= len(times)
    with pytest.raises(ValueError, match=r"decoding\.window"):
        sliding_windows(times, 5.0, 0.05)


def test_contrastive_units_pick_windows_and_regions():
    from brainbridge.decode.identity import Units, contrastive_units

    coord = np.round(np.arange(-0.155, 0.56, 0.05), 3)
    eeg = Units(data={f"{c:.3f}": None for c in coord}, dim="time", coord=coord)
    every = contrastive_units(eeg, {})  # default: every 2nd window
    assert every.tolist() == [i % 2 == 0 for i in range(len(coord))]
    chosen = contrastive_units(eeg, {"units": [0.19, "V4", 0.09]})
    assert coord[chosen].tolist() == [0.095, 0.195]
    assert contrastive_units(eeg, {"units": ["V4"], "every": 3}).sum() == 5  # regions ignored
    with pytest.raises(ValueError, match=r"decoding\.contrastive\.units lists 2\.0 s"):
        contrastive_units(eeg, {"units": [2.0]})
    names = np.array(["V1", "V4", "IT"])
    fmri = Units(data=dict.fromkeys(names), dim="region", coord=names)
    assert contrastive_units(fmri, {"units": ["V4", 0.19]}).tolist() == [False, True, False]
    assert contrastive_units(fmri, {"units": [0.19]}).all()
    with pytest.raises(ValueError, match=r"lists \['V9'\], not regions"):
        contrastive_units(fmri, {"units": ["V9"]})


def test_too_few_candidates_for_top_k_names_the_key():
    with pytest.raises(ValueError, match=r"decoding.top_k.*lower"):
        check_top_k((1, 5), 4)
    with pytest.raises(ValueError, match=r"decoding\.n_folds"):
        check_top_k((1,), 1)


def test_temporal_generalization_finds_the_planted_interval():
    from brainbridge.decode.timegen import group_clusters, temporal_generalization

    rng = np.random.default_rng(4)
    y = np.repeat(["left", "right"], 24)
    x = rng.standard_normal((48, 4, 12))
    x[y == "right", 0, 4:8] += 1.5  # the label is decodable at samples 4-7 only
    times = np.arange(12) * 0.1
    g = temporal_generalization(x, y, times, n_folds=6, n_permutations=64, seed=0)
    assert g.scoring == "roc_auc" and g.chance == 0.5
    assert g.fold_scores.shape == (6, 12, 12)
    significant = [i for i, p in enumerate(g.diagonal_clusters.p_values, 1) if p < 0.05]
    assert significant, g.diagonal_clusters.p_values
    inside = np.isin(g.diagonal_clusters.labels, significant)
    assert inside[4:8].any() and not inside[:3].any() and not inside[9:].any()
    # generalization: training inside the interval transfers to the rest of the interval
    assert g.scores[5, 6] > 0.75 and abs(g.scores[0, 10] - 0.5) < 0.25
    # group level over "subjects": the same design decodes in each
    diag, mat = group_clusters([g.scores, g.scores + 0.01, g.scores - 0.01], 0.5, seed=0)
    assert diag.labels.shape == (12,) and mat.labels.shape == (12, 12)
    with pytest.raises(ValueError, match=r"generalize\.n_folds"):
        temporal_generalization(x[20:30], y[20:30], times, n_folds=6)
