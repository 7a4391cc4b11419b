"""Config loading and validation: JSON schema first, then the cross-references it cannot see."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from brainbridge.align import list_metrics

SCHEMA_PATH = Path(str(resources.files("brainbridge") / "schemas" / "config.schema.yaml"))


class ConfigError(ValueError):
    """The config breaks the schema or refers to something that does not exist."""


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _schema_errors(config: dict, source: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(load_schema())
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        hint = err.schema.get("description") if isinstance(err.schema, dict) else None
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            hint = f"allowed keys here: {allowed}" if allowed else hint
        elif err.validator == "enum":
            hint = f"choose one of {err.validator_value}"
        messages.append(
            f"{source}: key '{_key(err.absolute_path)}': {err.message}"
            + (f" ({hint})" if hint else "")
        )
    return messages


def _reference_errors(config: dict, source: str) -> list[str]:
    messages = []
    sim = config.get("simulation", {})
    for name, ds in config.get("datasets", {}).items():
        if ds.get("source") == "simulation" and not sim.get("enabled"):
            messages.append(
                f"{source}: key 'datasets.{name}.source' is 'simulation' but "
                "'simulation.enabled' is not true; enable the simulation."
            )
        if ds.get("modality") == "fmri" and "tr" not in ds and ds.get("source") not in RDM_OR_BIDS:
            messages.append(
                f"{source}: key 'datasets.{name}.tr' is required for fMRI outside BIDS "
                "(BIDS runs take it from their sidecars)."
            )
    for name, model in config.get("models", {}).items():
        for key in ("checkpoint", "stimuli"):
            if model.get(key) == "simulation" and not sim.get("enabled"):
                messages.append(
                    f"{source}: key 'models.{name}.{key}' is 'simulation' but the "
                    "simulation is not enabled."
                )
    known = list_metrics()
    for i, metric in enumerate(config.get("alignment", {}).get("metrics", [])):
        if metric not in known:
            messages.append(
                f"{source}: key 'alignment.metrics.{i}': unknown metric {metric!r}; "
                f"choose from {known}."
            )
    for kind, key in (("eeg", "windows"), ("fmri", "regions")):
        names = [u.get("name") for u in sim.get(kind, {}).get(key, [])]
        if len(names) != len(set(names)):
            messages.append(f"{source}: key 'simulation.{kind}.{key}': names must be unique.")
    for i, w in enumerate(sim.get("eeg", {}).get("windows", [])):
        if w.get("tmax", 0) <= w.get("tmin", 0):
            messages.append(f"{source}: key 'simulation.eeg.windows.{i}': tmax must exceed tmin.")
    return messages


RDM_OR_BIDS = ("bids", "rdm")  # fMRI sources that need no `tr`


def _rdm_errors(config: dict, source: str) -> list[str]:
    """Brain RDM datasets (source rdm) and the `rdm` / `decode` keys of fMRI responses."""
    messages = []
    rdm_datasets = []
    for name, ds in config.get("datasets", {}).items():
        key = f"{source}: key 'datasets.{name}"
        if ds.get("source") == "rdm":
            rdm_datasets.append(name)
            if ds.get("modality") != "fmri":
                messages.append(f"{key}.modality': source rdm datasets have modality fmri.")
            regions = [e.get("region") for e in ds.get("rdms", [])]
            if len(regions) != len(set(regions)):
                messages.append(f"{key}.rdms': region names must be unique, got {regions}.")
        for extra in ("rdm", "decode"):
            if extra in ds and (ds.get("modality") != "fmri" or ds.get("source") == "rdm"):
                messages.append(
                    f"{key}.{extra}' applies to fMRI responses (modality fmri, trials); "
                    "remove it from this dataset."
                )
    metrics = config.get("alignment", {}).get("metrics", [])
    if rdm_datasets and config.get("models") and not any(m.startswith("rsa") for m in metrics):
        messages.append(
            f"{source}: key 'alignment.metrics': datasets {rdm_datasets} hold brain RDMs, "
            "which only RSA metrics compare; add e.g. rsa-rdm=correlation-compare=spearman."
        )
    return messages


def _tokenizer_errors(config: dict, source: str) -> list[str]:
    """Tokenizers: their datasets exist and are M/EEG; their settings can work."""
    from brainbridge.tokenize.config import TokenizerConfigError, resolve

    messages = []
    datasets = config.get("datasets", {})
    skip = ("datasets", "tokenize", "align", "resources")
    for name, tok in (config.get("tokenizers") or {}).items():
        key = f"{source}: key 'tokenizers.{name}"
        for field in ("datasets", "tokenize"):
            for d in tok.get(field, []):
                if d not in datasets:
                    messages.append(
                        f"{key}.{field}': unknown dataset {d!r}; define it under datasets."
                    )
                elif datasets[d].get("modality") not in ("eeg", "meg"):
                    messages.append(f"{key}.{field}': dataset {d!r} is not M/EEG.")
        try:
            resolve({k: v for k, v in tok.items() if k not in skip}, name)
        except TokenizerConfigError as err:
            messages.append(f"{source}: {err}")
    return messages


def expand_path(value: str, config: dict) -> str:
    """Replace ``{name}`` with ``config['paths'][name]`` (e.g. ``{data}/eegbci/S001``)."""
    paths = config.get("paths", {})
    try:
        return value.format(**paths)
    except KeyError as err:
        raise ConfigError(
            f"path {value!r} uses {{{err.args[0]}}}, which is not defined under 'paths'; "
            f"defined: {sorted(paths)}."
        ) from err


def check_config(config: dict, source: str = "config") -> dict:
    """Raise :class:`ConfigError` listing every problem, each naming its key and the fix."""
    messages = _schema_errors(config, source)
    if not messages:
        messages = _reference_errors(config, source) + _rdm_errors(config, source)
        messages += _tokenizer_errors(config, source)
    if messages:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(messages))
    return config


def load_config(path: str | Path) -> dict:
    """Read and check a YAML config file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist.")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err
    return check_config(copy.deepcopy(config), str(path))
