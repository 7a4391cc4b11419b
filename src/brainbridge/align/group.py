"""Group-level inference over subjects: one-sample t-test and sign-flip permutation test of
per-subject effects, with FDR and cluster-based correction over a grid (layers [x time]).

A subject's effect is its score minus its own chance level (the mean of its permutation
null), so metrics whose null is not 0 (biased CKA, cosine RSA) are tested the same way.
Tests are one-sided (effect > 0). With ``S`` subjects there are ``2^S`` sign flips: all of
them are used when ``2^S <= n_flips`` (exact test), otherwise ``n_flips`` random ones.

Cluster-based correction (Maris & Oostenveld 2007): grid points whose t exceeds the
one-sided ``cluster_alpha`` critical t form clusters of neighbours (adjacent layers in the
given order and adjacent time points); a cluster's mass is the sum of its t values, and its
p-value is the share of sign flips whose largest cluster mass reaches it (family-wise error
controlled over the whole grid). Points outside every cluster get p = 1.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from brainbridge.correction import fdr_bh

__all__ = ["GroupResult", "fdr_bh", "group_alignment", "group_tests", "sign_flips"]


@dataclass(frozen=True)
class GroupResult:
    """Arrays over the grid (the effects' trailing shape)."""

    mean: np.ndarray
    t: np.ndarray
    p_ttest: np.ndarray
    p_signflip: np.ndarray
    p_fdr: np.ndarray
    p_cluster: np.ndarray
    n_subjects: int
    n_flips: int


def sign_flips(n_subjects: int, n_flips: int = 10000, seed: int = 0) -> np.ndarray:
    """Sign-flip matrix (F, n_subjects); the first row is the identity (all +1).

    All ``2^S`` flips when ``2^S <= n_flips``, else the identity and ``n_flips`` random ones.
    """
    if 2**n_subjects <= n_flips:
        return np.array(list(itertools.product((1.0, -1.0), repeat=n_subjects)))
    rng = np.random.default_rng(seed)
    random = rng.choice((-1.0, 1.0), size=(n_flips, n_subjects))
    return np.vstack([np.ones(n_subjects), random])


def _t_values(flips: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One-sample t of sign-flipped effects: (F, S) x (S, G) -> (F, G). Sum of squares is
    flip-invariant, so only the means change."""
    s = x.shape[0]
    mean = flips @ x / s
    ss = (x**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.maximum(ss - s * mean**2, 0.0) / (s - 1))
        return mean / (sd / np.sqrt(s))


def _cluster_masses(t: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    labels, n = ndimage.label(np.nan_to_num(t, nan=-np.inf) > threshold)
    if n == 0:
        return labels, np.zeros(0)
    return labels, ndimage.sum_labels(t, labels, index=np.arange(1, n + 1))


def group_tests(
    effects: np.ndarray,
    *,
    n_flips: int = 10000,
    seed: int = 0,
    cluster_alpha: float = 0.05,
) -> GroupResult:
    """Group tests of ``effects`` (n_subjects, *grid) (module docstring)."""
    x = np.asarray(effects, dtype=np.float64)
    s, grid = x.shape[0], x.shape[1:]
    if s < 2:
        raise ValueError(f"group tests need at least 2 subjects, got {s}")
    flat = x.reshape(s, -1)
    flips = sign_flips(s, n_flips, seed)
    t_all = _t_values(flips, flat)  # row 0: observed
    observed = t_all[0]
    # the identity is one of the flips: p >= 1 / n_flips (exact: all 2^S flips)
    exceed = (t_all >= observed - 1e-12 * np.maximum(1, np.abs(observed))).sum(axis=0)
    p_flip = exceed / len(flips)
    p_t = special.stdtr(s - 1, -observed)  # Student t survival function
    threshold = -special.stdtrit(s - 1, cluster_alpha)  # its inverse
    labels, masses = _cluster_masses(observed.reshape(grid), threshold)
    null_max = np.array(
        [max(_cluster_masses(t.reshape(grid), threshold)[1], default=0.0) for t in t_all]
    )
    p_cluster = np.ones(grid)
    for i, mass in enumerate(masses, start=1):
        p_cluster[labels == i] = (null_max >= mass - 1e-12).mean()
    p_cluster[np.isnan(observed.reshape(grid))] = np.nan
    p_flip = np.where(np.isnan(observed), np.nan, p_flip)
    return GroupResult(
        mean=flat.mean(axis=0).reshape(grid),
        t=observed.reshape(grid),
        p_ttest=p_t.reshape(grid),
        p_signflip=p_flip.reshape(grid),
        p_fdr=fdr_bh(p_flip).reshape(grid),
        p_cluster=p_cluster,
        n_subjects=s,
        n_flips=len(flips),
    )


def group_alignment(stores, names, *, n_flips: int = 10000, seed: int = 0, ci: float = 0.95):
    """Group-level result of alignment stores of one design (one subject each).

    ``stores`` are alignment Datasets with the same metrics, regions, layers [and times];
    a subject's effect is ``score - null_mean``. Returns a Dataset over (metric, region,
    layer[, time]): ``score`` (mean over subjects), ``null_mean`` (mean chance level),
    ``p_value`` (sign-flip), ``ci_low`` / ``ci_high`` (t interval of the mean score), and
    ``n_subjects``, ``group_t``, ``group_p_ttest``, ``group_p_signflip``, ``group_p_fdr``,
    ``group_p_cluster`` (FDR and clusters over layers [x time] within a metric and region).
    """
    import xarray as xr

    if len(stores) < 2:
        raise ValueError(f"a group needs at least 2 datasets, got {list(names)}")
    ref = stores[0]["score"]
    for name, ds in zip(names, stores, strict=True):
        for dim in ref.dims:
            if dim not in ds["score"].dims or not np.array_equal(ds[dim].values, ref[dim].values):
                raise ValueError(
                    f"dataset {name!r} differs from {names[0]!r} in {dim!r}: a group joins "
                    "datasets of one design (same metrics, regions, layers and times)."
                )
    scores = np.stack([ds["score"].values for ds in stores])
    chance = np.stack([ds["null_mean"].values for ds in stores])
    effects = scores - chance
    s = len(stores)
    keys = ("group_t", "group_p_ttest", "group_p_signflip", "group_p_fdr", "group_p_cluster")
    out = {k: np.full(ref.shape, np.nan) for k in keys}
    for i in range(ref.shape[0]):
        for j in range(ref.shape[1]):
            res = group_tests(effects[:, i, j], n_flips=n_flips, seed=seed)
            for key, value in zip(
                keys, (res.t, res.p_ttest, res.p_signflip, res.p_fdr, res.p_cluster), strict=True
            ):
                out[key][i, j] = value
    mean = scores.mean(axis=0)
    half = -special.stdtrit(s - 1, (1 - ci) / 2) * scores.std(axis=0, ddof=1) / np.sqrt(s)
    data = {
        "score": mean,
        "null_mean": chance.mean(axis=0),
        "p_value": out["group_p_signflip"],
        "ci_low": mean - half,
        "ci_high": mean + half,
        "n_subjects": np.full(ref.shape, float(s)),
        **out,
    }
    ds = xr.Dataset({k: (ref.dims, v) for k, v in data.items()}, coords=ref.coords)
    ds.attrs.update(
        subjects=[str(x) for x in names],
        n_flips=int(res.n_flips),
        ci=ci,
        score="mean over subjects (datasets); p_value: sign-flip test of score - null_mean",
    )
    return ds
