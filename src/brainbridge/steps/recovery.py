"""Planted vs recovered: which layer best explains each simulated region / time window."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.atomic import write_table
from brainbridge.steps.contract import declare
from brainbridge.steps.units import SCALP, as_list
from brainbridge.store import names as n
from brainbridge.store import open_store

COLUMNS = [
    "dataset",
    "modality",
    "unit",
    "tmin",
    "tmax",
    "planted_layer",
    "method",
    "recovered_layer",
    "match",
    "score_planted",
    "score_best",
]


def _planted_units(truth: dict) -> list[dict]:
    units = []
    if "fmri" in truth:
        for region, spec in truth["fmri"]["regions"].items():
            units.append(
                {
                    "dataset": truth["fmri"]["dataset"],
                    "modality": "fmri",
                    "unit": region,
                    "region": region,
                    "tmin": np.nan,
                    "tmax": np.nan,
                    "layer": spec["layer"],
                }
            )
    if "eeg" in truth:
        for w in truth["eeg"]["windows"]:
            units.append(
                {
                    "dataset": truth["eeg"]["dataset"],
                    "modality": "eeg",
                    "unit": w["name"],
                    "region": SCALP,
                    "tmin": w["tmin"],
                    "tmax": w["tmax"],
                    "layer": w["layer"],
                }
            )
    return units


def _layer_scores(scores: xr.DataArray, unit: dict) -> xr.DataArray:
    """Scores per layer for one planted unit (averaged over the window for time courses)."""
    scores = scores.sel({n.REGION: unit["region"]})
    if n.TIME in scores.dims:
        t = scores[n.TIME]
        scores = scores.sel({n.TIME: (t >= unit["tmin"]) & (t <= unit["tmax"])}).mean(n.TIME)
    return scores


def _row(unit: dict, method: str, per_layer: xr.DataArray) -> dict:
    layers = per_layer[n.LAYER].values.astype(str)
    values = per_layer.values.astype(float)
    best = layers[int(np.nanargmax(values))]
    planted = unit["layer"]
    return {
        "dataset": unit["dataset"],
        "modality": unit["modality"],
        "unit": unit["unit"],
        "tmin": unit["tmin"],
        "tmax": unit["tmax"],
        "planted_layer": planted,
        "method": method,
        "recovered_layer": best,
        "match": bool(best == planted),
        "score_planted": float(values[list(layers).index(planted)])
        if planted in layers
        else np.nan,
        "score_best": float(np.nanmax(values)),
    }


def recovery_table(
    truth: dict, encoding: list[xr.Dataset], alignment: list[xr.Dataset]
) -> pd.DataFrame:
    """One row per planted unit and method (encoding, then each alignment metric)."""
    rows = []
    for unit in _planted_units(truth):
        for ds in encoding:
            if ds.attrs.get("dataset") == unit["dataset"]:
                rows.append(_row(unit, "encoding", _layer_scores(ds["summary"], unit)))
        for ds in alignment:
            if ds.attrs.get("dataset") == unit["dataset"]:
                for metric in ds[n.METRIC].values.astype(str):
                    per_layer = _layer_scores(ds["score"].sel({n.METRIC: metric}), unit)
                    rows.append(_row(unit, metric, per_layer))
    return pd.DataFrame(rows, columns=COLUMNS)


@declare(
    inputs={"truth": "planted truth JSON", "alignment": "alignment stores"},
    optional_inputs={"encoding": "encoding stores"},
    outputs={"table": "planted-vs-recovered TSV"},
)
def recover(inputs: dict, outputs: dict, params: dict) -> None:
    """Write the planted-vs-recovered table of the simulated datasets."""
    with open(inputs["truth"], encoding="utf-8") as handle:
        truth = json.load(handle)
    encoding = [open_store(p, "encoding", load=True) for p in as_list(inputs.get("encoding"))]
    alignment = [open_store(p, "alignment", load=True) for p in as_list(inputs["alignment"])]
    write_table(recovery_table(truth, encoding, alignment), outputs["table"])
