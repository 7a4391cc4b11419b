"""Model sources: where a network's architecture and weights come from (all local)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from brainbridge.simulate.network import load_simnet

SOURCES = ("simnet",)


def load_model(source: str, checkpoint: str | Path) -> nn.Module:
    """Load a model in eval mode; nothing is downloaded."""
    checkpoint = Path(checkpoint)
    if not checkpoint.exists():
        raise FileNotFoundError(
            f"weight file {checkpoint} does not exist; set models.<name>.checkpoint to a "
            "local file (nothing is downloaded at run time)."
        )
    if source == "simnet":
        return load_simnet(checkpoint)
    raise ValueError(f"unknown model source {source!r}; choose from {SOURCES}.")
