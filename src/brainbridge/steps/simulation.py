"""Steps of the embedded default: stimuli, network, activations and simulated recordings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from brainbridge.atomic import write_text
from brainbridge.steps.contract import declare
from brainbridge.steps.units import as_list

# Each step imports what it needs in its body: one module, several steps of different weight.

log = logging.getLogger(__name__)


@declare(
    outputs={"manifest": "stimulus manifest TSV (images beside it)"},
    params={"stimuli": "simulation.stimuli", "seed": "random seed"},
)
def simulate_stimuli(inputs: dict, outputs: dict, params: dict) -> None:
    """Procedural images and their manifest."""
    from brainbridge.simulate.stimuli import make_stimuli

    cfg = params["stimuli"]
    make_stimuli(
        Path(outputs["manifest"]).parent,
        categories=cfg["categories"],
        per_category=cfg["per_category"],
        image_size=cfg["image_size"],
        seed=params["seed"],
    )


@declare(
    inputs={"manifest": "stimulus manifest TSV"},
    outputs={"weights": "network checkpoint (.pt)"},
    params={
        "network": "simulation.network",
        "image": "image preprocessing (models.NAME.image)",
        "seed": "random seed",
    },
)
def train_simulation_network(inputs: dict, outputs: dict, params: dict) -> None:
    """Train the small CNN briefly on the stimulus categories."""
    from brainbridge.extract.stimuli import load_images, read_manifest
    from brainbridge.simulate.network import save_checkpoint, train_network

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


@declare(
    inputs={"manifest": "stimulus manifest TSV"},
    optional_inputs={"weights": "checkpoint file (default: params model.checkpoint)"},
    outputs={"store": "activations store"},
    params={"name": "model name", "model": "models.NAME (paths expanded)"},
    optional_params={"seed": "random seed"},
)
def extract(inputs: dict, outputs: dict, params: dict) -> None:
    """Activations of the chosen layers of a model for every stimulus of a manifest."""
    import torch

    from brainbridge.extract.models import MODEL_OPTIONS, load, resolve_checkpoint
    from brainbridge.extract.run import Inputs, extract_to_store
    from brainbridge.extract.stimuli import read_manifest
    from brainbridge.store import provenance

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


def _planted_activations(inputs: dict) -> tuple:
    """The activations of the planted layers, in manifest order, with stimuli and conditions."""
    from brainbridge.extract.stimuli import read_manifest
    from brainbridge.store import open_store

    activations = open_store(inputs["activations"], "activations", load=True)
    manifest = read_manifest(inputs["manifest"])
    stimuli = manifest["stimulus"].astype(str).tolist()
    conditions = manifest["category"].astype(str).tolist()
    return activations.sel(stimulus=stimuli), stimuli, conditions


SIMULATION_INPUTS = {
    "activations": "activations store of the planted layers (simulation network)",
    "manifest": "stimulus manifest TSV",
}


@declare(
    inputs=SIMULATION_INPUTS,
    outputs={
        "eeg_raw": "simulated raw EEG (.fif)",
        "eeg_events": "event table TSV",
        "truth": "planted truth of the EEG (JSON)",
    },
    params={"eeg": "simulation.eeg", "seed": "seed (the EEG uses seed + 1)"},
)
def simulate_eeg_recording(inputs: dict, outputs: dict, params: dict) -> None:
    """EEG driven by known layers in known time windows, and its planted truth as JSON."""
    from brainbridge.simulate.eeg import Window, simulate_eeg, write_eeg

    activations, stimuli, conditions = _planted_activations(inputs)
    seed, eeg_cfg = params["seed"], params["eeg"]
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
    truth = {
        "seed": seed,
        "eeg": {
            "dataset": eeg_cfg["dataset"],
            "windows": [w.__dict__ for w in windows],
            "snr": "variance across stimuli of the window's stimulus-specific signal at its "
            "centre / background noise variance, channel-averaged, single trial",
        },
    }
    write_text(json.dumps(truth, indent=2, default=_json_default), outputs["truth"])


@declare(
    inputs=SIMULATION_INPUTS,
    outputs={
        "bold": "BOLD runs (.nii.gz), one per run",
        "bold_events": "event TSVs, one per run",
        "atlas": "region atlas (.nii.gz)",
        "atlas_labels": "atlas label TSV",
        "truth": "planted truth of the fMRI (JSON)",
    },
    params={"fmri": "simulation.fmri", "seed": "seed (the fMRI uses seed + 2)"},
)
def simulate_fmri_recording(inputs: dict, outputs: dict, params: dict) -> None:
    """fMRI runs driven by known layers in known regions, and its planted truth as JSON."""
    from brainbridge.simulate.fmri import Region, simulate_fmri, write_fmri

    activations, stimuli, conditions = _planted_activations(inputs)
    seed, fmri_cfg = params["seed"], params["fmri"]
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
        bold_paths=[Path(p) for p in as_list(outputs["bold"])],
        event_paths=[Path(p) for p in as_list(outputs["bold_events"])],
        atlas_path=Path(outputs["atlas"]),
        labels_path=Path(outputs["atlas_labels"]),
    )
    log.info("fMRI: %d runs, %d regions", len(images), len(regions))
    truth = {
        "seed": seed,
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
