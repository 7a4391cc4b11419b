"""Decoding of trial labels (e.g. fMRI categories) across runs, with a permutation test."""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbridge.store import names as n


def decode_categories(
    ds: xr.Dataset,
    *,
    by: str = n.CONDITION,
    n_permutations: int = 100,
    seed: int = 0,
) -> dict:
    """Leave-one-run-out linear decoding of ``by`` with a permutation test (chance = 1 / k)."""
    from sklearn.model_selection import LeaveOneGroupOut, permutation_test_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    for coord in (by, n.RUN):
        if coord not in ds.coords:
            raise ValueError(
                f"decoding needs the trial coord {coord!r}; the store has "
                f"{sorted(map(str, ds.coords))} (set decode.by to one of them)."
            )
    x = ds["data"].values.astype(np.float64)
    y = ds[by].values.astype(str)
    groups = ds[n.RUN].values.astype(str)
    if len(np.unique(groups)) < 2:
        raise ValueError("leave-one-run-out decoding needs at least 2 runs.")
    model = make_pipeline(StandardScaler(), LinearSVC(C=0.01, max_iter=5000))
    score, null, p = permutation_test_score(
        model,
        x,
        y,
        groups=groups,
        cv=LeaveOneGroupOut(),
        n_permutations=n_permutations,
        random_state=seed,
        scoring="accuracy",
    )
    return {
        "accuracy": float(score),
        "chance": 1.0 / len(np.unique(y)),
        "p_value": float(p),
        "null_mean": float(null.mean()),
        "n_permutations": int(n_permutations),
        "n_folds": int(len(np.unique(groups))),
    }
