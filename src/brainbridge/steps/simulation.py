"""Steps of the embedded default: stimuli, network, activations and simulated recordings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from brainbridge.atomic import write_text
from brainbridge.extract.models import MODEL_OPTIONS, load, resolve_checkpoint
from brainbridge.extract.run import Inputs, extract_to_store
from brainbridge.extract.stimuli import load_images, read_manifest
from brainbridge.simulate.eeg import Window, simulate_eeg, write_eeg
from brainbridge.simulate.fmri import Region, simulate_fmri, write_fmri
from brainbridge.simulate.network import save_checkpoint, train_network
from brainbridge.simulate.stimuli import make_stimuli
from brainbridge.store import open_store, provenance

log = logging.getLogger(__name__)


def simulate_stimuli(inputs: dict, outputs: dict, params: dict) -> None:
    """Procedural images and their manifest."""
    cfg = params["stimuli"]
    make_stimuli(
        Path(outputs["manifest"]).parent,
        categories=cfg["categories"],
        per_category=cfg["per_category"],
        image_size=cfg["image_size"],
        seed=params["seed"],
    )


def train_simulation_network(inputs: dict, outputs: dict, params: dict) -> None:
    """Train the small CNN briefly on the stimulus categories."""
    manifest = read_manifest(inputs["manifest"])
    image = params["image"]
    x = load_images(
        manifest["path"].tolist(), size=image["size"], mean=image["mean"], std=image["std"]
    )
    classes = sorted(manifest["category"].unique())
    y = manifest["category"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    net, accuracy = train_network(
        x.numpy(),
        y,
        n_classes=len(classes),
        epochs=params["network"]["epochs"],
        learning_rate=params["network"]["learning_rate"],
        seed=params["seed"],
    )
    log.info("network trained: accuracy %.2f after %d epochs", accuracy[-1], len(accuracy))
    save_checkpoint(
        net,
        outputs["weights"],
        classes=classes,
        meta={"train_accuracy": float(accuracy[-1]), "seed": params["seed"]},
    )


def extract(inputs: dict, outputs: dict, params: dict) -> None:
    """Activations of the chosen layers of a model for every stimulus of a manifest."""
    torch.set_num_threads(int(params.get("threads", 1)))
    model_cfg = params["model"]
    weights = inputs.get("weights") or model_cfg["checkpoint"]
    options = {k: v for k, v in model_cfg.items() if k in MODEL_OPTIONS}
    loaded = load(model_cfg["source"], weights, **options)
    manifest = read_manifest(inputs["manifest"], model_cfg.get("columns"), kind=loaded.modality)
    extract_to_store(
        loaded,
        manifest,
        outputs["store"],
        layers=model_cfg["layers"],
        inputs=Inputs(
            image=model_cfg.get("image") or {},
            text=model_cfg.get("text") or {},
            audio=model_cfg.get("audio") or {},
        ),
        pooling=model_cfg.get("pooling", "flatten"),
        batch_size=model_cfg.get("batch_size", 64),
        dtype=model_cfg.get("dtype", "float32"),
        reduction=model_cfg.get("reduction"),
        seed=int(params.get("seed") or 0),
        model_name=params["name"],
        provenance=provenance(
            inputs={**inputs, "weights": str(resolve_checkpoint(weights))},
            config=params,
            seed=params.get("seed"),
            step="extract",
        ),
    )


def simulate_recordings(inputs: dict, outputs: dict, params: dict) -> None:
    """EEG and fMRI driven by known layers, and the planted truth as JSON."""
    activations = open_store(inputs["activations"], "activations", load=True)
    manifest = read_manifest(inputs["manifest"])
    stimuli = manifest["stimulus"].astype(str).tolist()
    conditions = manifest["category"].astype(str).tolist()
    activations = activations.sel(stimulus=stimuli)
    seed = params["seed"]
    eeg_cfg, fmri_cfg = params["eeg"], params["fmri"]

    windows = [Window(**w) for w in eeg_cfg["windows"]]
    raw, table = simulate_eeg(
        activations,
        stimuli,
        conditions,
        windows,
        sfreq=eeg_cfg["sfreq"],
        repetitions=eeg_cfg["repetitions"],
        soa=tuple(eeg_cfg["soa"]),
        dipoles_per_window=eeg_cfg["dipoles_per_window"],
        noise_dipoles=eeg_cfg["noise_dipoles"],
        seed=seed + 1,
    )
    write_eeg(raw, table, Path(outputs["eeg_raw"]), Path(outputs["eeg_events"]))
    log.info("EEG: %d channels, %.0f s", len(raw.ch_names) - 1, raw.times[-1])

    regions = [Region(**r) for r in fmri_cfg["regions"]]
    images, events, atlas, labels = simulate_fmri(
        activations,
        stimuli,
        conditions,
        regions,
        tr=fmri_cfg["tr"],
        runs=fmri_cfg["runs"],
        soa=tuple(fmri_cfg["soa"]),
        seed=seed + 2,
    )
    write_fmri(
        images,
        events,
        atlas,
        labels,
        bold_paths=[Path(p) for p in outputs["bold"]],
        event_paths=[Path(p) for p in outputs["bold_events"]],
        atlas_path=Path(outputs["atlas"]),
        labels_path=Path(outputs["atlas_labels"]),
    )
    log.info("fMRI: %d runs, %d regions", len(images), len(regions))

    truth = {
        "seed": seed,
        "eeg": {
            "dataset": eeg_cfg["dataset"],
            "windows": [w.__dict__ for w in windows],
            "snr": "variance across stimuli of the window's stimulus-specific signal at its "
            "centre / background noise variance, channel-averaged, single trial",
        },
        "fmri": {
            "dataset": fmri_cfg["dataset"],
            "regions": {r.name: {"layer": r.layer, "snr": r.snr} for r in regions},
            "snr": "variance across stimuli of single-trial response amplitudes / "
            "trial-to-trial amplitude variance",
        },
    }
    write_text(json.dumps(truth, indent=2, default=_json_default), outputs["truth"])


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
