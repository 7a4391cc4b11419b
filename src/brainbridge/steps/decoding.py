"""Identification decoding of layer features (or category identity) from brain stores."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
import xarray as xr

from brainbridge.decode.identity import decode_identity
from brainbridge.report.tables import ID_COLUMNS, _with_ids
from brainbridge.steps.units import write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.contract import StoreError
from brainbridge.store.join import layer_matrix, store_layers

log = logging.getLogger(__name__)

DECODING_COLUMNS = (
    *ID_COLUMNS,
    "decoder",
    "metric",
    "layer",
    "region",
    "time",
    "level",
    "top1",
    "top5",
    "chance_top1",
    "chance_top5",
    "mean_rank",
    "p_value",
    "null_mean",
    "ci_low",
    "ci_high",
    "n_candidates",
)


def tidy_decoding(ds: xr.Dataset) -> pd.DataFrame:
    """One row per decoder x metric x layer x region|time x level (top-1/top-5 with chance)."""
    flat = ds.drop_vars(["top_k", "chance"])
    for k in ds[n.TOP_K].values.tolist():
        if k in (1, 5):
            flat[f"top{k}"] = ds["top_k"].sel({n.TOP_K: k}, drop=True)
            flat[f"chance_top{k}"] = ds["chance"].sel({n.TOP_K: k}, drop=True)
    flat = flat.drop_vars(n.TOP_K, errors="ignore")
    df = flat.to_dataframe().reset_index()
    if n.REGION not in df:
        df[n.REGION] = "scalp"
    for col in DECODING_COLUMNS:
        if col not in df and col not in ID_COLUMNS:
            df[col] = np.nan
    return _with_ids(df, ds, DECODING_COLUMNS)


def _category_features(brain: xr.Dataset, by: str) -> tuple[dict, np.ndarray]:
    if by not in brain.coords:
        raise StoreError(
            f"category identification needs the trial coord {by!r}; the brain store has "
            f"{sorted(map(str, brain.coords))} (set decoding.by to one of them)"
        )
    labels = np.unique(brain[by].values.astype(str))
    return {"category": np.eye(len(labels))}, labels


def decode_layers(inputs: dict, outputs: dict, params: dict) -> None:
    """Ridge (and contrastive) identification of each layer from every window or region.

    Without an ``activations`` input the targets are the one-hot categories of
    ``decoding.by`` (label designs such as fMRI blocks), folded by run.
    """
    torch.set_num_threads(int(params.get("threads", 1)))
    cfg = params["decoding"]
    brain = open_store(inputs["brain"], load=True)
    modality = brain.attrs[n.MODALITY]
    if "activations" in inputs:
        activations = open_store(inputs["activations"], "activations")
        stimuli = np.unique(brain[n.STIMULUS].values.astype(str))
        try:
            names = store_layers(activations, params.get("layers"))
        except ValueError as err:
            raise ValueError(f"{err} (key models.{params['model']}.layers)") from err
        layers = {
            layer: layer_matrix(activations, layer, stimuli, source=str(inputs["brain"]))
            for layer in names
        }
        shared = False
    else:
        by = cfg.get("by", n.CONDITION)
        layers, stimuli = _category_features(brain, by)
        brain = brain.assign_coords({n.STIMULUS: (n.TRIAL, brain[by].values.astype(str))})
        shared = True
    decoders = list(cfg.get("decoders", ["ridge"]))
    ds = decode_identity(
        brain,
        layers,
        stimuli,
        cfg,
        decoders=decoders,
        seed=int(params.get("seed", 0)),
        shared_stimuli=shared,
    )
    best = ds["score"].sel({n.METRIC: "correlation", n.LEVEL: "trial"})
    for dec in decoders:
        peak = best.sel({n.DECODER: dec})
        log.info("%s: best top-1 per layer %s", dec, peak.max(peak.dims[-1]).values.round(3))
    write_result(
        ds,
        kind="decoding",
        step="decode-identity",
        inputs=inputs,
        outputs=outputs,
        params=params,
        tidy=tidy_decoding,
        modality=modality,
        decoders=decoders,
    )


def concat_tables(inputs: dict, outputs: dict, params: dict) -> None:
    """One tidy table from several (``inputs['tables']``), rows in input order."""
    from brainbridge.atomic import write_table
    from brainbridge.steps.units import as_list

    frames = [pd.read_csv(p, sep="\t") for p in as_list(inputs.get("tables"))]
    write_table(pd.concat(frames, ignore_index=True), outputs["table"])
