"""Per-subject quality-control record (JSON beside the store); ``report/qc.py`` renders it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import mne
import numpy as np

from brainbridge.atomic import write_text


def psd_summary(raw: mne.io.BaseRaw, fmax: float = 100.0) -> dict:
    """Mean log10 power spectral density per channel type (``raw.compute_psd``)."""
    fmax = min(fmax, raw.info["sfreq"] / 2)
    psd = raw.compute_psd(fmax=fmax, picks=["eeg", "meg"], exclude="bads", verbose="error")
    data, types = psd.get_data(), np.array(psd.get_channel_types())
    return {
        "freqs": np.round(psd.freqs, 3).tolist(),
        "log10_power": {
            t: np.log10(data[types == t].mean(axis=0) + 1e-40).round(4).tolist()
            for t in np.unique(types)
        },
    }


def drop_summary(drop_log: tuple) -> dict:
    """Epochs dropped, by reason (channel names for peak-to-peak rejection)."""
    reasons = Counter(r for log in drop_log for r in log)
    return {
        "dropped": int(sum(1 for log in drop_log if log)),
        "reasons": dict(reasons),
    }


def write_qc(record: dict, path: str | Path) -> Path:
    """Write the QC record as JSON, atomically."""
    return write_text(json.dumps(record, indent=1, sort_keys=True, default=str), path)
