"""Confounds, scrubbing, filtering, scaling and smoothing of BOLD runs (nilearn).

A cleaning spec (``datasets.NAME.cleaning``), each key optional:

- ``confounds``: ``strategy`` and the other arguments of
  :func:`nilearn.interfaces.fmriprep.load_confounds` (fMRIPrep derivatives: motion, wm_csf,
  compcor, scrub, ...), and/or ``columns``: names of columns to take from the run's confounds
  TSV as they are (any TSV with one row per volume);
- ``standardize``: ``psc`` (percent signal change, the default for betas), ``zscore_sample``, or
  ``false``; ``smoothing_fwhm`` (mm);
- ``detrend``, ``high_pass``, ``low_pass`` (Hz): temporal filters of time-locked averages. For
  GLM betas the drifts are modelled by ``glm.drift_model`` / ``glm.high_pass``, and confounds and
  censored volumes enter the model itself: filtering the data but not the design would bias the
  betas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from nilearn import signal
from nilearn.interfaces.fmriprep import load_confounds

from brainbridge.integrity import read_table

STANDARDIZE = ("psc", "zscore_sample", False)
LOAD_CONFOUNDS_KEYS = {
    "strategy", "motion", "scrub", "fd_threshold", "std_dvars_threshold", "wm_csf",
    "global_signal", "compcor", "n_compcor", "ica_aroma", "tedana", "demean",
}  # fmt: skip


def run_confounds(
    bold_path, confounds_path, spec: dict | None, n_scans: int
) -> tuple[pd.DataFrame | None, np.ndarray | None]:
    """Confound regressors (volumes x regressors) and the volumes kept after scrubbing.

    Returns ``(None, None)`` when the spec asks for no confound.
    """
    spec = dict(spec or {})
    unknown = set(spec) - LOAD_CONFOUNDS_KEYS - {"columns"}
    if unknown:
        raise ValueError(
            f"cleaning.confounds has unknown key(s) {sorted(unknown)}; "
            f"allowed: columns and nilearn load_confounds' {sorted(LOAD_CONFOUNDS_KEYS)}."
        )
    if not spec:
        return None, None
    if confounds_path is None:
        raise ValueError(
            f"{bold_path}: cleaning.confounds is set but the run has no confounds TSV; use "
            "fMRIPrep derivatives (bids.derivatives) or give confound_files, one per run."
        )
    frames, sample_mask = [], None
    load_args = {k: v for k, v in spec.items() if k in LOAD_CONFOUNDS_KEYS}
    if load_args:
        try:
            loaded, sample_mask = load_confounds(str(bold_path), **_tuple_strategy(load_args))
        except ValueError as err:
            raise ValueError(
                f"{bold_path}: nilearn load_confounds failed ({err}); the run must be an "
                f"fMRIPrep desc-preproc BOLD with its confounds TSV beside it ({confounds_path})."
            ) from err
        frames.append(loaded)
    if spec.get("columns"):
        frames.append(_columns(confounds_path, spec["columns"]))
    confounds = pd.concat(frames, axis=1)
    if len(confounds) != n_scans:
        raise ValueError(
            f"{confounds_path}: {len(confounds)} rows of confounds but the run has {n_scans} "
            "volumes; each row must be one volume of this run."
        )
    return confounds, None if sample_mask is None else np.asarray(sample_mask, dtype=int)


def _tuple_strategy(args: dict) -> dict:
    return {**args, "strategy": tuple(args.get("strategy", ("motion", "high_pass", "wm_csf")))}


def _columns(path, columns: list[str]) -> pd.DataFrame:
    table = read_table(path, "confounds")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: confound column(s) {missing} not found; it has {list(table.columns)[:20]}."
        )
    # fMRIPrep leaves derivative columns undefined on the first volume
    return table[columns].bfill().fillna(0.0).astype(float)


def scale(series: np.ndarray, standardize, path) -> np.ndarray:
    """Scale each voxel's series: percent signal change, z-score, or not at all."""
    if standardize not in STANDARDIZE:
        raise ValueError(f"cleaning.standardize must be one of {STANDARDIZE}, not {standardize!r}.")
    if standardize == "psc":
        mean = series.mean(axis=0)
        if np.any(np.abs(mean) < 1e-8):
            raise ValueError(
                f"{path}: some voxels have a mean of zero, so percent signal change is undefined; "
                "restrict the mask to brain voxels or set cleaning.standardize: false."
            )
        return 100.0 * (series / mean - 1.0)
    if standardize == "zscore_sample":
        std = series.std(axis=0, ddof=1)
        return (series - series.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return series


def clean_series(
    series: np.ndarray,
    tr: float,
    confounds: pd.DataFrame | None,
    sample_mask: np.ndarray | None,
    spec: dict,
) -> np.ndarray:
    """Filtered, confound-regressed series of every volume; censored volumes are NaN."""
    cleaned = signal.clean(
        series,
        detrend=bool(spec.get("detrend", True)),
        standardize=None,
        confounds=None if confounds is None else confounds.to_numpy(float),
        sample_mask=sample_mask,
        high_pass=spec.get("high_pass"),
        low_pass=spec.get("low_pass"),
        t_r=tr,
    )
    if sample_mask is None:
        return cleaned
    full = np.full(series.shape, np.nan)
    full[sample_mask] = cleaned
    return full
