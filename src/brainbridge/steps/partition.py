"""Variance partitioning of layers (banded ridge): unique and shared held-out R^2 per target."""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from brainbridge.encode.backend import get_backend
from brainbridge.encode.partition import align_spaces, variance_partition
from brainbridge.report.partition_table import tidy_partition
from brainbridge.steps.contract import declare
from brainbridge.steps.units import SCALP, write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.join import stimulus_average

log = logging.getLogger(__name__)


@declare(
    inputs={"brain": "brain store (epochs or responses)", "activations": "activations store"},
    outputs={"store": "partition store", "table": "tidy partition TSV"},
    params={
        "dataset": "dataset name",
        "model": "model name",
        "spaces": "the 2 or 3 layers partitioned",
        "partition": "partition settings (alphas, n_candidates, n_folds, inner_folds, backend)",
    },
    optional_params={"seed": "random seed"},
)
def partition(inputs: dict, outputs: dict, params: dict) -> None:
    """Fit every subset of the layers (banded ridge for unions) and split the variance."""
    brain = open_store(inputs["brain"], load=True)
    activations = open_store(inputs["activations"], "activations")
    modality = brain.attrs[n.MODALITY]
    avg = stimulus_average(brain)
    stimuli = avg[n.STIMULUS].values.astype(str)
    y = avg.values.reshape(len(stimuli), -1).astype(np.float64)
    layers = [str(layer) for layer in params["spaces"]]
    missing = [layer for layer in layers if layer not in activations.data_vars]
    if missing:
        raise ValueError(
            f"partition.spaces: layer(s) {missing} are not in the activation store of model "
            f"{params['model']!r} (layers: {[str(v) for v in activations.data_vars]}); "
            "name layers the model extracts"
        )
    ids = activations[n.STIMULUS].values.astype(str)
    spaces = align_spaces(
        {layer: (ids, activations[layer].values) for layer in layers},
        stimuli,
        source=f"{inputs['activations']} vs {inputs['brain']}",
    )
    cfg = params["partition"]
    seed = int(params.get("seed", 0))
    backend = get_backend(cfg.get("backend", "numpy"))
    result = variance_partition(
        {k: v.astype(np.float64) for k, v in spaces.items()},
        y,
        np.asarray(cfg["alphas"], dtype=float),
        int(cfg["n_candidates"]),
        n_folds=int(cfg["n_folds"]),
        inner_folds=int(cfg["inner_folds"]),
        seed=seed,
        backend=backend,
    )
    for c in result.components:
        log.info("%s: mean %.4f over %d targets", c, float(result[c].mean()), y.shape[1])
    ds = _partition_dataset(brain, avg, result, modality)
    write_result(
        ds,
        kind="partition",
        step="partition",
        inputs=inputs,
        outputs=outputs,
        params=params,
        tidy=tidy_partition,
        modality=modality,
        scoring="r2",
        spaces=layers,
        n_folds=int(cfg["n_folds"]),
        inner_folds=int(cfg["inner_folds"]),
        n_candidates=int(cfg["n_candidates"]),
        backend=backend.name,
        device=str(backend.device),
        dtype=str(backend.dtype).removeprefix("torch."),
    )


def _partition_dataset(brain, avg, result, modality) -> xr.Dataset:
    target_dims = tuple(avg.dims[1:])
    shape = avg.shape[1:]
    values = result.values.reshape(len(result.components), *shape)
    weights = result.gamma.mean(0).reshape(len(result.spaces), *shape)  # mean over outer folds
    coords = {
        n.COMPONENT: np.array(result.components, dtype=str),
        n.BAND: np.array(result.spaces, dtype=str),
    }
    for dim in target_dims:
        if dim in avg.coords:
            coords[dim] = avg[dim].values
    ds = xr.Dataset(
        {
            "value": ((n.COMPONENT, *target_dims), values.astype(np.float32)),
            "band_weight": ((n.BAND, *target_dims), weights.astype(np.float32)),
        },
        coords=coords,
    )
    if modality == "fmri":
        region = brain[n.REGION].values.astype(str)
        names = list(dict.fromkeys(region.tolist()))
        summary = np.stack([values[:, region == r].mean(axis=1) for r in names], axis=1)
        ds = ds.assign_coords(voxel_region=(target_dims[0], region), region=np.array(names))
        ds["summary"] = ((n.COMPONENT, n.REGION), summary.astype(np.float32))
    else:
        ds = ds.assign_coords(region=np.array([SCALP], dtype=str))
        ds["summary"] = (
            (n.COMPONENT, n.REGION, n.TIME),
            values.mean(axis=1)[:, None, :].astype(np.float32),
        )
    return ds
