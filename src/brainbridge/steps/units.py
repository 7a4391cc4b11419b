"""Brain "units" compared with layers: fMRI regions, or the whole scalp over time for M/EEG."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.atomic import write_table
from brainbridge.store import names as n
from brainbridge.store import provenance, write_store

SCALP = "scalp"


def brain_units(
    avg: xr.DataArray, modality: str, region: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Patterns per unit.

    fMRI: ``{region: (stimulus, voxel)}``; M/EEG: ``{scalp: (time, stimulus, channel)}``.
    """
    if modality == "fmri":
        return {str(r): avg.values[:, region == r] for r in dict.fromkeys(region.tolist())}
    return {SCALP: avg.transpose(n.TIME, n.STIMULUS, n.CHANNEL).values}


def as_list(value) -> list:
    """A step input that may be one path, a list of paths, or absent, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def has_time(modality: str) -> bool:
    return modality != "fmri"


def write_brain(
    ds: xr.Dataset, *, kind: str, step: str, inputs: dict, outputs: dict, params: dict
) -> None:
    """Label a brain store with its dataset name and write it with its provenance."""
    ds.attrs["dataset"] = params["name"]
    prov = provenance(inputs=inputs, config=params, seed=params.get("seed"), step=step)
    write_store(ds, outputs["store"], kind=kind, provenance=prov)


def write_result(
    ds: xr.Dataset,
    *,
    kind: str,
    step: str,
    inputs: dict,
    outputs: dict,
    params: dict,
    tidy: Callable[[xr.Dataset], pd.DataFrame],
    **attrs: object,
) -> None:
    """Label a result with its dataset and model, write its store and its tidy table."""
    ds.attrs.update(dataset=params["dataset"], model=params["model"], **attrs)
    prov = provenance(inputs=inputs, config=params, seed=params.get("seed"), step=step)
    write_store(ds, outputs["store"], kind=kind, provenance=prov)
    write_table(tidy(ds), outputs["table"])
