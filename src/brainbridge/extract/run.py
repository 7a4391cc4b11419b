"""Extract the chosen layers of a model for every stimulus of a manifest into a store."""

from __future__ import annotations

import logging

import numpy as np
import torch
import xarray as xr
from torch import nn

from brainbridge.extract.layers import capture, pool, select_layers
from brainbridge.extract.stimuli import load_images
from brainbridge.store import feature_dim
from brainbridge.store import names as n

log = logging.getLogger(__name__)


@torch.no_grad()
def extract_activations(
    model: nn.Module,
    manifest,
    *,
    layers: list[str],
    image_size: int,
    mean: list[float],
    std: list[float],
    pooling: str = "flatten",
    batch_size: int = 64,
    dtype: str = "float32",
    model_name: str = "model",
) -> xr.Dataset:
    """Run the model over the stimuli batch by batch with hooks on ``layers``."""
    torch.manual_seed(0)
    model.eval()
    names = select_layers(model, layers)
    stimuli = manifest["stimulus"].astype(str).tolist()
    paths = manifest["path"].tolist()
    arrays: dict[str, np.ndarray] = {}
    shapes: dict[str, list[int]] = {}
    with capture(model, names) as outputs:
        for start in range(0, len(stimuli), batch_size):
            batch = load_images(
                paths[start : start + batch_size], size=image_size, mean=mean, std=std
            )
            model(batch)
            for name in names:
                out = outputs[name]
                shapes.setdefault(name, list(out.shape[1:]))
                feats = pool(out, pooling).to(torch.float32).cpu().numpy()
                if name not in arrays:
                    arrays[name] = np.empty((len(stimuli), feats.shape[1]), dtype=dtype)
                arrays[name][start : start + len(feats)] = feats
            log.info("extracted %d/%d stimuli", min(start + batch_size, len(stimuli)), len(stimuli))
    data_vars = {
        name: xr.Variable(
            (n.STIMULUS, feature_dim(name)),
            arrays[name],
            attrs={n.ORIGINAL_SHAPE: shapes[name], "pooling": pooling, n.REDUCTION: "none"},
        )
        for name in names
    }
    return xr.Dataset(
        data_vars,
        coords={n.STIMULUS: np.array(stimuli, dtype=str)},
        attrs={n.MODEL: model_name, "layers": names},
    )
