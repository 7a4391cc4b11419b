"""What the Snakemake rules compute from the config: path settings expanded, the inputs and
params of the ingest rules, the planted layers of the simulation. Rule files keep only rules.

Every function takes the config explicitly (no Snakemake here), so each is testable alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from brainbridge.config import expand_path

# Setting values that name something other than a file: never expanded.
NOT_PATHS = ("simulation",)
NOT_PATH_PREFIXES = ("package:",)

# The path settings of each kind of config section, as dotted keys (`*`: every item).
PATH_SETTINGS: dict[str, tuple[str, ...]] = {
    "model": ("checkpoint", "stimuli"),
    "fmri": (
        "regions.mask",
        "regions.atlas",
        "regions.atlas_labels",
        "regions.data_dir",
        "regions.rois.*",
        "bids.root",
        "bids.derivatives",
        "files.*",
        "event_files.*",
        "confound_files.*",
    ),
    "meeg": ("files.*", "events.file", "events.table", "bids.root", "channels.montage"),
    "rdm": ("rdms.*.file", "stimuli"),
}


def expand_paths(settings: dict, config: dict, keys: Iterable[str]) -> dict:
    """A copy of ``settings`` with the path settings at ``keys`` expanded (``{name}`` from
    ``config['paths']``); absent keys are skipped, the input is left unchanged."""

    def expand(value: object, parts: list[str]) -> object:
        if not parts:
            if not isinstance(value, str) or value in NOT_PATHS:
                return value
            return value if value.startswith(NOT_PATH_PREFIXES) else expand_path(value, config)
        head, rest = parts[0], parts[1:]
        if isinstance(value, dict):
            if head == "*":
                return {k: expand(v, rest) for k, v in value.items()}
            return {**value, head: expand(value[head], rest)} if head in value else value
        if isinstance(value, list) and head == "*":
            return [expand(v, rest) for v in value]
        return value

    out = settings
    for key in keys:
        out = expand(out, key.split("."))
    return out


def section_kind(settings: dict) -> str:
    """Which :data:`PATH_SETTINGS` apply to a dataset's settings."""
    if settings.get("source") == "rdm":
        return "rdm"
    return "fmri" if settings.get("modality") == "fmri" else "meeg"


def dataset_config(config: dict, dataset: str) -> dict:
    """A dataset's settings with its path settings expanded."""
    settings = config["datasets"][dataset]
    return expand_paths(settings, config, PATH_SETTINGS[section_kind(settings)])


def model_config(config: dict, model: str) -> dict:
    """A model's settings with its path settings expanded."""
    return expand_paths(config["models"][model], config, PATH_SETTINGS["model"])


def as_json(value: object) -> str:
    """A config subset as JSON with sorted keys (what a step receives as ``-p``)."""
    return json.dumps(value, sort_keys=True)


# ---------------------------------------------------------------- simulation


def merge_truth(paths: Iterable[str], out: str) -> None:
    """One planted-truth JSON from the per-modality ones (what recovery and the report read)."""
    from brainbridge.atomic import write_text

    truth: dict = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            truth.update(json.load(handle))
    write_text(json.dumps(truth, indent=2), out)


def planted_layers(config: dict, modality: str) -> list[str]:
    """The layers the simulation plants into its EEG windows or fMRI regions."""
    sim = config.get("simulation", {}).get(modality, {})
    items = sim.get("windows" if modality == "eeg" else "regions", [])
    return list(dict.fromkeys(item["layer"] for item in items))


# ---------------------------------------------------------------- M/EEG ingestion


def eeg_inputs(config: dict, dataset: str, sim_dir: str) -> dict:
    """The raw file and event table of a simulated M/EEG dataset."""
    source = config["datasets"][dataset]["source"]
    if source == "simulation":
        return {"raw": f"{sim_dir}/eeg/sim_raw.fif", "events": f"{sim_dir}/eeg/sim_events.tsv"}
    raise ValueError(f"dataset {dataset}: unsupported source {source!r}")


def meeg_files(config: dict, dataset: str) -> list[str]:
    """The recording files of a real M/EEG dataset (found in BIDS when the source is BIDS)."""
    ds = dataset_config(config, dataset)
    if ds["source"] == "bids":
        from brainbridge.ingest.meeg.bids import bids_files

        return bids_files(ds["bids"])
    return ds["files"]


def meeg_extra(config: dict, dataset: str) -> list[str]:
    """Event files and tables: inputs too, so that a change reruns the job."""
    settings = dataset_config(config, dataset)
    events = settings.get("events", {})
    montage = settings.get("channels", {}).get("montage", "")
    files = [montage] if Path(montage).suffix else []  # a montage file (not a built-in name)
    return [events[k] for k in ("file", "table") if k in events] + files


# ---------------------------------------------------------------- fMRI ingestion

FMRI_RAW_KEYS = {"bold": "files", "events": "event_files", "confounds": "confound_files"}
_BIDS_RUNS: dict[str, list] = {}


def fmri_bids_runs(config: dict, dataset: str) -> list:
    """The BIDS runs of an fMRI dataset (searched once per distinct setting)."""
    cfg = dataset_config(config, dataset)["bids"]
    key = as_json(cfg)
    if key not in _BIDS_RUNS:
        from brainbridge.ingest.fmri import find_bids_runs

        _BIDS_RUNS[key] = find_bids_runs(
            cfg["root"],
            cfg["subject"],
            task=cfg.get("task"),
            session=cfg.get("session"),
            runs=cfg.get("runs"),
            space=cfg.get("space"),
            derivatives=cfg.get("derivatives"),
        )
    return _BIDS_RUNS[key]


def fmri_region_files(config: dict, dataset: str) -> list[str]:
    """The region images and tables that are files (inputs, so that a change reruns the job)."""
    regions = dataset_config(config, dataset).get("regions", {})
    files = [regions[k] for k in ("mask", "atlas", "atlas_labels") if k in regions]
    files += list(regions.get("rois", {}).values())
    return [f for f in files if os.path.isfile(f)]


def fmri_inputs(config: dict, dataset: str, sim_dir: str) -> dict:
    """The named inputs of an fMRI dataset's ingestion (simulated, raw files or BIDS)."""
    ds = dataset_config(config, dataset)
    if ds["source"] == "simulation":
        runs = range(1, config.get("simulation", {}).get("fmri", {}).get("runs", 2) + 1)
        return {
            "bold": [f"{sim_dir}/fmri/run-{r}_bold.nii.gz" for r in runs],
            "events": [f"{sim_dir}/fmri/run-{r}_events.tsv" for r in runs],
            "atlas": f"{sim_dir}/fmri/atlas.nii.gz",
            "atlas_labels": f"{sim_dir}/fmri/atlas.tsv",
        }
    if ds["source"] == "raw":  # BOLD runs (files) + one events TSV each (+ confounds TSVs)
        inputs = {key: list(ds.get(cfg_key, [])) for key, cfg_key in FMRI_RAW_KEYS.items()}
    elif ds["source"] == "bids":
        runs = fmri_bids_runs(config, dataset)
        inputs = {
            "bold": [str(r.bold) for r in runs],
            "events": [str(r.events) for r in runs if r.events],
            "confounds": [str(r.confounds) for r in runs if r.confounds],
        }
    else:
        raise ValueError(f"dataset {dataset}: unsupported fMRI source {ds['source']!r}")
    return {**inputs, "region_files": fmri_region_files(config, dataset)}


def fmri_params(config: dict, dataset: str) -> dict:
    """The dataset's settings (paths expanded) plus the run labels and TRs found in BIDS."""
    ds = dataset_config(config, dataset)
    extra = {}
    if ds["source"] == "bids":
        runs = fmri_bids_runs(config, dataset)
        extra = {"run_labels": [r.label for r in runs], "run_tr": [r.tr for r in runs]}
    return {"name": dataset, **ds, **extra}
