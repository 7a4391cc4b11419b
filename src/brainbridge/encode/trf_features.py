"""Stimulus feature time series for temporal response functions.

Two sources, each sampled at the recording's rate:

- a file (``.npy``: ``(n_times,)`` or ``(n_times, n_features)``; ``.tsv`` / ``.csv``: one column
  per feature with a header), at its own stated rate. A rate other than the recording's is an
  error unless resampling is asked for explicitly (``resample: true``), and then it is recorded;
- events: impulses (or boxcars of ``duration`` s) at each stimulus onset carrying that
  stimulus's features, e.g. a layer's activations reduced by PCA over the presented stimuli
  (z-scored components), optionally with a constant ``onset`` column for the stimulus-independent
  response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from brainbridge.encode.trf import TRFError, check_features

ONSET_FEATURE = "onset"


@dataclass
class FeatureSeries:
    """``values`` ``(n_times, n_features)`` at ``sfreq``, named columns and how they were made."""

    values: np.ndarray
    names: list[str]
    sfreq: float
    attrs: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- files


def _read_values(path: Path, columns: list[str] | None) -> tuple[np.ndarray, list[str]]:
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise TRFError(f"feature file {path} is not a readable .npy array ({err}).") from err
        values = values[:, None] if values.ndim == 1 else values
        if values.ndim != 2:
            raise TRFError(
                f"feature file {path} holds an array of shape {values.shape}; expected "
                "(n_times,) or (n_times, n_features)."
            )
        names = [f"f{i}" for i in range(values.shape[1])]
        if columns:
            raise TRFError(
                f"feature file {path}: 'columns' selects columns of a table; a .npy array has "
                "none. Drop 'columns' or save a .tsv with a header."
            )
        return values, names
    if suffix in (".tsv", ".csv", ".txt"):
        sep = "," if suffix == ".csv" else "\t"
        try:
            table = pd.read_csv(path, sep=sep)
        except (ValueError, OSError) as err:
            raise TRFError(f"feature file {path} is not a readable table ({err}).") from err
        if columns:
            missing = [c for c in columns if c not in table.columns]
            if missing:
                raise TRFError(
                    f"feature file {path} lacks column(s) {missing} named in 'columns'; it has "
                    f"{list(table.columns)}."
                )
            table = table[list(columns)]
        try:
            values = table.to_numpy(dtype=np.float64)
        except ValueError as err:
            raise TRFError(
                f"feature file {path} holds non-numeric values ({err}); keep only numeric "
                "feature columns (select them with 'columns')."
            ) from err
        return values, [str(c) for c in table.columns]
    raise TRFError(
        f"feature file {path}: unknown type {suffix!r}; give a .npy array or a .tsv / .csv table."
    )


def read_feature_file(
    path: str | Path,
    *,
    sfreq: float,
    target_sfreq: float,
    n_times: int,
    resample: bool = False,
    columns: list[str] | None = None,
    key: str = "trf.features",
) -> FeatureSeries:
    """A feature file at ``sfreq`` as a series of ``n_times`` samples at ``target_sfreq``.

    Errors name ``key`` (the config entry) and the fix: a rate that differs without
    ``resample``, NaN values, a length other than the recording's.
    """
    path = Path(path)
    if not path.is_file():
        raise TRFError(f"{key}.file: {path} does not exist.")
    values, names = _read_values(path, columns)
    values = check_features(values, f"feature file {path} ({key})")
    attrs = {"feature_file": str(path), "feature_sfreq": float(sfreq), "resampled": False}
    if not np.isclose(sfreq, target_sfreq, rtol=0, atol=1e-9):
        if not resample:
            raise TRFError(
                f"{key}: feature file {path} is sampled at {sfreq:g} Hz but the recording at "
                f"{target_sfreq:g} Hz; resample the features yourself, or set "
                f"{key}.resample: true to resample them (polyphase, recorded in the store)."
            )
        from scipy.signal import resample_poly

        ratio = Fraction(float(target_sfreq) / float(sfreq)).limit_denominator(1000)
        values = resample_poly(values, ratio.numerator, ratio.denominator, axis=0)
        attrs.update(resampled=True, resample_ratio=f"{ratio.numerator}/{ratio.denominator}")
    if len(values) != n_times:
        raise TRFError(
            f"{key}: feature file {path} gives {len(values)} samples at {target_sfreq:g} Hz "
            f"({len(values) / target_sfreq:g} s) but the recording has {n_times} "
            f"({n_times / target_sfreq:g} s); the features must cover the recording sample by "
            "sample from its first sample: trim or pad the file."
        )
    return FeatureSeries(values=values, names=names, sfreq=float(target_sfreq), attrs=attrs)


# --------------------------------------------------------------------------- events


def event_series(
    onsets: np.ndarray,
    rows: np.ndarray,
    *,
    n_times: int,
    sfreq: float,
    duration: float = 0.0,
    where: str = "recording",
) -> np.ndarray:
    """``(n_times, n_features)``: ``rows[i]`` at the sample of ``onsets[i]`` (s from the first
    sample), held for ``duration`` s (0: one sample, an impulse)."""
    onsets = np.asarray(onsets, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] != onsets.shape[0]:
        raise TRFError(f"{where}: one feature row per event expected; got {rows.shape}.")
    if not np.all(np.isfinite(onsets)):
        raise TRFError(f"{where}: event onsets hold NaN/inf; fix the events of the recording.")
    start = np.round(onsets * sfreq).astype(int)
    outside = (start < 0) | (start >= n_times)
    if outside.any():
        raise TRFError(
            f"{where}: {int(outside.sum())} event onset(s) fall outside the recording (first "
            f"{onsets[outside][0]:g} s, recording {n_times / sfreq:g} s); check its events."
        )
    width = max(1, int(np.round(duration * sfreq)))
    out = np.zeros((n_times, rows.shape[1]))
    for s, row in zip(start, rows):
        out[s : s + width] += row
    return out


def reduce_features(
    features: np.ndarray, n_components: int, *, seed: int = 0
) -> tuple[np.ndarray, dict]:
    """Z-scored PCA components of stimulus x feature rows (fewer when the rank is lower)."""
    from sklearn.decomposition import PCA

    features = np.asarray(features, dtype=np.float64)
    k = int(min(n_components, features.shape[0] - 1, features.shape[1]))
    if k < 1:
        raise TRFError(
            f"cannot reduce {features.shape} features to {n_components} components; the layer "
            "needs >= 2 presented stimuli and >= 1 feature."
        )
    pca = PCA(k, random_state=seed, svd_solver="full").fit(features)
    scores = pca.transform(features)
    sd = scores.std(axis=0)
    scores = scores / np.where(sd > 0, sd, 1.0)
    attrs = {
        "reduction": "pca",
        "n_components": k,
        "explained_variance_ratio": [float(v) for v in pca.explained_variance_ratio_],
    }
    return scores, attrs


def stimulus_event_features(
    onsets: np.ndarray,
    stimuli: np.ndarray,
    features: np.ndarray,
    feature_stimuli: np.ndarray,
    *,
    n_times: int,
    sfreq: float,
    n_components: int = 10,
    duration: float = 0.0,
    onset_feature: bool = True,
    seed: int = 0,
    where: str = "recording",
) -> FeatureSeries:
    """Impulses at each event carrying its stimulus's reduced features (plus an onset column).

    ``features`` is ``(n_stimuli, n_features)`` over ``feature_stimuli`` ids; the PCA is fitted
    on the stimuli presented in the recording.
    """
    stimuli = np.asarray(stimuli).astype(str)
    index = {s: i for i, s in enumerate(np.asarray(feature_stimuli).astype(str))}
    missing = sorted(set(stimuli) - set(index))
    if missing:
        raise TRFError(
            f"{where}: {len(missing)} stimulus id(s) of the events have no features: "
            f"{missing[:5]}; the events and the activations must use the same stimulus ids "
            "(events.mapping / events.table of the dataset)."
        )
    presented = list(dict.fromkeys(stimuli.tolist()))
    rows = check_features(
        np.asarray(features)[[index[s] for s in presented]], f"activations for {where}"
    )
    reduced, attrs = reduce_features(rows, n_components, seed=seed)
    per_event = reduced[[presented.index(s) for s in stimuli]]
    names = [f"pc{i + 1}" for i in range(reduced.shape[1])]
    if onset_feature:
        per_event = np.column_stack([np.ones(len(stimuli)), per_event])
        names = [ONSET_FEATURE, *names]
    values = event_series(
        onsets, per_event, n_times=n_times, sfreq=sfreq, duration=duration, where=where
    )
    attrs.update(event_duration=float(duration), onset_feature=bool(onset_feature))
    return FeatureSeries(values=values, names=names, sfreq=float(sfreq), attrs=attrs)
