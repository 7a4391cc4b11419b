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
from brainbridge.align.crossnobis import CrossnobisRSAMetric, crossnobis_from_trials
from brainbridge.align.group import group_alignment, group_tests
from brainbridge.align.replicates import (
    ReplicateMean,
    noise_ceiling_leave_one_out,
    replicate_bootstrap,
)
from brainbridge.align.stats import interval_from_replicates
from brainbridge.ingest.fmri.rdms import check_rdms
from brainbridge.report.tables import GROUP_VARS, tidy_alignment
from brainbridge.steps.contract import declare
from brainbridge.steps.model_inputs import is_rdm_model, model_inputs, open_model_store
from brainbridge.steps.rdm_images import with_rdm_images
from brainbridge.steps.units import SCALP, brain_units, has_time, write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.join import split_half_average, stimulus_average

log = logging.getLogger(__name__)

STATS = ("score", "p_value", "null_mean", "null_std", "ci_low", "ci_high")


@declare(
    inputs={"brain": "brain store (epochs, responses or rdms)", "activations": "activations store"},
    outputs={"store": "alignment store", "table": "tidy alignment TSV"},
    params={
        "dataset": "dataset name",
        "model": "model name",
        "alignment": "alignment settings (metrics, n_permutations, n_bootstrap, ci)",
    },
    optional_params={"layers": "layers to compare (default: all)", "seed": "random seed"},
)
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
    crossnobis = {}
    if any(isinstance(m, CrossnobisRSAMetric) for m in metrics):
        crossnobis = crossnobis_units(brain, modality, region, stimuli)
    for i, metric in enumerate(metrics):
        for j, (unit, patterns) in enumerate(units.items()):
            if isinstance(metric, CrossnobisRSAMetric):
                patterns = crossnobis[unit]  # RDMs of the trials, cross-validated
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


def crossnobis_units(brain: xr.Dataset, modality: str, region, stimuli) -> dict[str, RDMVectors]:
    """Crossnobis RDMs per unit (fMRI region; M/EEG scalp, per time point) of the trials."""
    data = brain["data"]
    if has_time(modality):
        data = data.transpose(n.TRIAL, n.CHANNEL, n.TIME)
    values = np.asarray(data.values, dtype=np.float64)
    labels = brain[n.STIMULUS].values.astype(str)
    runs = brain[n.RUN].values if n.RUN in brain.coords else None
    if modality != "fmri":
        return {SCALP: crossnobis_from_trials(values, labels, stimuli, runs)}
    return {
        str(r): crossnobis_from_trials(values[:, region == r], labels, stimuli, runs)
        for r in dict.fromkeys(region.tolist())
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
    groups = brain[n.SUBJECT].values.astype(str) if n.SUBJECT in brain.coords else None
    n_groups = len(set(groups.tolist())) if groups is not None else 0
    over = cfg.get("bootstrap", "stimuli")
    shape = (len(metrics), len(regions), len(layers))
    out = {k: np.full(shape, np.nan) for k in STATS}
    group = {k: np.full(shape, np.nan) for k in GROUP_VARS}
    ceiling = {k: np.full(shape[:2], np.nan) for k in ("lower", "upper")}
    for i, metric in enumerate(metrics):
        mean_metric = ReplicateMean(metric)
        for j, region in enumerate(regions):
            nc = noise_ceiling_leave_one_out(rdms[region], metric, groups=groups)
            ceiling["lower"][i, j], ceiling["upper"][i, j] = nc.lower, nc.upper
            for k, layer in enumerate(layers):
                stats = _statistics(mean_metric, rdms[region], features[layer], cfg, seed)
                if over != "stimuli":
                    boot = replicate_bootstrap(
                        metric,
                        rdms[region],
                        features[layer],
                        over=over,
                        groups=groups,
                        n_bootstrap=cfg["n_bootstrap"],
                        seed=seed,
                    )
                    stats["ci_low"], stats["ci_high"] = interval_from_replicates(
                        boot, stats["score"], cfg["ci"]
                    )
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
            if n_groups >= 2:
                effects = [
                    subject_effects(metric, rdms[region], features[layer], groups, cfg, seed)
                    for layer in layers
                ]
                res = group_tests(
                    np.stack(effects, axis=1), n_flips=cfg.get("n_flips", 10000), seed=seed
                )
                for key, value in _group_values(res).items():
                    group[key][i, j] = value
    ds = _result(out, ceiling, [m.name for m in metrics], regions, layers, None)
    if n_groups >= 2:
        for key, value in group.items():
            ds[key] = ((n.METRIC, n.REGION, n.LAYER), value)
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
        **note,
        bootstrap=over,
        noise_ceiling=(
            "leave one subject out (replicates grouped by subject)"
            if groups is not None
            else "leave one replicate out"
        ),
        **({"n_subjects": n_groups} if n_groups >= 2 else {}),
    )


def _group_values(res) -> dict[str, np.ndarray]:
    return {
        "n_subjects": np.full(res.t.shape, float(res.n_subjects)),
        "group_t": res.t,
        "group_p_ttest": res.p_ttest,
        "group_p_signflip": res.p_signflip,
        "group_p_fdr": res.p_fdr,
        "group_p_cluster": res.p_cluster,
    }


def subject_effects(metric, rdms: RDMVectors, model, groups, cfg: dict, seed: int) -> np.ndarray:
    """Per subject: mean over its RDMs of (score - mean of its permutation null), sorted by
    subject label."""
    n_stim = rdms.n_stimuli
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(n_stim), (cfg["n_permutations"], 1)), axis=1)
    score = np.asarray(metric.score(rdms, model))
    chance = metric.permutation_scores(rdms, model, perms).mean(axis=-1)
    effect = score - chance
    return np.array([effect[groups == g].mean() for g in sorted(set(groups.tolist()))])


@declare(
    inputs={"alignment": "alignment stores of the group's datasets (-i alignment+=PATH)"},
    outputs={"store": "group alignment store", "table": "tidy group TSV"},
    params={
        "group": "group name",
        "datasets": "alignment.groups.NAME (in the order of the inputs)",
        "model": "model name",
        "alignment": "alignment settings (n_flips, ci)",
    },
    optional_params={"seed": "random seed"},
)
def align_group(inputs: dict, outputs: dict, params: dict) -> None:
    """Alignment stores of the datasets of one group (one subject each) -> group store + table.

    ``params``: ``group`` (its name), ``datasets`` (in the order of ``inputs['alignment']``),
    ``model``, ``alignment`` (``n_flips``, ``ci``), ``seed``.
    """
    paths = inputs["alignment"] if isinstance(inputs["alignment"], list) else [inputs["alignment"]]
    stores = [open_store(p, "alignment", load=True) for p in paths]
    cfg = params["alignment"]
    ds = group_alignment(
        stores,
        params["datasets"],
        n_flips=cfg.get("n_flips", 10000),
        seed=params.get("seed", 0),
        ci=cfg["ci"],
    )
    log.info("group %s: %d subjects", params["group"], len(stores))
    write_result(
        ds,
        kind="alignment",
        step="align-group",
        inputs=inputs,
        outputs=outputs,
        params={**params, "dataset": params["group"]},
        tidy=tidy_alignment,
        modality=str(stores[0].attrs.get(n.MODALITY, "")),
        group=params["group"],
    )
