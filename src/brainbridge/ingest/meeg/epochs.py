"""Epochs and continuous data -> store Datasets (kinds ``epochs`` and ``continuous``)."""

from __future__ import annotations

import mne
import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.store import names as n

DATA_PICKS = ["eeg", "meg"]


def make_epochs(
    raw: mne.io.BaseRaw, events: np.ndarray, meta: pd.DataFrame, cfg: dict
) -> mne.Epochs:
    """Epoch around each event with baseline correction and peak-to-peak rejection, then
    resample if asked (epoching first keeps event times exact)."""
    baseline = cfg.get("baseline", [None, 0.0])
    epochs = mne.Epochs(
        raw,
        events,
        event_id=None,
        tmin=cfg.get("tmin", -0.2),
        tmax=cfg.get("tmax", 0.8),
        baseline=tuple(baseline) if baseline is not None else None,
        metadata=meta,
        picks=DATA_PICKS,
        preload=True,
        reject=cfg.get("reject") or None,
        flat=cfg.get("flat") or None,
        event_repeated="error",
        verbose="error",
    )
    if cfg.get("resample"):
        epochs.resample(cfg["resample"], verbose="error")
    return epochs


def _orientations(info: mne.Info) -> np.ndarray:
    """(C, 3) unit normals of the MEG coils (``loc[9:12]``, the z axis of each coil's frame, in
    device coordinates like the positions); zeros for other channels."""
    out = np.zeros((len(info["chs"]), 3))
    for i, ch in enumerate(info["chs"]):
        if ch["kind"] == mne.io.constants.FIFF.FIFFV_MEG_CH:
            normal = np.nan_to_num(np.asarray(ch["loc"][9:12], dtype=np.float64))
            norm = np.linalg.norm(normal)
            out[i] = normal / norm if norm > 0 else 0.0
    return out


def _channel_coords(info: mne.Info, ch_types: list[str]) -> dict:
    pos = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=np.float64)
    return {
        n.CHANNEL: np.array(info["ch_names"], dtype=str),
        n.CH_TYPE: (n.CHANNEL, np.array(ch_types, dtype=str)),
        n.POSITION: ((n.CHANNEL, n.SPACE), np.nan_to_num(pos)),
        n.ORIENTATION: ((n.CHANNEL, n.SPACE), _orientations(info)),
    }


def epochs_to_dataset(
    epochs: mne.Epochs, *, modality: str, run: str | np.ndarray = "1"
) -> xr.Dataset:
    """Epochs -> an ``epochs`` store Dataset (trial x channel x time) in volts / tesla."""
    meta = epochs.metadata.reset_index(drop=True)
    runs = meta["run"].astype(str).to_numpy() if "run" in meta else np.full(len(meta), str(run))
    return xr.Dataset(
        {"data": ((n.TRIAL, n.CHANNEL, n.TIME), epochs.get_data(copy=False).astype(np.float32))},
        coords={
            n.STIMULUS: (n.TRIAL, meta["stimulus"].astype(str).to_numpy()),
            n.CONDITION: (n.TRIAL, meta["condition"].astype(str).to_numpy()),
            n.RUN: (n.TRIAL, runs),
            n.ONSET: (n.TRIAL, meta["onset"].to_numpy(dtype=np.float64)),
            **_channel_coords(epochs.info, epochs.get_channel_types()),
            n.TIME: epochs.times.astype(np.float64),
        },
        attrs={
            n.SFREQ: float(epochs.info["sfreq"]),
            n.MODALITY: modality,
            "units": "V",
            "baseline": list(epochs.baseline) if epochs.baseline else "none",
        },
    )


def raw_to_dataset(raw: mne.io.BaseRaw, *, modality: str) -> xr.Dataset:
    """Continuous data channels -> a ``continuous`` store Dataset (channel x time)."""
    raw = raw.copy().pick(DATA_PICKS)
    return xr.Dataset(
        {"data": ((n.CHANNEL, n.TIME), raw.get_data().astype(np.float32))},
        coords={
            **_channel_coords(raw.info, raw.get_channel_types()),
            n.TIME: raw.times.astype(np.float64),
        },
        attrs={n.SFREQ: float(raw.info["sfreq"]), n.MODALITY: modality, "units": "V"},
    )


def with_events(ds: xr.Dataset, meta: pd.DataFrame) -> xr.Dataset:
    """A continuous store Dataset with its stimulus events (dim ``event``: ``stimulus``,
    ``condition``, ``onset`` in s from the first sample)."""
    return ds.assign_coords(
        {
            n.STIMULUS: (n.EVENT, meta["stimulus"].astype(str).to_numpy()),
            n.CONDITION: (n.EVENT, meta["condition"].astype(str).to_numpy()),
            n.ONSET: (n.EVENT, meta["onset"].to_numpy(dtype=np.float64)),
        }
    )
