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
