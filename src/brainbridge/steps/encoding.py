"""Cross-validated ridge encoding of brain responses from each layer, with its statistics."""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from brainbridge.encode.backend import numerics, set_torch_threads
from brainbridge.encode.ceiling import DEFINITIONS, UNITS, noise_ceiling, normalise
from brainbridge.encode.cv import cv_scores, fit_folds, make_encoding_folds, n_averaged
from brainbridge.encode.significance import (
    PERMUTATION_SCHEME,
    bootstrap_summary,
    permutation_test,
)
from brainbridge.report.tables import tidy_encoding
from brainbridge.steps.contract import declare
from brainbridge.steps.units import SCALP, write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.join import layer_matrix, store_layers

log = logging.getLogger(__name__)

#: defaults of the ``encoding`` settings this step reads (the schema holds the same)
DEFAULTS = {
    "n_folds": 5,
    "scoring": "pearson",
    "backend": "auto",
    "groups": "auto",
    "average_repetitions": "both",
    "n_permutations": 200,
    "correction": "max",
    "n_bootstrap": 200,
    "ci": 0.95,
    "ceiling": "ncsnr",
}


@declare(
    inputs={"brain": "brain store (epochs or responses)", "activations": "activations store"},
    outputs={"store": "encoding store", "table": "tidy encoding TSV"},
    params={
        "dataset": "dataset name",
        "model": "model name",
        "encoding": "encoding settings (alphas, n_folds, scoring, backend, groups, "
        "average_repetitions, n_permutations, correction, n_bootstrap, ci, ceiling)",
    },
    optional_params={"layers": "layers to encode from (default: all)", "seed": "random seed"},
)
def encode(inputs: dict, outputs: dict, params: dict) -> None:
    """Per layer: ridge from layer features to every brain target, scored out of fold, with
    permutation p-values, bootstrap intervals of region summaries and noise ceilings."""
    set_torch_threads(int(params.get("threads", 1)))  # torch is imported only if used
    cfg = {**DEFAULTS, **params["encoding"]}
    seed = int(params.get("seed", 0) or 0)
    brain = open_store(inputs["brain"], load=True)
    activations = open_store(inputs["activations"], "activations")
    modality = brain.attrs[n.MODALITY]
    data = brain["data"]
    target_dims = data.dims[1:]
    target_shape = data.shape[1:]
    trial_stimulus = brain[n.STIMULUS].values.astype(str)
    stimuli, stim_index = np.unique(trial_stimulus, return_inverse=True)
    run = brain[n.RUN].values if n.RUN in brain.coords else None
    design = make_encoding_folds(
        trial_stimulus,
        run,
        groups=cfg["groups"],
        n_folds=cfg["n_folds"],
        seed=seed,
        source=f"brain store {inputs['brain']}",
    )
    layers = store_layers(activations, params.get("layers"))
    xs = {
        layer: layer_matrix(activations, layer, stimuli, source=str(inputs["brain"]))
        for layer in layers
    }  # every layer checked before any fit
    y = data.values.reshape(len(trial_stimulus), -1).astype(np.float64)
    summary, units = _summary_matrix(brain, data, modality)
    average = cfg["average_repetitions"]
    n_avg = n_averaged(stim_index, average)
    onset = brain[n.ONSET].values if n.ONSET in brain.coords else None
    ceil = noise_ceiling(
        y, stim_index, n_avg=n_avg, scoring=cfg["scoring"], method=cfg["ceiling"], order=onset
    )
    stats: dict[str, list[np.ndarray]] = {}
    for layer in layers:
        cv = fit_folds(
            xs[layer],
            y,
            stim_index,
            design.folds,
            np.asarray(cfg["alphas"], dtype=float),
            average=average,
            backend=cfg["backend"],
        )
        score = cv_scores(cv.folds, cfg["scoring"])
        row = {
            "score": score,
            "alpha": np.median(np.stack([f.alpha for f in cv.folds]), axis=0),
            "summary": score @ summary,
        }
        if cfg["n_permutations"]:
            sig = permutation_test(
                cv,
                cfg["scoring"],
                summary,
                n_permutations=cfg["n_permutations"],
                correction=cfg["correction"],
                seed=seed,
            )
            row |= {
                "p_value": sig.p_value,
                "p_corrected": sig.p_corrected,
                "summary_p_value": sig.summary_p_value,
            }
        if cfg["n_bootstrap"]:
            low, high = bootstrap_summary(
                cv.folds,
                cfg["scoring"],
                summary,
                n_bootstrap=cfg["n_bootstrap"],
                ci=cfg["ci"],
                seed=seed,
            )
            row |= {"summary_ci_low": low, "summary_ci_high": high}
        for key, value in row.items():
            stats.setdefault(key, []).append(value)
        log.info(
            "layer %s: mean %s %.3f over %d targets",
            layer,
            cfg["scoring"],
            float(np.mean(score)),
            y.shape[1],
        )
    ds = _encoding_dataset(
        layers, target_dims, target_shape, data, units, stats, ceil.ceiling, ceil.ncsnr, summary
    )
    ds.attrs.update(
        _stat_attrs(cfg, design, n_avg, ceil.method, bool(np.isfinite(ceil.ncsnr).any()))
    )
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
        **numerics(cfg["backend"]),  # backend, device and dtype the ridge runs with
    )


def _summary_matrix(brain: xr.Dataset, data: xr.DataArray, modality: str):
    """(targets x units) weights of the region summaries, and the units' coords.

    fMRI: the mean over the voxels of each region; M/EEG: the mean over channels per time.
    """
    n_targets = int(np.prod(data.shape[1:]))
    if modality == "fmri":
        region = brain[n.REGION].values.astype(str)
        names = list(dict.fromkeys(region.tolist()))
        onehot = (region[:, None] == np.array(names)[None, :]).astype(np.float64)
        return onehot / onehot.sum(0), {"region": names}
    n_time = data.sizes[n.TIME]
    per_time = np.tile(np.eye(n_time), (n_targets // n_time, 1))  # (channel*time, time)
    return per_time / per_time.sum(0), {"region": [SCALP], "time": data[n.TIME].values}


def _encoding_dataset(
    layers, target_dims, target_shape, data, units, stats, ceiling, ncsnr, summary
) -> xr.Dataset:
    dims = (n.LAYER, *target_dims)
    coords = {n.LAYER: np.array(layers, dtype=str)}
    for dim in target_dims:
        if dim in data.coords:
            coords[dim] = data[dim].values
    timed = "time" in units
    unit_dims = (n.REGION, n.TIME) if timed else (n.REGION,)
    unit_shape = (1, len(units["time"])) if timed else (len(units["region"]),)

    def targets(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32).reshape(*np.shape(a)[:-1], *target_shape)

    def unit(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32).reshape(*np.shape(a)[:-1], *unit_shape)

    variables = {}
    for key in ("score", "alpha", "p_value", "p_corrected"):
        if key in stats:
            variables[key] = (dims, targets(np.stack(stats[key])))
    score = np.stack(stats["score"])
    variables["ceiling"] = (target_dims, targets(ceiling))
    variables["ncsnr"] = (target_dims, targets(ncsnr))
    variables["score_normalised"] = (dims, targets(normalise(score, ceiling)))
    for key in ("summary", "summary_p_value", "summary_ci_low", "summary_ci_high"):
        if key in stats:
            variables[key] = ((n.LAYER, *unit_dims), unit(np.stack(stats[key])))
    finite = np.isfinite(ceiling)
    mean_ceiling = (np.where(finite, ceiling, 0.0) @ summary) / (finite @ summary)
    mean_ceiling = np.where((finite @ summary) > 0, mean_ceiling, np.nan)
    variables["summary_ceiling"] = (unit_dims, unit(mean_ceiling))
    variables["summary_normalised"] = (
        (n.LAYER, *unit_dims),
        unit(normalise(np.stack(stats["summary"]), mean_ceiling)),
    )
    ds = xr.Dataset(variables, coords=coords)
    ds = ds.assign_coords(region=np.array(units["region"], dtype=str))
    if timed:
        ds = ds.assign_coords(time=np.asarray(units["time"], dtype=np.float64))
    else:
        ds = ds.assign_coords(voxel_region=(target_dims[0], _voxel_regions(summary, units)))
    return ds


def _voxel_regions(summary: np.ndarray, units: dict) -> np.ndarray:
    return np.array(units["region"], dtype=str)[summary.argmax(1)]


def _stat_attrs(cfg: dict, design, n_avg: float, method: str, has_ceiling: bool) -> dict:
    attrs = {
        "cv_groups": design.groups,
        "cv_groups_setting": str(cfg["groups"]),
        "cv_n_groups": int(design.n_groups),
        "average_repetitions": str(cfg["average_repetitions"]),
        "alpha_selection": "per target, efficient leave-one-out inside each training fold",
        "score_aggregate": "mean over test folds of each fold's score",
        "n_permutations": int(cfg["n_permutations"]),
        "n_bootstrap": int(cfg["n_bootstrap"]),
        "ci": float(cfg["ci"]),
        "ceiling_method": method if has_ceiling else "none",
        "ceiling_definition": (
            f"{DEFINITIONS[method]}; {UNITS[cfg['scoring']]}; n_avg = {n_avg:.3g}; region "
            "summaries: mean ceiling of the region's targets, summary_normalised = summary / "
            "summary_ceiling; score_normalised = score / ceiling"
            if has_ceiling
            else "no stimulus was presented more than once: no ceiling (NaN)"
        ),
        "n_avg": float(n_avg),
    }
    if cfg["n_permutations"]:
        attrs |= {
            "permutation_scheme": PERMUTATION_SCHEME,
            "correction": str(cfg["correction"]),
            "correction_family": "all targets of a layer (channels x time points, or voxels); "
            "summary_p_value uncorrected (the report applies BH-FDR over a heatmap's cells)",
        }
    if cfg["n_bootstrap"]:
        attrs["bootstrap_scheme"] = (
            f"percentile {cfg['ci']:.0%} interval of the summary over {cfg['n_bootstrap']} "
            "resamples of the held-out stimuli with replacement within each test fold"
        )
    return attrs
