"""Representational alignment (RSA, CKA, ...) per brain unit x layer, with statistics."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.align import (
    RDMVectors,
    RSAMetric,
    bootstrap_ci,
    get_metric,
    noise_ceiling_split_half,
    permutation_test,
)
from brainbridge.align.replicates import ReplicateMean, noise_ceiling_leave_one_out
from brainbridge.ingest.fmri.rdms import check_rdms
from brainbridge.report.tables import tidy_alignment
from brainbridge.steps.rdm_images import with_rdm_images
from brainbridge.steps.units import (
    brain_units,
    has_time,
    is_rdm_model,
    model_inputs,
    open_model_store,
    write_result,
)
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.join import split_half_average, stimulus_average

log = logging.getLogger(__name__)

STATS = ("score", "p_value", "null_mean", "null_std", "ci_low", "ci_high")


def align(inputs: dict, outputs: dict, params: dict) -> None:
    """Every metric for every (unit, layer): score, permutation p, bootstrap CI, noise ceiling."""
    brain = open_store(inputs["brain"], load=True)
    activations = open_model_store(inputs["activations"])
    if brain.attrs[n.KIND] == "rdms":
        align_rdms(brain, activations, inputs, outputs, params)
        return
    modality = brain.attrs[n.MODALITY]
    cfg = params["alignment"]
    seed = params.get("seed", 0)
    avg = stimulus_average(brain)
    stimuli = avg[n.STIMULUS].values
    region = brain[n.REGION].values.astype(str) if modality == "fmri" else None
    units = brain_units(avg, modality, region)
    halves = split_half_average(brain)
    half_units = [brain_units(h, modality, region) for h in halves] if halves else None
    features = model_inputs(activations, params.get("layers"), stimuli, source=str(inputs["brain"]))
    layers = list(features)
    metrics = [get_metric(m) for m in cfg["metrics"]]
    if is_rdm_model(features):
        metrics = rsa_metrics(cfg["metrics"], f"model store {inputs['activations']}")

    n_time = avg.sizes.get(n.TIME, 0) if has_time(modality) else 0
    shape = (len(metrics), len(units), len(layers)) + ((n_time,) if n_time else ())
    out = {k: np.full(shape, np.nan) for k in STATS}
    ceiling = {k: np.full(shape[:2] + shape[3:], np.nan) for k in ("lower", "upper")}
    for i, metric in enumerate(metrics):
        for j, (unit, patterns) in enumerate(units.items()):
            for k, layer in enumerate(layers):
                stats = _statistics(metric, patterns, features[layer], cfg, seed)
                for key, value in stats.items():
                    out[key][i, j, k] = value
                log.info(
                    "%s %s %s: %.3f", metric.name, unit, layer, float(np.nanmax(stats["score"]))
                )
            if half_units is not None:
                a, b = half_units[0][unit], half_units[1][unit]
                nc = noise_ceiling_split_half(a, b, metric)
                ceiling["lower"][i, j], ceiling["upper"][i, j] = nc.lower, nc.upper

    times = avg[n.TIME].values if n_time else None
    ds = _result(out, ceiling, [m.name for m in metrics], list(units), layers, times)
    groups = _conditions(brain, stimuli)
    ds, note = with_rdm_images(ds, units, features, metrics, stimuli, times, groups)
    _write(ds, inputs, outputs, params, modality=modality, **note, **_design(brain, avg))


def _conditions(brain: xr.Dataset, stimuli: np.ndarray) -> np.ndarray | None:
    """The condition of each stimulus (its first trial's), or None without conditions."""
    if n.CONDITION not in brain.coords:
        return None
    table = pd.Series(brain[n.CONDITION].values.astype(str), index=brain[n.STIMULUS].values)
    first = table[~table.index.duplicated()]
    return first.reindex(np.asarray(stimuli).astype(str)).fillna("").to_numpy()


def _design(brain: xr.Dataset, avg: xr.DataArray) -> dict:
    """Counts for the methods text of the report: trials, stimuli, repetitions."""
    counts = pd.Series(brain[n.STIMULUS].values.astype(str)).value_counts()
    return {
        "n_trials": int(brain.sizes[n.TRIAL]),
        "n_stimuli": int(avg.sizes[n.STIMULUS]),
        "repetitions_min": int(counts.min()),
        "repetitions_max": int(counts.max()),
        "noise_ceiling": "split-half: metric between the averages of odd and even presentations "
        "(Spearman-Brown corrected: lower = rho, upper = sqrt(rho))",
    }


def _statistics(metric, brain, model, cfg: dict, seed: int) -> dict[str, np.ndarray]:
    """Score, permutation p and null, bootstrap CI of one metric for one (unit, layer)."""
    perm = permutation_test(metric, brain, model, n_permutations=cfg["n_permutations"], seed=seed)
    boot = bootstrap_ci(
        metric, brain, model, n_bootstrap=cfg["n_bootstrap"], ci=cfg["ci"], seed=seed
    )
    values = (perm.observed, perm.p_value, perm.null_mean, perm.null_std, boot.lower, boot.upper)
    return dict(zip(STATS, values))


def _result(out, ceiling, metrics, units, layers, times) -> xr.Dataset:
    dims = (n.METRIC, n.REGION, n.LAYER) + ((n.TIME,) if times is not None else ())
    coords = {n.METRIC: metrics, n.REGION: units, n.LAYER: layers}
    coords = {k: np.asarray(v, dtype=str) for k, v in coords.items()}
    if times is not None:
        coords[n.TIME] = times
    data = {key: (dims, value) for key, value in out.items()}
    data["noise_ceiling_lower"] = (dims[:2] + dims[3:], ceiling["lower"])
    data["noise_ceiling_upper"] = (dims[:2] + dims[3:], ceiling["upper"])
    return xr.Dataset(data, coords=coords)


def _write(ds: xr.Dataset, inputs: dict, outputs: dict, params: dict, **attrs) -> None:
    cfg = params["alignment"]
    write_result(
        ds,
        kind="alignment",
        step="align",
        inputs=inputs,
        outputs=outputs,
        params=params,
        tidy=tidy_alignment,
        n_permutations=cfg["n_permutations"],
        n_bootstrap=cfg["n_bootstrap"],
        ci=cfg["ci"],
        **attrs,
    )


def rsa_metrics(names: list[str], source: str) -> list:
    """The RSA metrics of ``names`` (RDMs have no patterns: CKA and the other pattern metrics
    are skipped, logged)."""
    metrics = [get_metric(m) for m in names]
    skipped = [m.name for m in metrics if not isinstance(m, RSAMetric)]
    if skipped:
        log.warning("%s holds RDMs, not patterns: skipping %s (needs patterns)", source, skipped)
    metrics = [m for m in metrics if isinstance(m, RSAMetric)]
    if not metrics:
        raise ValueError(
            f"{source} holds RDMs, which only RSA metrics can compare; "
            f"alignment.metrics lists only {skipped}: add e.g. "
            "rsa-rdm=correlation-compare=spearman."
        )
    return metrics


def align_rdms(
    brain: xr.Dataset, activations: xr.Dataset, inputs: dict, outputs: dict, params: dict
) -> None:
    """Brain RDMs (region x replicate) vs each layer's RDM: RSA metrics only.

    Score = mean over replicates of the similarity with each replicate's RDM, with the
    leave-one-out noise ceiling of that mean (rsatoolbox's conventions, see
    :mod:`brainbridge.align.replicates`); the permutation test relabels the model's stimuli,
    the bootstrap resamples stimuli, both shared by all replicates.
    """
    source = str(inputs["brain"])
    check_rdms(brain, source)
    cfg = params["alignment"]
    seed = params.get("seed", 0)
    stimuli = brain[n.STIMULUS].values
    features = model_inputs(activations, params.get("layers"), stimuli, source=source)
    layers = list(features)
    metrics = rsa_metrics(cfg["metrics"], source)
    regions = [str(r) for r in brain[n.REGION].values]
    rdms = {r: RDMVectors.from_square(brain["rdm"].sel({n.REGION: r}).values) for r in regions}
    shape = (len(metrics), len(regions), len(layers))
    out = {k: np.full(shape, np.nan) for k in STATS}
    ceiling = {k: np.full(shape[:2], np.nan) for k in ("lower", "upper")}
    for i, metric in enumerate(metrics):
        mean_metric = ReplicateMean(metric)
        for j, region in enumerate(regions):
            nc = noise_ceiling_leave_one_out(rdms[region], metric)
            ceiling["lower"][i, j], ceiling["upper"][i, j] = nc.lower, nc.upper
            for k, layer in enumerate(layers):
                stats = _statistics(mean_metric, rdms[region], features[layer], cfg, seed)
                for key, value in stats.items():
                    out[key][i, j, k] = value
                log.info(
                    "%s %s %s: %.3f (p %.4f; noise ceiling %.3f-%.3f)",
                    metric.name,
                    region,
                    layer,
                    float(stats["score"]),
                    float(stats["p_value"]),
                    nc.lower,
                    nc.upper,
                )
    ds = _result(out, ceiling, [m.name for m in metrics], regions, layers, None)
    ds, note = with_rdm_images(ds, rdms, features, metrics, stimuli)
    _write(
        ds,
        inputs,
        outputs,
        params,
        modality=brain.attrs[n.MODALITY],
        brain_kind="rdms",
        dissimilarity=brain.attrs[n.DISSIMILARITY],
        n_replicates=int(brain.sizes[n.REPLICATE]),
        score="mean over replicates of the similarity with each replicate's RDM",
        n_stimuli=len(stimuli),
        noise_ceiling="leave-one-replicate-out: lower = each replicate vs the pooled RDM of the "
        "others, upper = vs the pooled RDM of all (mean over replicates)",
        **note,
    )
