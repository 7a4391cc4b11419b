"""M/EEG: raw file + event table -> preprocessed epochs -> epochs store."""

from __future__ import annotations

import logging
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.store import names as n

log = logging.getLogger(__name__)


def read_raw(path: str | Path) -> mne.io.BaseRaw:
    """Read any raw format MNE knows, with a clear error for missing or unreadable files."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"raw recording {path} does not exist; check the dataset's path.")
    try:
        return mne.io.read_raw(path, preload=True, verbose="error")
    except Exception as err:  # MNE raises many types for corrupt / truncated files
        raise ValueError(
            f"could not read raw recording {path} ({type(err).__name__}: {err}). The file may be "
            "truncated or in an unsupported format; re-export it or check the extension."
        ) from err


def read_event_table(path: str | Path) -> pd.DataFrame:
    """Event-code table: columns code, stimulus and optional condition."""
    table = pd.read_csv(path, sep="\t", dtype={"stimulus": str})
    missing = {"code", "stimulus"} - set(table.columns)
    if missing:
        raise ValueError(
            f"event table {path} lacks column(s) {sorted(missing)}; expected a tab-separated "
            "table with columns code, stimulus[, condition]."
        )
    duplicated = table["code"][table["code"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"event table {path}: duplicated codes {duplicated[:5]}; one row a code.")
    if "condition" not in table:
        table["condition"] = "n/a"
    return table


def stimulus_events(
    raw: mne.io.BaseRaw, table: pd.DataFrame, source: str
) -> tuple[np.ndarray, pd.DataFrame]:
    """Events of the stim channel whose codes are in ``table``, and their metadata."""
    events = mne.find_events(raw, shortest_event=1, verbose="error")
    if len(events) == 0:
        raise ValueError(f"{source}: no events found on the stim channel; check the recording.")
    known = np.isin(events[:, 2], table["code"].to_numpy())
    if not known.any():
        raise ValueError(
            f"{source}: none of the event codes {sorted(set(events[:, 2]))[:10]} appear in the "
            "event table; check its 'code' column."
        )
    events = events[known]
    meta = table.set_index("code").loc[events[:, 2], ["stimulus", "condition"]].reset_index()
    meta["onset"] = (events[:, 0] - raw.first_samp) / raw.info["sfreq"]
    return events, meta


def preprocess_raw(raw: mne.io.BaseRaw, cfg: dict) -> mne.io.BaseRaw:
    """Band-pass filter and re-reference, as configured."""
    raw = raw.copy()
    if cfg.get("l_freq") is not None or cfg.get("h_freq") is not None:
        raw.filter(cfg.get("l_freq"), cfg.get("h_freq"), picks="data", verbose="error")
    if cfg.get("reference", "average") == "average":
        raw.set_eeg_reference("average", projection=False, verbose="error")
    return raw


def make_epochs(
    raw: mne.io.BaseRaw, events: np.ndarray, meta: pd.DataFrame, cfg: dict
) -> mne.Epochs:
    """Epoch around each event with baseline correction, then resample if asked."""
    baseline = cfg.get("baseline", [None, 0.0])
    epochs = mne.Epochs(
        raw,
        events,
        event_id=None,
        tmin=cfg.get("tmin", -0.2),
        tmax=cfg.get("tmax", 0.8),
        baseline=tuple(baseline) if baseline is not None else None,
        metadata=meta,
        picks=["eeg", "meg"],
        preload=True,
        reject=None,
        event_repeated="error",
        verbose="error",
    )
    if cfg.get("resample"):
        epochs.resample(cfg["resample"], verbose="error")
    return epochs


def epochs_to_dataset(epochs: mne.Epochs, *, modality: str, run: str = "1") -> xr.Dataset:
    """Epochs -> an ``epochs`` store Dataset (trial x channel x time) in volts / tesla."""
    meta = epochs.metadata.reset_index(drop=True)
    info = epochs.info
    pos = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=np.float64)
    ch_types = epochs.get_channel_types()
    return xr.Dataset(
        {"data": ((n.TRIAL, n.CHANNEL, n.TIME), epochs.get_data(copy=False).astype(np.float32))},
        coords={
            n.STIMULUS: (n.TRIAL, meta["stimulus"].astype(str).to_numpy()),
            n.CONDITION: (n.TRIAL, meta["condition"].astype(str).to_numpy()),
            n.RUN: (n.TRIAL, np.full(len(meta), str(run))),
            n.ONSET: (n.TRIAL, meta["onset"].to_numpy(dtype=np.float64)),
            n.CHANNEL: np.array(epochs.ch_names, dtype=str),
            n.CH_TYPE: (n.CHANNEL, np.array(ch_types, dtype=str)),
            n.POSITION: ((n.CHANNEL, n.SPACE), np.nan_to_num(pos)),
            n.TIME: epochs.times.astype(np.float64),
        },
        attrs={
            n.SFREQ: float(info["sfreq"]),
            n.MODALITY: modality,
            "units": "V",
            "baseline": list(epochs.baseline) if epochs.baseline else "none",
        },
    )


def ingest_meeg(
    raw_path: str | Path, events_path: str | Path, cfg: dict, *, modality: str = "eeg"
) -> xr.Dataset:
    """The whole chain for one recording: read, find events, preprocess, epoch, to Dataset."""
    raw = read_raw(raw_path)
    table = read_event_table(events_path)
    events, meta = stimulus_events(raw, table, str(raw_path))
    log.info("%s: %d events with known codes", raw_path, len(events))
    raw = preprocess_raw(raw, cfg)
    epochs = make_epochs(raw, events, meta, cfg)
    return epochs_to_dataset(epochs, modality=modality)
