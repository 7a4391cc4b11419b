"""Single-trial GLM betas: least-squares-all (LSA) and least-squares-separate (LSS).

Both start from one nilearn design matrix with a regressor per trial (plus drifts and a
constant). LSS fits one model per trial (that trial vs the sum of the others, or vs the other
trials of its condition and one regressor per other condition); the regressors of those models are
sums of the per-trial columns, so every trial's model is solved at once: confounds are projected
out (Frisch-Waugh-Lovell), then a small batched system per trial is solved from the shared Gram
matrix ``A'A`` and ``A'Y``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from nilearn.glm.first_level import make_first_level_design_matrix, run_glm

ESTIMATORS = ("lsa", "lss")
LSS_OTHERS = ("all", "condition")


def trial_design(
    n_scans: int,
    tr: float,
    events: pd.DataFrame,
    glm: dict,
    confounds: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[list[str]]]:
    """nilearn design with one regressor (or one per HRF basis) per event row, and their columns.

    Repeated presentations of a stimulus stay separate trials (one per row); ``confounds``
    (volumes x regressors) become nuisance columns.
    """
    frame_times = np.arange(n_scans) * tr
    names = [f"trial{k:04d}" for k in range(len(events))]
    design = make_first_level_design_matrix(
        frame_times,
        pd.DataFrame(
            {
                "onset": events["onset"].to_numpy(float),
                "duration": events["duration"].to_numpy(float),
                "trial_type": names,
            }
        ),
        hrf_model=glm.get("hrf_model", "glover"),
        drift_model=_drift(glm.get("drift_model", "cosine")),
        high_pass=glm.get("high_pass", 0.01),
        add_regs=None if confounds is None else confounds.to_numpy(float),
        add_reg_names=None if confounds is None else [f"confound_{c}" for c in confounds.columns],
    )
    columns = list(design.columns)
    per_trial = [[c for c in columns if c == t or c.startswith(f"{t}_")] for t in names]
    return design, per_trial


def _drift(value):
    return None if value in (None, "null", "none") else value


def _censored(
    series: np.ndarray,
    design: pd.DataFrame,
    sample_mask: np.ndarray | None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Keep the volumes of ``sample_mask`` (scrubbing) in the data and the design alike."""
    if sample_mask is None:
        return np.asarray(series, dtype=float), design
    return np.asarray(series, dtype=float)[sample_mask], design.iloc[sample_mask]


def lsa_betas(
    series: np.ndarray,
    tr: float,
    events: pd.DataFrame,
    glm: dict,
    confounds: pd.DataFrame | None = None,
    sample_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Least-squares-all betas (trials x voxels) of a time x voxel series: one model, all trials."""
    design, per_trial = trial_design(series.shape[0], tr, events, glm, confounds)
    series, design = _censored(series, design, sample_mask)
    labels, results = run_glm(series, design.to_numpy(), noise_model=glm.get("noise_model", "ols"))
    theta = np.empty((design.shape[1], series.shape[1]))
    for label, result in results.items():
        theta[:, labels == label] = result.theta
    columns = list(design.columns)
    return theta[[columns.index(cols[0]) for cols in per_trial]]


def _orthonormal_basis(columns: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the span of ``columns`` (rank-revealing: collinear nuisance is fine)."""
    u, s, _ = np.linalg.svd(columns, full_matrices=False)
    return u[:, s > s[0] * max(columns.shape) * np.finfo(float).eps] if s.size else u


def lss_betas(
    series: np.ndarray,
    tr: float,
    events: pd.DataFrame,
    glm: dict,
    confounds: pd.DataFrame | None = None,
    sample_mask: np.ndarray | None = None,
    *,
    others: str = "all",
) -> np.ndarray:
    """Least-squares-separate betas (trials x voxels), one OLS model per trial, solved in batch.

    ``others="all"``: each model holds the trial and the sum of all other trials;
    ``others="condition"``: the trial, the other trials of its condition, and one regressor per
    other condition (``trial_type`` column).
    """
    if others not in LSS_OTHERS:
        raise ValueError(f"lss others must be one of {LSS_OTHERS}, not {others!r}.")
    if glm.get("noise_model", "ols") != "ols":
        raise ValueError(
            "the LSS estimator fits OLS models; set glm.noise_model: ols (or use lsa)."
        )
    design, per_trial = trial_design(series.shape[0], tr, events, glm, confounds)
    y, design = _censored(series, design, sample_mask)
    n_trials, n_basis = len(per_trial), len(per_trial[0])
    trial_cols = [c for cols in per_trial for c in cols]
    a = design[trial_cols].to_numpy(float)  # time x (trial, basis)
    q = _orthonormal_basis(design.drop(columns=trial_cols).to_numpy(float))
    a = a - q @ (q.T @ a)
    y = y - q @ (q.T @ y)
    gram = a.T @ a
    cross = a.T @ y

    if others == "condition" and "trial_type" in events:
        groups = pd.factorize(events["trial_type"].astype(str))[0]
    else:
        groups = np.zeros(n_trials, dtype=int)
    n_groups = int(groups.max()) + 1
    # weights (trial, design column, model column): the trial itself, then one sum per group
    # (the trial's own group without it)
    membership = np.zeros((n_trials, n_groups))
    membership[np.arange(n_trials), groups] = 1.0
    models = np.broadcast_to(membership[None], (n_trials, n_trials, n_groups)).copy()
    models[np.arange(n_trials), np.arange(n_trials), groups] = 0.0
    selves = np.eye(n_trials)[:, :, None]
    weights_t = np.concatenate([selves, models], axis=2)  # model trial x source trial x regressor
    eye_b = np.eye(n_basis)
    # expand over HRF bases: regressor (r, b) = sum over source trials of column (trial, b)
    weights = np.einsum("tsr,bc->tsbrc", weights_t, eye_b).reshape(
        n_trials, n_trials * n_basis, (1 + n_groups) * n_basis
    )
    g = np.einsum("tcp,cd,tdq->tpq", weights, gram, weights)
    rhs = np.einsum("tcp,cv->tpv", weights, cross)
    solution = np.linalg.pinv(g, hermitian=True) @ rhs  # empty groups get zero weight
    return solution[:, 0, :]


def single_trial_betas(
    series: np.ndarray,
    tr: float,
    events: pd.DataFrame,
    glm: dict,
    confounds: pd.DataFrame | None = None,
    sample_mask: np.ndarray | None = None,
) -> np.ndarray:
    """The configured estimator's betas (``glm.estimator``: lsa or lss; ``glm.lss_others``)."""
    estimator = glm.get("estimator", "lsa")
    if estimator == "lsa":
        return lsa_betas(series, tr, events, glm, confounds, sample_mask)
    if estimator == "lss":
        others = glm.get("lss_others", "all")
        return lss_betas(series, tr, events, glm, confounds, sample_mask, others=others)
    raise ValueError(f"glm.estimator must be one of {ESTIMATORS}, not {estimator!r}.")
