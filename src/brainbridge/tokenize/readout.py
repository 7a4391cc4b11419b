"""Token stores read back as features, with numpy alone: code vectors, code histograms, and an
``epochs`` brain store of code vectors (so steps that only read tokens never import torch)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbridge.store import names as n

SOURCE, TOKEN, LEVEL, CODE, CODE_DIM = n.SOURCE, n.TOKEN, n.LEVEL, n.CODE, n.CODE_DIM
SEGMENT, TOKEN_TIME = n.SEGMENT, n.TOKEN_TIME


def code_vectors(tokens: xr.Dataset) -> np.ndarray:
    """Code vectors summed over levels: (item, unit, token, code_dim)."""
    codes = tokens["codes"].values.astype(np.int64)
    book = tokens["codebook"].values
    return sum(book[level][codes[..., level]] for level in range(book.shape[0]))


def token_histograms(tokens: xr.Dataset, *, per_unit: bool = False) -> np.ndarray:
    """Code counts of each item (trial / segment), pooled over channels and tokens, or kept
    per channel (source) with ``per_unit``; level after level, normalised to frequencies."""
    codes = tokens["codes"].values.astype(np.int64)
    k = tokens.sizes[CODE]
    items, units, _, levels = codes.shape
    feats = []
    for level in range(levels):
        c = codes[..., level]
        if per_unit:
            flat = (c + k * np.arange(units)[None, :, None]).reshape(items, -1)
            size = k * units
        else:
            flat, size = c.reshape(items, -1), k
        counts = np.stack([np.bincount(row, minlength=size) for row in flat])
        feats.append(counts / counts.sum(1, keepdims=True))
    return np.concatenate(feats, axis=1)


def as_brain(tokens: xr.Dataset, *, modality: str = "eeg") -> xr.Dataset:
    """An ``epochs`` store of code vectors: trial x (unit, code dim) x token time.

    Each token's code vector (summed over RVQ levels) becomes the pattern of that trial at the
    token's time, so alignment and encoding compare tokens with layers per time window like
    any brain store.
    """
    if n.TRIAL not in tokens.dims:
        raise ValueError(
            "tokens of continuous segments have no trials (stimuli) to align with; tokenize an "
            "epochs store."
        )
    vec = code_vectors(tokens)  # (trial, unit, token, dim)
    trials, units, steps, dim = vec.shape
    unit_dim = n.CHANNEL if n.CHANNEL in tokens.dims else SOURCE
    names = [f"{u}:{d}" for u in tokens[unit_dim].values.astype(str) for d in range(dim)]
    data = vec.transpose(0, 1, 3, 2).reshape(trials, units * dim, steps).astype(np.float32)
    coords = {
        k: (n.TRIAL, tokens[k].values)
        for k in (n.STIMULUS, n.CONDITION, n.RUN, n.ONSET)
        if k in tokens.coords
    }
    coords[n.CHANNEL] = np.asarray(names, dtype=str)
    coords[n.CH_TYPE] = (n.CHANNEL, np.full(len(names), "token", dtype=object).astype(str))
    coords[n.TIME] = tokens[TOKEN_TIME].values
    steps_s = np.diff(tokens[TOKEN_TIME].values)
    sfreq = 1.0 / float(np.median(steps_s)) if len(steps_s) else float(tokens.attrs[n.SFREQ])
    ds = xr.Dataset({"data": ((n.TRIAL, n.CHANNEL, n.TIME), data)}, coords=coords)
    ds.attrs.update({n.SFREQ: sfreq, n.MODALITY: modality, "tokenizer": tokens.attrs["tokenizer"]})
    return ds
