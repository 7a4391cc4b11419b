"""Cross-validated ridge encoding of brain responses from each layer."""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from brainbridge.encode import cross_validated_scores
from brainbridge.encode.backend import set_torch_threads
from brainbridge.report.tables import tidy_encoding
from brainbridge.steps.contract import declare
from brainbridge.steps.units import SCALP, write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.join import layer_matrix, stimulus_average, store_layers

log = logging.getLogger(__name__)


@declare(
    inputs={"brain": "brain store (epochs or responses)", "activations": "activations store"},
    outputs={"store": "encoding store", "table": "tidy encoding TSV"},
    params={
        "dataset": "dataset name",
        "model": "model name",
        "encoding": "encoding settings (alphas, n_folds, scoring, backend)",
    },
    optional_params={"layers": "layers to encode from (default: all)", "seed": "random seed"},
)
def encode(inputs: dict, outputs: dict, params: dict) -> None:
    """Per layer: ridge from layer features to every brain target, scored out of fold."""
    set_torch_threads(int(params.get("threads", 1)))  # torch is imported only if used
    brain = open_store(inputs["brain"], load=True)
    activations = open_store(inputs["activations"], "activations")
    modality = brain.attrs[n.MODALITY]
    avg = stimulus_average(brain)
    stimuli = avg[n.STIMULUS].values
    target_shape = avg.shape[1:]
    y = avg.values.reshape(len(stimuli), -1).astype(np.float64)
    layers = store_layers(activations, params.get("layers"))
    cfg = params["encoding"]
    scores, alphas, numerics = [], [], {}
    for layer in layers:
        x = layer_matrix(activations, layer, stimuli, source=str(inputs["brain"]))
        result = cross_validated_scores(
            x,
            y,
            np.asarray(cfg["alphas"], dtype=float),
            n_folds=cfg["n_folds"],
            scoring=cfg["scoring"],
            seed=params.get("seed", 0),
            backend=cfg.get("backend", "auto"),
        )
        numerics = result.numerics
        scores.append(result.scores.reshape(target_shape))
        alphas.append(np.median(result.alphas, axis=0).reshape(target_shape))
        log.info(
            "layer %s: mean %s %.3f over %d targets",
            layer,
            cfg["scoring"],
            float(np.mean(result.scores)),
            y.shape[1],
        )
    ds = _encoding_dataset(brain, avg, layers, np.stack(scores), np.stack(alphas), modality)
    write_result(
        ds,
        kind="encoding",
        step="encode",
        inputs=inputs,
        outputs=outputs,
        params=params,
        tidy=tidy_encoding,
        modality=modality,
        scoring=cfg["scoring"],
        n_folds=cfg["n_folds"],
        **numerics,  # backend, device and dtype the ridge actually ran with
    )


def _encoding_dataset(brain, avg, layers, scores, alphas, modality) -> xr.Dataset:
    dims = (n.LAYER, *avg.dims[1:])
    coords = {n.LAYER: np.array(layers, dtype=str)}
    for dim in avg.dims[1:]:
        if dim in avg.coords:
            coords[dim] = avg[dim].values
    ds = xr.Dataset(
        {"score": (dims, scores.astype(np.float32)), "alpha": (dims, alphas.astype(np.float32))},
        coords=coords,
    )
    if modality == "fmri":
        region = brain[n.REGION].values.astype(str)
        names = list(dict.fromkeys(region.tolist()))
        summary = np.stack([scores[:, region == r].mean(axis=1) for r in names], axis=1)
        ds = ds.assign_coords(voxel_region=(n.VOXEL, region), region=np.array(names, dtype=str))
        ds["summary"] = ((n.LAYER, n.REGION), summary.astype(np.float32))
    else:
        ds = ds.assign_coords(region=np.array([SCALP], dtype=str))
        ds["summary"] = (
            (n.LAYER, n.REGION, n.TIME),
            scores.mean(axis=1)[:, None, :].astype(np.float32),
        )
    return ds
