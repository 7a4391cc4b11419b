"""Searchlight RSA maps of a brain store against every layer of a model.

fMRI: voxel spheres (``radius`` mm) around every voxel -> ``searchlight`` store (metric x layer x
voxel) and one NIfTI map per layer (``maps`` folder). M/EEG: sensor neighbourhoods (MNE's
Delaunay adjacency of the sensor positions, or ``sensor_radius``) x time windows (``window``
s, a centre every ``step`` samples) -> store (metric x layer x channel x time) and one topomap
PNG per layer at its peak time.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from brainbridge.align import get_metric
from brainbridge.align.searchlight import (
    grid_from_positions,
    membership_matrix,
    searchlight_rsa,
    sensor_neighbours,
    sensor_time_membership,
    sphere_neighbours,
)
from brainbridge.steps.contract import declare
from brainbridge.steps.model_inputs import model_inputs, open_model_store
from brainbridge.store import names as n
from brainbridge.store import open_store, provenance, write_store
from brainbridge.store.join import stimulus_average

log = logging.getLogger(__name__)

DEFAULTS = {
    "metric": "rsa-rdm=correlation-compare=spearman",
    "radius": 6.0,
    "sensor_radius": None,
    "window": 0.02,
    "step": 1,
    "n_permutations": 100,
}


def safe_name(text: str) -> str:
    """A file name from a user-named label: letters, digits, '.', '-', '_' only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._") or "layer"
    return cleaned[:100]


@declare(
    inputs={"brain": "brain store (epochs or responses)", "activations": "model store"},
    outputs={"store": "searchlight store", "maps": "folder of NIfTI maps or topomaps"},
    params={"dataset": "dataset name", "model": "model name"},
    optional_params={
        "searchlight": "alignment.searchlight settings",
        "layers": "layers to map (default: all)",
        "seed": "random seed",
    },
)
def searchlight(inputs: dict, outputs: dict, params: dict) -> None:
    """Searchlight maps (score, permutation p) for every layer; see the module doc."""
    cfg = {**DEFAULTS, **(params.get("searchlight") or {})}
    brain = open_store(inputs["brain"], load=True)
    if brain.attrs[n.KIND] not in ("epochs", "responses"):
        raise ValueError(
            f"{inputs['brain']}: searchlights need recordings (epochs or fMRI responses), not "
            f"a {brain.attrs[n.KIND]!r} store; leave this dataset out of the searchlight."
        )
    model = open_model_store(inputs["activations"])
    avg = stimulus_average(brain)
    stimuli = avg[n.STIMULUS].values
    models = model_inputs(model, params.get("layers"), stimuli, source=str(inputs["brain"]))
    metric = get_metric(cfg["metric"])
    fmri = brain.attrs[n.MODALITY] == "fmri"
    if n.POSITION not in brain.coords:
        raise ValueError(f"{inputs['brain']} has no 'position' coord: searchlights need it.")
    positions = np.asarray(brain[n.POSITION].values, dtype=np.float64)
    kwargs = {"n_permutations": int(cfg["n_permutations"]), "seed": int(params.get("seed", 0))}
    if fmri:
        neighbours = sphere_neighbours(positions, float(cfg["radius"]))
        member = membership_matrix(neighbours, len(positions))
        res = searchlight_rsa(avg.values, member, models, metric, **kwargs)
        dims, shape, coords = (n.VOXEL,), (len(positions),), {}
        extra = {"radius_mm": float(cfg["radius"])}
        coords[n.POSITION] = ((n.VOXEL, n.SPACE), positions)
        if n.REGION in brain.coords:
            coords[n.REGION] = (n.VOXEL, brain[n.REGION].values.astype(str))
    else:
        names = brain[n.CHANNEL].values.astype(str)
        radius = cfg.get("sensor_radius")
        neighbours = sensor_neighbours(names, positions, radius=radius)
        times = avg[n.TIME].values
        member, centres = sensor_time_membership(
            neighbours, times, float(cfg["window"]), int(cfg["step"])
        )
        patterns = avg.transpose(n.STIMULUS, n.CHANNEL, n.TIME).values.reshape(len(stimuli), -1)
        res = searchlight_rsa(patterns, member, models, metric, **kwargs)
        dims, shape = (n.CHANNEL, n.TIME), (len(names), len(centres))
        coords = {
            n.CHANNEL: names,
            n.TIME: times[centres],
            n.POSITION: ((n.CHANNEL, n.SPACE), positions),
        }
        extra = {
            "neighbours": "adjacency (MNE Delaunay)" if radius is None else f"within {radius}",
            "window_s": float(cfg["window"]),
            "step_samples": int(cfg["step"]),
            "neighbourhood_sizes": [int(len(nb)) for nb in neighbours],
        }
    full = (1, len(res.models), *shape)
    ds = xr.Dataset(
        {
            "score": ((n.METRIC, n.LAYER, *dims), res.score.reshape(full)),
            "p_value": ((n.METRIC, n.LAYER, *dims), res.p_value.reshape(full)),
        },
        coords={
            n.METRIC: np.array([metric.name], dtype=str),
            n.LAYER: np.array(res.models, dtype=str),
            **coords,
        },
        attrs={
            "dataset": params["dataset"],
            "model": params["model"],
            n.MODALITY: brain.attrs[n.MODALITY],
            "n_permutations": res.n_permutations,
            "n_stimuli": len(stimuli),
            "centres": int(member.shape[1]),
            "features_per_centre": [int(res.size.min()), int(res.size.max())],
            **extra,
        },
    )
    prov = provenance(inputs=inputs, config=params, seed=params.get("seed"), step="searchlight")
    write_store(ds, outputs["store"], kind="searchlight", provenance=prov)
    _write_maps(ds, Path(outputs["maps"]), fmri)


def _write_maps(ds: xr.Dataset, folder: Path, fmri: bool) -> None:
    """NIfTI score maps (fMRI) or peak-time topomaps (M/EEG), one file per layer; written to a
    hidden sibling folder and renamed into place when complete."""
    tmp = folder.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{folder.name}")
    tmp.mkdir(parents=True)
    try:
        if fmri:
            _nifti_maps(ds, tmp)
        else:
            from brainbridge.report.searchlight import topomap_png

            try:
                for layer in ds[n.LAYER].values:
                    (tmp / f"{safe_name(layer)}.png").write_bytes(topomap_png(ds, str(layer)))
            except (ValueError, RuntimeError) as err:  # co-located or missing positions
                log.warning("no topomaps: %s", err)
                (tmp / "README.txt").write_text(f"No topomaps: {err}\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _nifti_maps(ds: xr.Dataset, folder: Path) -> None:
    import nibabel as nib

    try:
        affine, ijk = grid_from_positions(ds[n.POSITION].values)
    except ValueError as err:
        log.warning("%s", err)
        (folder / "README.txt").write_text(f"No NIfTI maps: {err}\n", encoding="utf-8")
        return
    shape = tuple(int(v) for v in ijk.max(axis=0) + 1)
    for layer in ds[n.LAYER].values:
        volume = np.full(shape, np.nan, dtype=np.float32)
        volume[tuple(ijk.T)] = ds["score"].sel({n.LAYER: layer}).values[0]
        nib.save(nib.Nifti1Image(volume, affine), folder / f"{safe_name(layer)}.nii.gz")
