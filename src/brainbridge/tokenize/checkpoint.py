"""Tokenizer checkpoints: weights in safetensors, settings in JSON, nothing else (no pickle).

A trained tokenizer is a folder holding ``model.safetensors`` and ``config.json``. Resume state
(weights, optimizer moments, history) lives in numbered epoch folders under a resume folder,
each written to a hidden temporary folder and renamed into place when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from brainbridge.atomic import atomic_path
from brainbridge.tokenize.config import arch, resolve
from brainbridge.tokenize.models import build


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded, or that does not fit the settings or the data."""


def _tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def save_model(
    model: torch.nn.Module, meta: dict, weights: str | os.PathLike, config: str | os.PathLike
) -> None:
    """Write the weights (safetensors) and the settings (JSON), each atomically."""
    with atomic_path(weights) as tmp:
        save_file(_tensors(model), str(tmp), metadata={"format": "brainbridge-tokenizer"})
    with atomic_path(config) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


def load_model(
    weights: str | os.PathLike, config: str | os.PathLike
) -> tuple[torch.nn.Module, dict]:
    """The tokenizer of a checkpoint (eval mode) and its settings."""
    weights, config = Path(weights), Path(config)
    for path in (weights, config):
        if not path.exists():
            raise CheckpointError(f"tokenizer checkpoint file {path} does not exist; train it.")
    try:
        meta = json.loads(config.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{config} is not valid JSON ({err}); retrain the tokenizer."
        ) from err
    cfg = resolve(meta["config"], meta.get("name", "tokenizer"))
    model = build(cfg)
    try:
        state = load_file(str(weights))
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{weights} is not a safetensors file ({err}).") from err
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"{weights} does not fit the settings in {config} (the two files come from "
            f"different trainings?): {str(err).splitlines()[0]} Retrain the tokenizer."
        ) from err
    model.eval()
    return model, meta


def save_state(
    folder: str | os.PathLike, model: torch.nn.Module, optimizer: torch.optim.Optimizer, meta: dict
) -> Path:
    """Resume state after an epoch: ``folder/epoch-NNNN`` (renamed into place when complete);
    older epoch folders are removed afterwards."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"epoch-{int(meta['epoch']):04d}"
    tmp = folder / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        tensors = {f"model/{k}": v for k, v in _tensors(model).items()}
        opt = optimizer.state_dict()
        for idx, state in opt["state"].items():
            for key, value in state.items():
                tensors[f"optim/{idx}/{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
        save_file(tensors, str(tmp / "state.safetensors"))
        meta = {**meta, "param_groups": opt["param_groups"]}
        (tmp / "state.json").write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    for old in folder.glob("epoch-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_state(
    folder: str | os.PathLike,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg: dict,
    inputs: dict | None = None,
) -> dict | None:
    """Restore the last complete epoch of ``folder`` into model and optimizer; its metadata."""
    folder = Path(folder)
    done = sorted(p for p in folder.glob("epoch-*") if (p / "state.json").exists())
    if not done:
        return None
    last = done[-1]
    meta = json.loads((last / "state.json").read_text(encoding="utf-8"))
    free = ("device", "epochs")  # a longer training may resume a shorter one
    saved = {k: v for k, v in meta["config"].items() if k not in free}
    current = {k: v for k, v in cfg.items() if k not in free}
    if saved != current:
        changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        raise CheckpointError(
            f"resume state {last} was trained with other settings (changed: {changed}); "
            f"delete {folder} to train from scratch, or restore those settings."
        )
    if inputs is not None and meta.get("inputs", {}) != inputs:
        raise CheckpointError(
            f"resume state {last} was trained on other data ({sorted(meta.get('inputs', {}))}); "
            f"delete {folder} to train from scratch on the current stores."
        )
    tensors = load_file(str(last / "state.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model/")})
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, idx, name = key.split("/", 2)
            state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta


def model_arch(meta: dict) -> dict:
    return arch(resolve(meta["config"], meta.get("name", "tokenizer")))
