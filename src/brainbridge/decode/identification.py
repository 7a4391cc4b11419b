"""Identification scoring: the rank of the true stimulus among held-out candidates.

A decoder predicts a feature vector per held-out query (a trial, or the average of a stimulus'
repetitions). Each query is compared with every held-out candidate (one feature vector per
held-out stimulus) by correlation or cosine; the *rank* of the true candidate is the number of
candidates more similar to the query than it (ties count half). Top-k accuracy is the share of
ranks below k, chance ``k / n_candidates``; the normalised rank is ``rank / (n_candidates - 1)``
(0 = perfect, 0.5 = chance).

The permutation test shuffles which candidate is the true one (at stimulus level, within each
test fold) and recomputes the mean normalised rank over every fold: under the null (brain
independent of the features) the queries do not depend on the candidates' order, so the
shuffled statistics are draws of its null distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRICS = ("correlation", "cosine")


def similarity(queries: np.ndarray, candidates: np.ndarray, metric: str = "correlation"):
    """Similarity of each query (row) to each candidate (row): ``(n_queries, n_candidates)``.

    ``correlation`` is Pearson's r across features, ``cosine`` the cosine of the angle; a row
    without variance (or of zero norm) has similarity 0 to everything.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    q = np.asarray(queries, dtype=np.float64)
    c = np.asarray(candidates, dtype=np.float64)
    if q.ndim != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise ValueError(
            f"queries {q.shape} and candidates {c.shape} must be 2-D with the same number of "
            "features (columns)"
        )
    if metric == "correlation":
        q = q - q.mean(1, keepdims=True)
        c = c - c.mean(1, keepdims=True)
    qn = np.linalg.norm(q, axis=1, keepdims=True)
    cn = np.linalg.norm(c, axis=1, keepdims=True)
    q = np.divide(q, qn, out=np.zeros_like(q), where=qn > 0)
    c = np.divide(c, cn, out=np.zeros_like(c), where=cn > 0)
    return q @ c.T


def ranks_from_similarity(sim: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Rank of candidate ``truth[i]`` in row ``i`` of ``sim`` (0 = most similar; ties half).

    ``truth`` may be ``(n_queries,)`` or ``(n_permutations, n_queries)``; the result has its
    shape.
    """
    sim = np.asarray(sim, dtype=np.float64)
    truth = np.asarray(truth)
    rows = np.arange(sim.shape[0])
    true_sim = sim[rows, truth]  # (..., n_queries)
    greater = (sim > true_sim[..., None]).sum(-1)
    equal = (sim == true_sim[..., None]).sum(-1) - 1  # the true candidate itself
    return greater + 0.5 * equal


def check_top_k(top_k: Sequence[int], n_candidates: int, *, key: str = "decoding.top_k") -> None:
    """Raise when a fold holds fewer held-out candidates than the largest ``k``."""
    if n_candidates < 2:
        raise ValueError(
            f"a test fold holds {n_candidates} held-out stimulus; identification needs >= 2 "
            "candidates. Lower decoding.n_folds or add stimuli."
        )
    worst = max(top_k)
    if worst > n_candidates:
        raise ValueError(
            f"{key} asks for top-{worst} but a test fold holds only {n_candidates} held-out "
            f"candidate stimuli; lower {key} to <= {n_candidates} or lower decoding.n_folds."
        )


@dataclass(frozen=True)
class Identification:
    """Identification scores pooled over the test folds of one decoder and one brain unit."""

    top_k: dict[int, float]  # k -> share of queries with rank < k
    chance: dict[int, float]  # k -> expected top-k under the null (mean of k / n_candidates)
    mean_rank: float  # mean normalised rank (0 best, 0.5 chance)
    p_value: float  # permutation p of the mean normalised rank
    null_mean: float  # mean of the permutation null of the mean normalised rank
    fold_top1: np.ndarray  # (n_folds,) top-1 per fold
    n_queries: int


def score_folds(
    sims: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    *,
    top_k: Sequence[int] = (1, 5),
    n_permutations: int = 1000,
    seed: int = 0,
) -> Identification:
    """Pool the ranks of every fold's queries; permutation p of the mean normalised rank.

    ``sims[f]`` is fold f's query x candidate similarity, ``truths[f]`` the true candidate of
    each query. Permutations shuffle candidates (all queries of one candidate move together).
    """
    if not sims:
        raise ValueError("no test fold to score")
    rng = np.random.default_rng(seed)
    ranks, norm, n_cands, fold_top1 = [], [], [], []
    null = np.zeros(n_permutations)
    n_total = sum(len(t) for t in truths)
    for sim, truth in zip(sims, truths):
        n_c = sim.shape[1]
        check_top_k(top_k, n_c)
        r = ranks_from_similarity(sim, truth)
        ranks.append(r)
        norm.append(r / (n_c - 1))
        n_cands.append(np.full(len(truth), n_c))
        fold_top1.append(float(np.mean(r < 1)))
        if n_permutations:
            perms = np.argsort(rng.random((n_permutations, n_c)), axis=1)  # candidate shuffles
            shuffled = perms[:, truth]  # (n_perm, n_queries)
            null += (ranks_from_similarity(sim, shuffled) / (n_c - 1)).sum(1) / n_total
    r, nr, nc = np.concatenate(ranks), np.concatenate(norm), np.concatenate(n_cands)
    observed = float(nr.mean())
    p = (1 + np.sum(null <= observed + 1e-12)) / (1 + n_permutations) if n_permutations else 1.0
    return Identification(
        top_k={int(k): float(np.mean(r < k)) for k in top_k},
        chance={int(k): float(np.mean(np.minimum(k, nc) / nc)) for k in top_k},
        mean_rank=observed,
        p_value=float(p),
        null_mean=float(null.mean()) if n_permutations else float("nan"),
        fold_top1=np.asarray(fold_top1),
        n_queries=int(len(r)),
    )


# --------------------------------------------------------------------------- folds


def fold_groups(stimulus: np.ndarray, run: np.ndarray | None, n_folds: int) -> tuple:
    """Groups for ``GroupKFold``: runs where they keep repetitions together, else stimuli.

    Trials sharing a run or a stimulus are linked; the connected components are the groups.
    When runs hold distinct stimuli that is grouping by run; when runs share stimuli (every
    run shows every stimulus) there are too few components and the groups fall back to the
    stimuli, so that repetitions of a stimulus never straddle train and test.
    Returns ``(groups, how)`` with ``how`` in ``{"run", "stimulus"}``.
    """
    stimulus = np.asarray(stimulus).astype(str)
    if run is not None:
        run = np.asarray(run).astype(str)
        parent: dict[str, str] = {}

        def find(a: str) -> str:
            while parent.setdefault(a, a) != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for s, r in zip(stimulus, run):
            parent[find("s:" + s)] = find("r:" + r)
        groups = np.array([find("r:" + r) for r in run])
        if np.unique(groups).size >= n_folds and np.unique(run).size > 1:
            return groups, "run"
    return stimulus, "stimulus"


def make_decoding_folds(
    stimulus: np.ndarray, run: np.ndarray | None, n_folds: int, seed: int = 0
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """(train, test) trial indices with every stimulus' trials on one side; and the grouping."""
    from brainbridge.encode.ridge import make_folds

    groups, how = fold_groups(stimulus, run, n_folds)
    n_groups = np.unique(groups).size
    if n_folds > n_groups:
        raise ValueError(
            f"decoding.n_folds={n_folds} exceeds the {n_groups} distinct stimuli; lower "
            "decoding.n_folds"
        )
    return make_folds(len(stimulus), n_folds, groups=groups, seed=seed), how
