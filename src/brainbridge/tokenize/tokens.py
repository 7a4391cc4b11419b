"""Tokenizing a brain store into a ``tokens`` store, and tokens back into features."""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from brainbridge.store import names as n
from brainbridge.tokenize.data import Source, scale_vector, windows_of

SOURCE, TOKEN, LEVEL, CODE, CODE_DIM = n.SOURCE, n.TOKEN, n.LEVEL, n.CODE, n.CODE_DIM
SEGMENT, TOKEN_TIME = n.SEGMENT, n.TOKEN_TIME


@torch.no_grad()
def encode_windows(
    model: torch.nn.Module, x: np.ndarray, src: Source, batch_size: int = 256
) -> np.ndarray:
    """Codes (window, channel | source, token, level) of scaled windows."""
    model.eval()
    sensors = src.sensors()
    out = [
        model(torch.from_numpy(np.ascontiguousarray(x[a : a + batch_size])), sensors).codes
        for a in range(0, len(x), batch_size)
    ]
    return torch.cat(out).numpy()


def codebooks(model: torch.nn.Module) -> np.ndarray:
    return model.quantizer.codebooks().detach().cpu().numpy().astype(np.float32)


def tokenize(model: torch.nn.Module, meta: dict, src: Source) -> xr.Dataset:
    """Every window of ``src`` as codes, labelled with trials (or segments) and token times."""
    scale = scale_vector(src, meta["scales"], meta.get("name", "tokenizer"))
    per_block = []
    for block in src.blocks():
        x, _ = windows_of(src, block, scale)
        per_block.append(encode_windows(model, x, src))
    codes = np.concatenate(per_block)  # (window, unit, token, level)
    k = int(meta["config"]["codebook_size"])
    codes = codes.astype(np.int16 if k <= np.iinfo(np.int16).max else np.int32)
    centers = model.token_centers().numpy()
    starts = src.starts
    time = src.coords[n.TIME]
    if src.kind == "epochs":
        n_win = len(starts)
        units, levels = codes.shape[1], codes.shape[-1]
        codes = codes.reshape(src.n_items, n_win, *codes.shape[1:]).transpose(0, 2, 1, 3, 4)
        codes = codes.reshape(src.n_items, units, -1, levels)
        token_time = time[0] + (starts[:, None] + centers[None]).ravel() / src.sfreq
        item_dim = n.TRIAL
        coords = {k: (n.TRIAL, v) for k, v in src.coords.items() if k != n.TIME}
    else:
        token_time = centers / src.sfreq
        item_dim = SEGMENT
        coords = {n.ONSET: (SEGMENT, time[0] + starts / src.sfreq)}
    if meta["config"]["kind"] == "tfm":
        unit_dim = n.CHANNEL
        coords[n.CHANNEL] = (n.CHANNEL, np.asarray(src.channels, dtype=str))
        coords[n.CH_TYPE] = (n.CHANNEL, np.asarray(src.ch_types, dtype=str))
    else:
        unit_dim = SOURCE
        coords[SOURCE] = (SOURCE, np.asarray([f"s{i}" for i in range(codes.shape[1])], dtype=str))
    coords[TOKEN_TIME] = (TOKEN, token_time.astype(np.float64))
    ds = xr.Dataset(
        {
            "codes": ((item_dim, unit_dim, TOKEN, LEVEL), codes),
            "codebook": ((LEVEL, CODE, CODE_DIM), codebooks(model)),
        },
        coords=coords,
    )
    ds.attrs.update(
        {
            n.SFREQ: float(src.sfreq),
            "tokenizer": str(meta.get("name", "tokenizer")),
            "tokenizer_kind": str(meta["config"]["kind"]),
            "source_store": str(src.path),
        }
    )
    return ds


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
