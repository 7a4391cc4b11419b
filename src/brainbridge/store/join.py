"""Joining brain stores and activation stores on the ``stimulus`` id (never by position)."""

from __future__ import annotations

import fnmatch

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.store import names as n
from brainbridge.store.contract import check_stimuli


def stimulus_average(brain: xr.Dataset) -> xr.DataArray:
    """Mean over the trials of each stimulus: ``data`` with ``trial`` replaced by ``stimulus``."""
    data = brain["data"].assign_coords({n.STIMULUS: (n.TRIAL, brain[n.STIMULUS].values)})
    avg = data.groupby(n.STIMULUS).mean(n.TRIAL)
    return avg.assign_coords({n.STIMULUS: avg[n.STIMULUS].values.astype(str)})


def split_half_average(brain: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray] | None:
    """Averages of odd and of even presentations of each stimulus (in onset order).

    Stimuli shown once are dropped; returns None when no stimulus was shown twice.
    """
    order = np.argsort(brain[n.ONSET].values) if n.ONSET in brain.coords else None
    ds = brain.isel({n.TRIAL: order}) if order is not None else brain
    stimuli = pd.Series(ds[n.STIMULUS].values.astype(str))
    repetition = stimuli.groupby(stimuli).cumcount().to_numpy()  # 0, 1, ... per stimulus
    repeated = (stimuli.map(stimuli.value_counts()) >= 2).to_numpy()
    if not repeated.any():
        return None
    halves = []
    for parity in (0, 1):
        keep = repeated & (repetition % 2 == parity)
        halves.append(stimulus_average(ds.isel({n.TRIAL: np.flatnonzero(keep)})))
    common = np.intersect1d(halves[0][n.STIMULUS].values, halves[1][n.STIMULUS].values)
    return halves[0].sel({n.STIMULUS: common}), halves[1].sel({n.STIMULUS: common})


def layer_matrix(
    activations: xr.Dataset, layer: str, stimuli: np.ndarray, *, source: str
) -> np.ndarray:
    """``layer`` features (stimulus x feature) in the order of ``stimuli``."""
    check_stimuli(
        stimuli,
        activations[n.STIMULUS].values,
        wanted_from=source,
        available_from=f"activation store of model {activations.attrs.get(n.MODEL)!r}",
    )
    return np.asarray(activations[layer].sel({n.STIMULUS: stimuli}).values, dtype=np.float64)


def store_layers(activations: xr.Dataset, patterns: list[str] | None) -> list[str]:
    """Layers of the activation store matching the config's names or globs, in their order."""
    available = [str(v) for v in activations.data_vars]
    if not patterns:
        return available
    chosen: list[str] = []
    for pattern in patterns:
        matches = [a for a in available if fnmatch.fnmatchcase(a, pattern)]
        chosen += [m for m in matches if m not in chosen]
    missing = [p for p in patterns if not any(fnmatch.fnmatchcase(a, p) for a in available)]
    if missing:
        raise ValueError(
            f"layer(s) {missing} match no layer of the activation store of model "
            f"{activations.attrs.get(n.MODEL)!r} (layers: {available}); re-extract it."
        )
    return chosen
