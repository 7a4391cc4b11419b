"""Tidy (long-format) tables of encoding and alignment stores, and atomic TSV/text writing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.atomic import write_bytes, write_table, write_text

ID_COLUMNS = ("dataset", "model", "modality")
#: summary statistics of an encoding store and their tidy column names
ENCODING_STATS = {
    "summary": "score",
    "summary_p_value": "p_value",
    "summary_ci_low": "ci_low",
    "summary_ci_high": "ci_high",
    "summary_ceiling": "ceiling",
    "summary_normalised": "score_normalised",
}
ENCODING_COLUMNS = (*ID_COLUMNS, "layer", "region", "time", *ENCODING_STATS.values())
STAT_VARS = ("score", "p_value", "ci_low", "ci_high", "null_mean", "null_std")
CEILING_VARS = ("noise_ceiling_lower", "noise_ceiling_upper")
# group-level tests over subjects (NaN when the dataset has no subject groups)
GROUP_VARS = (
    "n_subjects",
    "group_t",
    "group_p_ttest",
    "group_p_signflip",
    "group_p_fdr",
    "group_p_cluster",
)
ALIGNMENT_COLUMNS = (
    *ID_COLUMNS,
    "metric",
    "region",
    "layer",
    "time",
    *STAT_VARS,
    *CEILING_VARS,
    *GROUP_VARS,
)


def _with_ids(df: pd.DataFrame, ds: xr.Dataset, columns: tuple[str, ...]) -> pd.DataFrame:
    """Add the store's dataset/model/modality attrs and a NaN time column, in ``columns`` order."""
    for name in ID_COLUMNS:
        df[name] = str(ds.attrs.get(name, ""))
    if "time" not in df:
        df["time"] = np.nan
    return df.loc[:, list(columns)].reset_index(drop=True)


def _summary_from_score(ds: xr.Dataset) -> xr.DataArray:
    """Mean score per region label of the targets (fallback when a store has no ``summary``)."""
    score = ds["score"]
    target = str(score.dims[1])
    label = next((c for c in (f"{target}_region", "region") if c in score.coords), None)
    if label is None or score.coords[label].dims != (target,):
        return score.mean(target).expand_dims(region=["all"], axis=1)
    return score.groupby(label).mean(target).rename({label: "region"}).transpose("layer", ...)


def tidy_encoding(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (layer, region[, time]) of the encoding ``summary``, with its permutation
    p-value, bootstrap interval, noise ceiling and ceiling-normalised score (NaN where the
    store has none); time is NaN when absent."""
    summary = (ds["summary"] if "summary" in ds else _summary_from_score(ds)).reset_coords(
        drop=True
    )
    columns = {}
    for var, column in ENCODING_STATS.items():
        da = ds[var].reset_coords(drop=True) if var in ds else xr.full_like(summary, np.nan)
        columns[column] = da.broadcast_like(summary).transpose(*summary.dims)
    columns["score"] = summary
    df = xr.Dataset(columns).to_dataframe(dim_order=list(summary.dims)).reset_index()
    return _with_ids(df, ds, ENCODING_COLUMNS)


def tidy_alignment(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (metric, region, layer[, time]) with statistics and the noise ceiling."""
    score = ds["score"].reset_coords(drop=True)
    columns = {}
    for var in STAT_VARS + CEILING_VARS + GROUP_VARS:
        da = ds[var].reset_coords(drop=True) if var in ds else xr.full_like(score, np.nan)
        columns[var] = da.broadcast_like(score).transpose(*score.dims)
    df = xr.Dataset(columns).to_dataframe(dim_order=list(score.dims)).reset_index()
    return _with_ids(df, ds, ALIGNMENT_COLUMNS)


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) atomically, with :mod:`brainbridge.atomic`."""
    if isinstance(data, bytes):
        return write_bytes(data, path)
    return write_text(data, path)


def write_tsv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as a tab-separated file (missing values as ``n/a``), atomically."""
    return write_table(df, path)
