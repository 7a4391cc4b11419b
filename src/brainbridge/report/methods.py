"""A short methods paragraph per analysis, written from the result stores' attrs and provenance."""

from __future__ import annotations

import xarray as xr

from brainbridge.report.escape import escape

__all__ = ["alignment_methods", "encoding_methods"]


def _config(ds: xr.Dataset) -> dict:
    prov = ds.attrs.get("provenance")
    return (prov.get("config") or {}) if isinstance(prov, dict) else {}


def _a(ds: xr.Dataset, key: str, default: object = "?") -> str:
    """An attr as escaped text."""
    return escape(str(ds.attrs.get(key, default)))


def _metrics(ds: xr.Dataset) -> str:
    return ", ".join(f"<code>{escape(str(m))}</code>" for m in ds["metric"].values)


def alignment_methods(ds: xr.Dataset) -> str:
    """What was compared, on how many trials and stimuli, and how it was tested."""
    a = ds.attrs
    dataset, model = escape(str(a.get("dataset", "?"))), escape(str(a.get("model", "?")))
    if a.get("brain_kind") == "rdms":
        data = (
            f"the precomputed RDMs of {dataset} ({_a(ds, 'n_replicates')} replicates, "
            f"{_a(ds, 'n_stimuli')} stimuli; dissimilarity: "
            f"{escape(str(a.get('dissimilarity', 'unknown')))}); the score is the "
            f"{escape(str(a.get('score', 'mean over replicates')))}"
        )
    else:
        reps = (a.get("repetitions_min"), a.get("repetitions_max"))
        shown = escape(f"{reps[0]}" if reps[0] == reps[1] else f"{reps[0]}-{reps[1]}")
        timed = " at every time point" if "time" in ds["score"].dims else " per region"
        data = (
            f"{_a(ds, 'n_trials')} trials of {dataset} averaged per stimulus "
            f"({_a(ds, 'n_stimuli')} stimuli, each shown {shown} times){timed}"
        )
    text = (
        f'<p class="methods"><strong>Methods.</strong> {model} vs {data}, by {_metrics(ds)}. '
        f"One-sided permutation test with {_a(ds, 'n_permutations')} relabellings of the "
        f"model's stimuli (p = (1 + #null &ge; observed) / (1 + permutations)); "
        f"{round(100 * float(a.get('ci', 0.95)))}% percentile bootstrap intervals from "
        f"{_a(ds, 'n_bootstrap')} resamples of the stimuli with replacement. Noise ceiling: "
        f"{escape(str(a.get('noise_ceiling', 'not computed')))}. Seed "
        f"{escape(str(_config(ds).get('seed', '?')))}.</p>"
    )
    return text


def encoding_methods(ds: xr.Dataset) -> str:
    """Folds, penalties, scoring, statistics and ceiling of a cross-validated encoding model."""
    cfg = _config(ds).get("encoding") or {}
    a = ds.attrs
    folds = escape(str(a.get("n_folds", cfg.get("n_folds", "?"))))
    alphas = cfg.get("alphas")
    grid = f"{len(alphas)} penalties from {min(alphas):g} to {max(alphas):g}" if alphas else "?"
    groups = {
        "run": "grouped by run (runs sharing a stimulus kept together)",
        "stimulus": "grouped by stimulus",
        "none": "over the stimulus list",
    }.get(str(a.get("cv_groups", "")), "over stimuli")
    averaging = {
        "both": "responses averaged per stimulus for fitting and scoring",
        "train": "fitted on stimulus means, scored on single trials",
        "test": "fitted on single trials, scored on stimulus means",
        "none": "fitted and scored on single trials",
    }.get(str(a.get("average_repetitions", "")), "responses averaged per stimulus")
    text = (
        f'<p class="methods"><strong>Methods.</strong> Ridge regression from each layer of '
        f"{escape(str(a.get('model', '?')))} to every target of "
        f"{escape(str(a.get('dataset', '?')))}, {folds}-fold cross-validation "
        f"{escape(groups)} ({escape(averaging)}; a stimulus' repetitions never straddle train "
        f"and test), penalty per target chosen among {escape(grid)} by leave-one-out "
        f"cross-validation inside each training fold; score: "
        f"{escape(str(a.get('scoring', '?')))} between predicted and held-out responses, "
        "averaged over folds."
    )
    if a.get("permutation_scheme"):
        text += (
            f" Significance: {int(a.get('n_permutations', 0))} permutations, "
            f"{escape(str(a['permutation_scheme']))}; correction over targets: "
            f"{escape(str(a.get('correction', '?')))} "
            f"({escape(str(a.get('correction_family', '')))})."
        )
    if a.get("bootstrap_scheme"):
        text += f" Intervals: {escape(str(a['bootstrap_scheme']))}."
    if a.get("ceiling_definition"):
        text += f" Noise ceiling: {escape(str(a['ceiling_definition']))}."
    return text + "</p>"
