"""Time-locked averaged BOLD: the mean of the volumes in a window after each trial onset."""

from __future__ import annotations

import numpy as np
import pandas as pd


def window_weights(
    n_scans: int, tr: float, onsets: np.ndarray, window: tuple[float, float], valid: np.ndarray
) -> np.ndarray:
    """Averaging weights (trials x volumes): 1 / count on the valid volumes inside the window."""
    times = np.arange(n_scans) * tr
    onsets = np.asarray(onsets, float)[:, None]
    inside = (times >= onsets + window[0]) & (times <= onsets + window[1]) & valid
    counts = inside.sum(axis=1, keepdims=True)
    return np.divide(inside, counts, out=np.zeros(inside.shape), where=counts > 0)


def time_locked_average(
    cleaned: np.ndarray,
    tr: float,
    events: pd.DataFrame,
    window: tuple[float, float],
    baseline: tuple[float, float] | None = None,
    *,
    path="",
) -> tuple[np.ndarray, np.ndarray]:
    """Per-trial mean BOLD in ``window`` (s after onset), minus the mean in ``baseline``.

    ``cleaned`` is volumes x voxels with NaN on censored volumes. Returns the responses of the
    trials that keep at least one valid volume in each window, and the boolean mask of those.
    """
    tmin, tmax = window
    if tmax < tmin:
        raise ValueError(f"response.window {list(window)} must be [start, end] with end >= start.")
    n_scans = cleaned.shape[0]
    valid = np.isfinite(cleaned).all(axis=1)
    data = np.where(valid[:, None], cleaned, 0.0)
    onsets = events["onset"].to_numpy(float)
    weights = window_weights(n_scans, tr, onsets, window, valid)
    if not window_weights(n_scans, tr, onsets, window, np.ones(n_scans, bool)).any(axis=1).all():
        raise ValueError(
            f"{path}: response.window {list(window)} s holds no volume for some trials at TR "
            f"{tr} s (or runs past the scan); widen the window to at least one TR."
        )
    kept = weights.any(axis=1)
    response = weights @ data
    if baseline is not None:
        base = window_weights(n_scans, tr, onsets, baseline, valid)
        kept &= base.any(axis=1)
        response = response - base @ data
    return response[kept], kept
