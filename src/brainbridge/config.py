"""Config loading and validation: JSON schema first, then the cross-references it cannot see."""

from __future__ import annotations

import copy
import difflib
import functools
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from brainbridge.align import list_metrics
from brainbridge.safety import PATTERNS, name_problem

SCHEMA_PATH = Path(str(resources.files("brainbridge") / "schemas" / "config.schema.yaml"))


class ConfigError(ValueError):
    """The config breaks the schema or refers to something that does not exist."""


def load_schema() -> dict:
    """The config schema (a fresh copy; parsed once per process)."""
    return copy.deepcopy(_parsed_schema())


@functools.cache
def _parsed_schema() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=loader)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


NAMED_SECTIONS = ("datasets", "models", "tokenizers")  # their keys become file names


def _unknown_key_message(err, source: str) -> list[str]:
    """One message per misspelt key, with the nearest allowed key (difflib) as the fix."""
    allowed = sorted(err.schema.get("properties", {}))
    extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
    messages = []
    for key in extra:
        near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        fix = f"did you mean '{near[0]}'? " if near else ""
        messages.append(
            f"{source}: key '{_key([*err.absolute_path, key])}': unknown key; {fix}"
            f"(allowed keys here: {allowed})"
        )
    return messages


def _pattern_message(err, source: str, kinds: dict) -> str | None:
    """A name that breaks its ``$defs`` pattern: the key, the rule and an allowed spelling."""
    kind = kinds.get(err.schema.get("pattern")) if isinstance(err.schema, dict) else None
    if kind is None or kind not in PATTERNS:
        return None
    path = list(err.absolute_path)
    if "propertyNames" in err.relative_schema_path:  # the name is a key of this mapping
        path.append(err.instance)
    return f"{source}: key '{_key(path)}': {name_problem(err.instance, kind)}."


def _schema_errors(config: dict, source: str) -> list[str]:
    schema = load_schema()
    kinds = {d.get("pattern"): k for k, d in schema["$defs"].items() if "pattern" in d}
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        if (
            err.validator == "additionalProperties"
            and err.schema.get("additionalProperties") is False
        ):
            messages += _unknown_key_message(err, source)
            continue
        if err.validator in ("pattern", "maxLength"):
            path = list(err.absolute_path)
            named = len(path) == 1 and path[0] in NAMED_SECTIONS
            if named and "propertyNames" in err.relative_schema_path:
                continue  # reported by _name_errors
            message = _pattern_message(err, source, kinds)
            if message:
                messages.append(message)
                continue
        hint = err.schema.get("description") if isinstance(err.schema, dict) else None
        if err.validator == "enum":
            hint = f"choose one of {err.validator_value}"
        messages.append(
            f"{source}: key '{_key(err.absolute_path)}': {err.message}"
            + (f" ({hint})" if hint else "")
        )
    return messages


def _name_errors(config: dict, source: str) -> list[str]:
    """Names of datasets, models and tokenizers: the pattern of :mod:`brainbridge.safety`."""
    messages = []
    for section in NAMED_SECTIONS:
        names = config.get(section)
        for name in names if isinstance(names, dict) else []:
            problem = name_problem(name, "name")
            if problem:
                messages.append(f"{source}: key '{section}.{name}': {problem}.")
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
        if "identify" in ds and ds.get("source") == "rdm":
            messages.append(f"{key}.identify' needs trials; remove it from this RDM dataset.")
        if "generalize" in ds and ds.get("modality") == "fmri":
            messages.append(
                f"{key}.generalize' applies to M/EEG epochs (time-resolved); remove it or "
                "use identify for fMRI."
            )
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
    skip = ("datasets", "tokenize", "align", "resources", "probe")
    for name, tok in (config.get("tokenizers") or {}).items():
        key = f"{source}: key 'tokenizers.{name}"
        coded = tok.get("tokenize") or tok.get("datasets", [])
        for d in (tok.get("probe") or {}).get("datasets", []):
            if d not in coded:
                messages.append(
                    f"{key}.probe.datasets': {d!r} is not tokenized by {name!r} (it codes "
                    f"{coded}); add it to tokenizers.{name}.tokenize."
                )
            elif datasets.get(d, {}).get("store") == "continuous":
                messages.append(
                    f"{key}.probe.datasets': {d!r} is a continuous store; a probe needs "
                    "labelled trials (an epochs dataset)."
                )
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


def _partition_errors(config: dict, source: str) -> list[str]:
    """Variance partitioning: each set of layers is extracted by at least one network."""
    import fnmatch

    part = config.get("partition") or {}
    if not part.get("enabled", False):
        return []
    if not part.get("spaces"):
        return [
            f"{source}: key 'partition.spaces' is empty while partitioning is enabled; list "
            "sets of 2 or 3 layers, e.g. [[conv2, conv3]], or set partition.enabled: false."
        ]
    networks = {
        name: model.get("layers") or []
        for name, model in (config.get("models") or {}).items()
        if model.get("source") != "rdm"
    }
    messages = []
    for i, layers in enumerate(part["spaces"]):
        if not any(
            all(any(fnmatch.fnmatchcase(layer, p) for p in patterns) for layer in layers)
            for patterns in networks.values()
        ):
            messages.append(
                f"{source}: key 'partition.spaces.{i}': no model extracts all of {layers} "
                f"(layers per model: {networks}); name layers of one model's 'layers'."
            )
    return messages


def _trf_errors(config: dict, source: str) -> list[str]:
    """TRF datasets are continuous M/EEG recordings; feature files do not shadow models."""
    messages = []
    trf = config.get("trf") or {}
    datasets = config.get("datasets", {})
    named = [(f"datasets.{i}", d) for i, d in enumerate(trf.get("datasets", []))]
    named += [
        (f"features.{k}.dataset", v.get("dataset")) for k, v in trf.get("features", {}).items()
    ]
    for key, name in named:
        ds = datasets.get(name)
        if ds is None:
            messages.append(f"{source}: key 'trf.{key}': unknown dataset {name!r}.")
        elif ds.get("modality") not in ("eeg", "meg") or ds.get("store") != "continuous":
            messages.append(
                f"{source}: key 'trf.{key}': dataset {name!r} is not a continuous M/EEG "
                "recording; set its 'store: continuous' (one run)."
            )
    for name in trf.get("features", {}):
        if name in config.get("models", {}):
            messages.append(
                f"{source}: key 'trf.features.{name}': a model has this name too; rename the "
                "feature file's entry (it names the outputs trf/DATASET__NAME)."
            )
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
    messages = _name_errors(config, source) + _schema_errors(config, source)
    if not messages:
        messages = _reference_errors(config, source) + _rdm_errors(config, source)
        messages += _tokenizer_errors(config, source) + _trf_errors(config, source)
        messages += _partition_errors(config, source)
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
