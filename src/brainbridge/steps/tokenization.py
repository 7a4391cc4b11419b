"""Tokenizer steps: train on brain stores, tokenize a dataset, tokens as a brain store."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import torch

from brainbridge.atomic import write_table
from brainbridge.steps.contract import declare
from brainbridge.steps.units import as_list, write_brain
from brainbridge.store import names as n
from brainbridge.store import open_store, provenance, write_store
from brainbridge.store.provenance import checksum
from brainbridge.tokenize import load_model, open_source, tokenize, train
from brainbridge.tokenize.config import resolve
from brainbridge.tokenize.data import release_freed_blocks
from brainbridge.tokenize.tokens import as_brain
from brainbridge.tokenize.train import write_trained

log = logging.getLogger(__name__)


@declare(
    inputs={"stores": "M/EEG brain stores it trains on (-i stores+=PATH)"},
    outputs={
        "weights": "model.safetensors",
        "config": "config.json (architecture, sfreq, sensors)",
        "health": "codebook health per epoch (TSV)",
    },
    params={"name": "tokenizer name", "tokenizer": "tokenizers.NAME (model and training keys)"},
    optional_params={
        "datasets": "names of the training datasets",
        "seed": "random seed",
        "resume": "folder of the resume state (kept until the checkpoint is written)",
    },
)
def train_tokenizer(inputs: dict, outputs: dict, params: dict) -> None:
    """Brain stores -> tokenizer checkpoint (safetensors + JSON) and codebook health TSV.

    Resume state goes to ``params['resume']`` after each epoch (a rerun after a kill starts
    from there) and is removed once the checkpoint is written.
    """
    torch.set_num_threads(int(params.get("threads", 1)))
    release_freed_blocks()  # memory bounded by a block, whatever the recording length
    name = params["name"]
    stores = as_list(inputs["stores"])
    cfg = resolve(params["tokenizer"], name)
    sources = [open_source(p, cfg, name=name) for p in stores]  # checks before any write
    resume = params.get("resume")
    trained = train(
        stores,
        cfg,
        name=name,
        seed=int(params.get("seed", 0)),
        resume=resume,
        sources=sources,
        inputs={Path(p).name: checksum(p) for p in stores},
    )
    trained.meta["datasets"] = params.get("datasets", [])
    write_table(trained.health, outputs["health"])
    write_trained(trained, outputs["weights"], outputs["config"])
    if resume and Path(resume).exists():
        shutil.rmtree(resume, ignore_errors=True)


@declare(
    inputs={"weights": "model.safetensors", "config": "config.json", "brain": "M/EEG brain store"},
    outputs={"store": "tokens store"},
    params={"dataset": "dataset name"},
    optional_params={"tokenizer": "tokenizer name"},
)
def tokenize_dataset(inputs: dict, outputs: dict, params: dict) -> None:
    """A brain store -> a ``tokens`` store (codes, codebooks, the checkpoint's SHA-256)."""
    torch.set_num_threads(int(params.get("threads", 1)))
    release_freed_blocks()
    model, meta = load_model(inputs["weights"], inputs["config"])
    name = meta.get("name", params.get("tokenizer", "tokenizer"))
    src = open_source(inputs["brain"], meta["config"], name=name)
    ds = tokenize(model, meta, src)
    brain = open_store(inputs["brain"])
    ds.attrs.update(
        {
            "dataset": params["dataset"],
            n.MODALITY: brain.attrs.get(n.MODALITY, "eeg"),
            n.CHECKPOINT_SHA256: checksum(inputs["weights"]),
        }
    )
    prov = provenance(inputs=inputs, config=params, seed=meta.get("seed"), step="tokenize")
    write_store(ds, outputs["store"], kind="tokens", provenance=prov)
    log.info("%s: %s codes from %s", name, dict(ds["codes"].sizes), inputs["brain"])


@declare(
    inputs={"tokens": "tokens store of trials"},
    outputs={"store": "epochs store of code vectors (DATASET@TOKENIZER)"},
    params={"name": "brain store name"},
)
def token_brain(inputs: dict, outputs: dict, params: dict) -> None:
    """A ``tokens`` store of trials -> an ``epochs`` store of code vectors per token time."""
    tokens = open_store(inputs["tokens"], "tokens", load=True)
    ds = as_brain(tokens, modality=str(tokens.attrs.get(n.MODALITY, "eeg")))
    ds.attrs[n.CHECKPOINT_SHA256] = tokens.attrs[n.CHECKPOINT_SHA256]
    write_brain(
        ds, kind="epochs", step="token-brain", inputs=inputs, outputs=outputs, params=params
    )


PROBE_DEFAULTS = {
    "by": "condition",
    "n_folds": 5,
    "n_permutations": 1000,
    "alpha": 1.0,
    "tmin": 0.0,
}


@declare(
    inputs={
        "weights": "model.safetensors",
        "config": "config.json",
        "tokens": "tokens store of the dataset's trials",
        "brain": "the dataset's epochs store (band power, the untrained tokenizer)",
    },
    outputs={"table": "probe accuracies and permutation p-values (TSV)"},
    params={
        "dataset": "dataset name",
        "tokenizer": "tokenizer name",
        "probe": "tokenizers.NAME.probe (by, n_folds, n_permutations, alpha, tmin, tmax)",
    },
    optional_params={"seed": "random seed"},
)
def probe_tokens(inputs: dict, outputs: dict, params: dict) -> None:
    """A cross-validated linear probe of trial labels from the tokens, from log band power of
    the same trials and window, and from the tokens of the same tokenizer untrained (random
    codebook), each with a permutation p-value: one row per feature set."""
    import numpy as np
    import pandas as pd

    from brainbridge.tokenize.probe import (
        band_power,
        linear_probe,
        random_codebook,
        token_features,
    )

    torch.set_num_threads(int(params.get("threads", 1)))
    cfg = {**PROBE_DEFAULTS, **(params.get("probe") or {})}
    name, seed = params["tokenizer"], int(params.get("seed", 0))
    brain = open_store(inputs["brain"], load=True)
    tokens = open_store(inputs["tokens"], "tokens", load=True)
    by = str(cfg["by"])
    if by not in brain.coords or n.TRIAL not in tokens.dims:
        raise ValueError(
            f"{inputs['brain']}: no trial coordinate {by!r} to probe (tokenizers.{name}.probe.by); "
            "choose a trial label of the dataset (e.g. condition or stimulus)."
        )
    same = tokens.sizes[n.TRIAL] == brain.sizes[n.TRIAL] and all(
        np.array_equal(tokens[k].values, brain[k].values)
        for k in (n.ONSET, by)
        if k in tokens.coords and k in brain.coords
    )
    if not same:
        raise ValueError(
            f"{inputs['tokens']} does not code the trials of {inputs['brain']}; rerun tokenize."
        )
    labels = brain[by].values.astype(str)
    tmin, tmax = cfg.get("tmin"), cfg.get("tmax")
    t = brain[n.TIME].values
    span = np.ones(len(t), bool)
    if tmin is not None:
        span &= t >= float(tmin)
    if tmax is not None:
        span &= t <= float(tmax)
    sfreq = float(brain.attrs[n.SFREQ])
    sets = {"band power (mu, beta)": band_power(brain["data"].values[..., span], sfreq)}
    for key, x in token_features(tokens, tmin, tmax).items():
        sets[f"tokens: {key}"] = x
    _, meta = load_model(inputs["weights"], inputs["config"])
    src = open_source(inputs["brain"], meta["config"], name=name)
    untrained = tokenize(random_codebook(meta, [src], seed), meta, src)
    for key, x in token_features(untrained, tmin, tmax).items():
        sets[f"random codebook: {key}"] = x
    rows = []
    for features, x in sets.items():
        r = linear_probe(
            x,
            labels,
            n_folds=int(cfg["n_folds"]),
            n_permutations=int(cfg["n_permutations"]),
            seed=seed,
            alpha=float(cfg["alpha"]),
        )
        rows.append(
            {
                "tokenizer": name,
                "dataset": params["dataset"],
                "by": by,
                "features": features,
                "accuracy": r.accuracy,
                "p_value": r.p_value,
                "null_mean": r.null_mean,
                "n_trials": r.n_trials,
                "n_features": r.n_features,
                "n_permutations": int(cfg["n_permutations"]),
            }
        )
        log.info("%s on %s, %s: accuracy %.3f (p %.4f)", name, params["dataset"], features,
                 r.accuracy, r.p_value)  # fmt: skip
    write_table(pd.DataFrame(rows), outputs["table"])
