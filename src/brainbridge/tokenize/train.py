"""Training a tokenizer on brain stores: streamed windows, seeded, resumable, logged."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from brainbridge.tokenize.checkpoint import load_state, save_model, save_state
from brainbridge.tokenize.config import resolve
from brainbridge.tokenize.data import Source, WindowStream, open_source, scan
from brainbridge.tokenize.health import COLUMNS, HealthMeter
from brainbridge.tokenize.models import build, set_generator

log = logging.getLogger(__name__)


@dataclass
class Trained:
    model: torch.nn.Module
    meta: dict  # what config.json holds
    health: pd.DataFrame


def device_of(cfg: dict) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available); CPU never needs CUDA."""
    want = str(cfg.get("device", "cpu"))
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was asked for but no GPU is visible; use cpu or auto.")
    return torch.device(want)


def train(
    stores: list[str | os.PathLike],
    settings: dict,
    *,
    name: str = "tokenizer",
    seed: int = 0,
    resume: str | os.PathLike | None = None,
    sources: list[Source] | None = None,
    inputs: dict | None = None,
) -> Trained:
    """Train a tokenizer on windows of ``stores``; every check runs before any training.

    With ``resume`` (a folder), the state after each epoch is saved there and a rerun starts
    after the last complete epoch (same result as an uninterrupted run). ``inputs`` (e.g. the
    stores' checksums) is recorded, and a resume state made from other inputs is refused.
    """
    cfg = resolve(settings, name)
    sources = sources or [open_source(p, cfg, name=name) for p in stores]
    found = scan(sources, name)
    device = device_of(cfg)
    torch.manual_seed(seed)
    model = build(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(cfg["learning_rate"]))
    meta = {
        "name": name,
        "config": cfg,
        "scales": found.scales,
        "seed": seed,
        "trained_on": [str(s.path) for s in sources],
        "inputs": dict(inputs or {}),
    }
    history: list[dict] = []
    start = 0
    if resume is not None:
        state = load_state(resume, model, optimizer, cfg, meta["inputs"])
        if state is not None:
            start, history = int(state["epoch"]), list(state["history"])
            log.info("%s: resuming after epoch %d from %s", name, start, resume)
    stream = WindowStream(
        sources, found.scales, batch_size=int(cfg["batch_size"]), seed=seed,
        max_windows=int(cfg["max_windows"]), name=name,
    )  # fmt: skip
    sensors = [s.sensors().to(device) for s in sources]
    levels = int(cfg.get("levels", 1))
    for epoch in range(start, int(cfg["epochs"])):
        set_generator(model, torch.Generator().manual_seed(seed * 7919 + epoch))
        stream.set_epoch(epoch)
        meter = HealthMeter(int(cfg["codebook_size"]), levels)
        model.train()
        for x, i in stream:
            out = model(x.to(device), sensors[i])
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            optimizer.step()
            meter.update(out, len(x))
        rows = meter.rows(epoch + 1)
        history.extend(rows)
        for r in rows:
            log.info(
                "%s epoch %d/%d level %d: loss %.4f, utilisation %.2f, perplexity %.1f, "
                "dead codes %d, r(time) %.3f, r(spectrum) %.3f",
                name, epoch + 1, cfg["epochs"], r["level"], r["loss"], r["utilisation"],
                r["perplexity"], r["dead_codes"], r["r_time"], r["r_spectrum"],
            )  # fmt: skip
        if resume is not None:
            save_state(resume, model, optimizer, {**meta, "epoch": epoch + 1, "history": history})
    model.eval()
    set_generator(model, None)
    health = pd.DataFrame(history, columns=list(COLUMNS))
    return Trained(model.cpu(), {**meta, "epochs_done": int(cfg["epochs"])}, health)


def write_trained(trained: Trained, weights: str | os.PathLike, config: str | os.PathLike) -> None:
    save_model(trained.model, trained.meta, Path(weights), Path(config))
