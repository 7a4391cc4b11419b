"""The tidy table of a variance partition store (no plotting imports: the step writes it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

PARTITION_COLUMNS = (
    "dataset",
    "model",
    "modality",
    "spaces",
    "component",
    "kind",
    "of",
    "region",
    "time",
    "value",
)


def tidy_partition(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (component, region[, time]) of the partition ``summary``.

    ``kind`` is ``r2`` (held-out R^2 of the subset ``of``), ``unique`` or ``shared``;
    ``spaces`` the partitioned layers joined by ``+``.
    """
    df = ds["summary"].reset_coords(drop=True).to_dataframe(name="value").reset_index()
    for name in ("dataset", "model", "modality"):
        df[name] = str(ds.attrs.get(name, ""))
    df["spaces"] = "+".join(map(str, ds.attrs["spaces"]))
    df[["kind", "of"]] = df["component"].str.split(":", n=1, expand=True)
    if "time" not in df:
        df["time"] = np.nan
    return df.loc[:, list(PARTITION_COLUMNS)].reset_index(drop=True)
