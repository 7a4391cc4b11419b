"""Tokenizing a brain store into a ``tokens`` store (torch); tokens back into features live in
:mod:`brainbridge.tokenize.readout`, which needs no torch."""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from brainbridge.store import names as n
from brainbridge.tokenize.data import Source, scale_vector, windows_of
from brainbridge.tokenize.readout import CODE, CODE_DIM, LEVEL, SEGMENT, SOURCE, TOKEN, TOKEN_TIME


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
