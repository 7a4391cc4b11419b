"""Temporal response functions of a continuous recording from a layer or a feature file."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr

from brainbridge.atomic import write_bytes
from brainbridge.encode.trf import TRFError, cross_validated_trf
from brainbridge.encode.trf_features import (
    read_feature_file,
    stimulus_event_features,
)
from brainbridge.report.trf import tidy_trf, trf_png
from brainbridge.steps.contract import declare
from brainbridge.steps.units import write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.join import store_layers

log = logging.getLogger(__name__)


def _events(brain: xr.Dataset, where: str) -> tuple[np.ndarray, np.ndarray]:
    if n.EVENT not in brain.dims:
        raise TRFError(
            f"{where} holds no stimulus events, so a layer's features cannot be placed at "
            "stimulus onsets. Configure the dataset's 'events' (mapping or table: event -> "
            "stimulus id) so that ingestion stores them, or give a feature file under "
            "trf.features."
        )
    return brain[n.ONSET].values.astype(np.float64), brain[n.STIMULUS].values.astype(str)


def _layer_series(inputs: dict, params: dict, brain: xr.Dataset, where: str) -> dict:
    """``{layer: FeatureSeries}``: each layer's PCA features as impulses at the onsets."""
    cfg = params["trf"]
    onsets, stimuli = _events(brain, where)
    activations = open_store(inputs["activations"], "activations")
    sfreq = float(brain.attrs[n.SFREQ])
    series = {}
    for layer in store_layers(activations, params.get("layers")):
        da = activations[layer]
        series[layer] = stimulus_event_features(
            onsets,
            stimuli,
            np.asarray(da.values, dtype=np.float64),
            activations[n.STIMULUS].values,
            n_times=brain.sizes[n.TIME],
            sfreq=sfreq,
            n_components=int(cfg.get("n_components", 10)),
            duration=float(cfg.get("duration", 0.0)),
            onset_feature=bool(cfg.get("onset_feature", True)),
            seed=int(params.get("seed", 0)),
            where=f"{where} x layer {layer!r}",
        )
    # one feature axis for every layer: as many components as the poorest layer has
    width = min(s.values.shape[1] for s in series.values())
    for s in series.values():
        s.values, s.names = s.values[:, :width], s.names[:width]
    return series


def _file_series(inputs: dict, params: dict, brain: xr.Dataset) -> dict:
    spec = params.get("features") or {}
    key = f"trf.features.{params['model']}"
    if "sfreq" not in spec:
        raise TRFError(f"{key}.sfreq missing: give the sampling rate (Hz) of the feature file.")
    series = read_feature_file(
        inputs["features"],
        sfreq=float(spec["sfreq"]),
        target_sfreq=float(brain.attrs[n.SFREQ]),
        n_times=brain.sizes[n.TIME],
        resample=bool(spec.get("resample", False)),
        columns=spec.get("columns"),
        key=key,
    )
    scale = series.values.std(axis=0)
    series.values = series.values / np.where(scale > 0, scale, 1.0)
    series.attrs["feature_scale"] = [float(v) for v in scale]
    return {params["model"]: series}


@declare(
    inputs={"brain": "continuous brain store"},
    outputs={"store": "trf store", "table": "tidy TRF TSV", "figure": "TRF weights PNG"},
    params={
        "dataset": "dataset name",
        "model": "model name, or the name of a feature file under trf.features",
        "trf": "trf settings (tmin, tmax, alphas, n_folds, scoring, n_components, ...)",
    },
    optional_inputs={
        "activations": "activations store (layer features at stimulus onsets)",
        "features": "feature file (.npy / .tsv) of trf.features.NAME",
    },
    optional_params={
        "layers": "layers of the model (default: all)",
        "features": "trf.features.NAME (sfreq, resample, columns)",
        "seed": "random seed",
    },
)
def trf(inputs: dict, outputs: dict, params: dict) -> None:
    """Per layer (or the feature file): a cross-validated TRF to every channel."""
    if ("activations" in inputs) == ("features" in inputs):
        raise TRFError("give exactly one of the inputs 'activations' and 'features'.")
    brain = open_store(inputs["brain"], load=True)
    where = f"dataset {params['dataset']!r} ({inputs['brain']})"
    if brain.attrs.get(n.KIND) != "continuous":
        raise TRFError(
            f"{where} is a {brain.attrs.get(n.KIND)!r} store; a TRF needs a continuous "
            "recording: set the dataset's store: continuous."
        )
    cfg = params["trf"]
    if "activations" in inputs:
        series = _layer_series(inputs, params, brain, where)
    else:
        series = _file_series(inputs, params, brain)
    y = np.asarray(brain["data"].transpose(n.TIME, n.CHANNEL).values, dtype=np.float64)
    sfreq = float(brain.attrs[n.SFREQ])
    results = {}
    for layer, s in series.items():  # every fit before anything is written
        results[layer] = cross_validated_trf(
            s.values,
            y,
            sfreq,
            float(cfg["tmin"]),
            float(cfg["tmax"]),
            cfg["alphas"],
            n_folds=int(cfg["n_folds"]),
            scoring=cfg.get("scoring", "pearson"),
            where=where,
        )
        log.info(
            "%s: mean held-out %s %.3f", layer, cfg.get("scoring"), results[layer].scores.mean()
        )
    ds = _trf_dataset(brain, series, results, sfreq)
    write_result(
        ds,
        kind="trf",
        step="trf",
        inputs=inputs,
        outputs=outputs,
        params=params,
        tidy=tidy_trf,
        modality=str(brain.attrs.get(n.MODALITY, "")),
        scoring=cfg.get("scoring", "pearson"),
        n_folds=int(cfg["n_folds"]),
        tmin=float(cfg["tmin"]),
        tmax=float(cfg["tmax"]),
        sfreq=sfreq,
        alphas=[float(a) for a in np.atleast_1d(cfg["alphas"])],
        alpha_selection=(
            "fixed"
            if np.size(cfg["alphas"]) == 1
            else "per channel, leave one training block out (lowest MSE)"
        ),
        cv="contiguous blocks, no shuffling; scored on samples whose every lag lies inside "
        "the held-out block",
        blocks=[[b.start, b.stop] for b in next(iter(results.values())).blocks],
        features={layer: {"names": s.names, **s.attrs} for layer, s in series.items()},
    )
    title = f"{params['dataset']} × {params['model']}"
    write_bytes(trf_png(ds, title), Path(outputs["figure"]))


def _trf_dataset(brain: xr.Dataset, series: dict, results: dict, sfreq: float) -> xr.Dataset:
    layers = list(results)
    first = results[layers[0]]
    names = next(iter(series.values())).names
    lags = first.fit.lags / sfreq
    weight = np.stack([results[k].fit.coef for k in layers])
    return xr.Dataset(
        {
            "weight": ((n.LAYER, n.LAG, n.FEATURE, n.CHANNEL), weight.astype(np.float32)),
            "score": (
                (n.LAYER, n.CHANNEL),
                np.stack([results[k].scores for k in layers]).astype(np.float32),
            ),
            "fold_score": (
                (n.LAYER, n.FOLD, n.CHANNEL),
                np.stack([results[k].fold_scores for k in layers]).astype(np.float32),
            ),
            "alpha": (
                (n.LAYER, n.CHANNEL),
                np.stack([results[k].fit.alpha for k in layers]).astype(np.float32),
            ),
        },
        coords={
            n.LAYER: np.array(layers, dtype=str),
            n.LAG: lags.astype(np.float64),
            n.FEATURE: np.array(names, dtype=str),
            n.CHANNEL: brain[n.CHANNEL].values.astype(str),
            n.FOLD: np.arange(len(first.blocks)),
        },
    )
