"""Brain RDMs: category RDMs from single-trial betas, precomputed RDMs from MATLAB files,
and category decoding across runs."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.io import loadmat
from sklearn.metrics import pairwise_distances

from brainbridge.store import names as n


def category_rdm(ds: xr.Dataset, by: str = n.CONDITION) -> tuple[np.ndarray, np.ndarray]:
    """Correlation-distance RDM (categories x categories) of the betas averaged per category."""
    labels = ds[by].values.astype(str)
    categories = np.unique(labels)
    data = ds["data"].values.astype(np.float64)
    means = np.stack([data[labels == c].mean(axis=0) for c in categories])
    rdm = pairwise_distances(means, metric="correlation")
    np.fill_diagonal(rdm, 0.0)
    return (rdm + rdm.T) / 2, categories


def write_rdm_npz(path: str | Path, rdms: np.ndarray, labels, names=None) -> Path:
    """RDMs (..., n, n) with their stimulus labels as an npz, written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}.npz")
    extra = {} if names is None else {"names": np.asarray(names, dtype=str)}
    np.savez(tmp, rdms=np.asarray(rdms, float), labels=np.asarray(labels, dtype=str), **extra)
    os.replace(tmp, path)
    return path


def read_rdm_mat(path: str | Path, variable: str = "RDMs") -> tuple[np.ndarray, np.ndarray]:
    """Square RDMs and names from a MATLAB struct array (fields RDM, name), e.g. rsatoolbox demos.

    Returns ``rdms`` shaped like the struct array plus (n, n) (e.g. 4 subjects x 2 sessions x
    92 x 92) and their names with the struct array's shape; wrap with
    ``RDMVectors.from_square`` for the alignment metrics.
    """
    content = loadmat(path)
    if variable not in content:
        found = [k for k in content if not k.startswith("__")]
        raise ValueError(f"{path} has no variable {variable!r} (found {found}).")
    structs = content[variable]
    fields = structs.dtype.names or ()
    if not {"RDM", "name"} <= set(fields):
        raise ValueError(f"{path}: {variable} lacks fields RDM and name (has {list(fields)}).")
    shape = structs.shape[1:] if structs.shape[:1] == (1,) else structs.shape
    flat = structs.reshape(shape).ravel(order="C")
    rdms = np.stack([np.asarray(s["RDM"], dtype=np.float64) for s in flat])
    if rdms.ndim != 3 or rdms.shape[1] != rdms.shape[2]:
        raise ValueError(f"{path}: the RDM fields are not square matrices ({rdms.shape[1:]}).")
    names = np.array([str(np.asarray(s["name"]).ravel()[0]) for s in flat])
    return rdms.reshape(*shape, *rdms.shape[1:]), names.reshape(shape)


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

    x = ds["data"].values.astype(np.float64)
    y = ds[by].values.astype(str)
    groups = ds[n.RUN].values.astype(str)
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
    }
