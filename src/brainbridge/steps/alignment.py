"""Representational alignment (RSA, CKA, ...) per brain unit x layer, with statistics."""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from brainbridge.align import bootstrap_ci, get_metric, noise_ceiling_split_half, permutation_test
from brainbridge.report.tables import tidy_alignment
from brainbridge.steps.units import brain_units, has_time, write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.join import layer_matrix, split_half_average, stimulus_average

log = logging.getLogger(__name__)

STATS = ("score", "p_value", "null_mean", "null_std", "ci_low", "ci_high")


def align(inputs: dict, outputs: dict, params: dict) -> None:
    """Every metric for every (unit, layer): score, permutation p, bootstrap CI, noise ceiling."""
    brain = open_store(inputs["brain"], load=True)
    activations = open_store(inputs["activations"], "activations")
    modality = brain.attrs[n.MODALITY]
    cfg = params["alignment"]
    seed = params.get("seed", 0)
    avg = stimulus_average(brain)
    stimuli = avg[n.STIMULUS].values
    region = brain[n.REGION].values.astype(str) if modality == "fmri" else None
    units = brain_units(avg, modality, region)
    halves = split_half_average(brain)
    half_units = [brain_units(h, modality, region) for h in halves] if halves else None
    layers = params.get("layers") or [str(v) for v in activations.data_vars]
    features = {
        layer: layer_matrix(activations, layer, stimuli, source=str(inputs["brain"]))
        for layer in layers
    }
    metrics = [get_metric(m) for m in cfg["metrics"]]

    n_time = avg.sizes.get(n.TIME, 0) if has_time(modality) else 0
    shape = (len(metrics), len(units), len(layers)) + ((n_time,) if n_time else ())
    out = {k: np.full(shape, np.nan) for k in STATS}
    ceiling = {k: np.full(shape[:2] + shape[3:], np.nan) for k in ("lower", "upper")}
    for i, metric in enumerate(metrics):
        for j, (unit, patterns) in enumerate(units.items()):
            for k, layer in enumerate(layers):
                perm = permutation_test(
                    metric,
                    patterns,
                    features[layer],
                    n_permutations=cfg["n_permutations"],
                    seed=seed,
                )
                boot = bootstrap_ci(
                    metric,
                    patterns,
                    features[layer],
                    n_bootstrap=cfg["n_bootstrap"],
                    ci=cfg["ci"],
                    seed=seed,
                )
                for key, value in zip(
                    STATS,
                    (
                        perm.observed,
                        perm.p_value,
                        perm.null_mean,
                        perm.null_std,
                        boot.lower,
                        boot.upper,
                    ),
                ):
                    out[key][i, j, k] = value
                log.info(
                    "%s %s %s: %.3f", metric.name, unit, layer, float(np.nanmax(perm.observed))
                )
            if half_units is not None:
                a, b = half_units[0][unit], half_units[1][unit]
                nc = noise_ceiling_split_half(a, b, metric)
                ceiling["lower"][i, j], ceiling["upper"][i, j] = nc.lower, nc.upper

    dims = (n.METRIC, n.REGION, n.LAYER) + ((n.TIME,) if n_time else ())
    coords = {n.METRIC: [m.name for m in metrics], n.REGION: list(units), n.LAYER: layers}
    if n_time:
        coords[n.TIME] = avg[n.TIME].values
    data = {key: (dims, value) for key, value in out.items()}
    data["noise_ceiling_lower"] = (dims[:2] + dims[3:], ceiling["lower"])
    data["noise_ceiling_upper"] = (dims[:2] + dims[3:], ceiling["upper"])
    ds = xr.Dataset(
        data, coords={k: np.asarray(v, dtype=str) if k != n.TIME else v for k, v in coords.items()}
    )
    write_result(
        ds,
        kind="alignment",
        step="align",
        inputs=inputs,
        outputs=outputs,
        params=params,
        tidy=tidy_alignment,
        modality=modality,
        n_permutations=cfg["n_permutations"],
        n_bootstrap=cfg["n_bootstrap"],
        ci=cfg["ci"],
    )
