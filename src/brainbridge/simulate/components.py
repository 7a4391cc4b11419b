"""Planted signals: random linear read-outs of a layer, the part of it written into the brain."""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbridge.store import feature_dim


def layer_readout(
    activations: xr.Dataset, layer: str, n_units: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_units`` random Gaussian projections of ``layer`` (stimulus x unit).

    The projection runs on the raw (uncentred) features, so a unit's response keeps the layer's
    representational geometry, its shared response profile included (which correlation-distance
    RDMs of the layer see). Columns are scaled to unit mean variance across stimuli.
    """
    if layer not in activations.data_vars:
        raise ValueError(
            f"planted layer {layer!r} is not in the activation store; "
            f"available: {sorted(map(str, activations.data_vars))}."
        )
    x = activations[layer].transpose(..., feature_dim(layer)).values.astype(np.float64)
    units = x @ rng.standard_normal((x.shape[1], n_units))
    return units / units.std(axis=0).mean()
