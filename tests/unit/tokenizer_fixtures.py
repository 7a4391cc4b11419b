"""Tiny brain stores for the tokenizer tests (seconds on one core)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from brainbridge.store import names as n
from brainbridge.store import write_store

TINY_TFM = {
    "kind": "tfm", "sfreq": 100.0, "segment": 50, "stft_window": 16, "hop": 8, "patch": 1,
    "dim": 16, "depth": 1, "heads": 2, "codebook_size": 16, "codebook_dim": 4, "epochs": 2,
    "batch_size": 8,
}  # fmt: skip
TINY_SENSOR = {
    "kind": "sensor", "sfreq": 100.0, "segment": 50, "patch": 10, "dim": 16, "depth": 1,
    "heads": 2, "codebook_size": 16, "codebook_dim": 4, "n_sources": 4, "levels": 2,
    "epochs": 2, "batch_size": 8,
}  # fmt: skip


def sphere(n_ch: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n_ch, 3))
    v[:, 2] = np.abs(v[:, 2])
    return 0.09 * v / np.linalg.norm(v, axis=1, keepdims=True)


def epochs_store(
    path: Path,
    *,
    n_trials: int = 12,
    n_ch: int = 4,
    n_times: int = 100,
    sfreq: float = 100.0,
    seed: int = 0,
    ch_type: str = "eeg",
    positions: np.ndarray | None = None,
    data: np.ndarray | None = None,
) -> Path:
    """Epochs of two conditions: 10 Hz (left) or 20 Hz (right) bursts plus noise, in volts."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times) / sfreq
    cond = np.array(["left", "right"] * (n_trials // 2))
    if data is None:
        freq = np.where(cond == "left", 10.0, 20.0)
        data = np.sin(2 * np.pi * freq[:, None, None] * t + rng.uniform(0, 6, (n_trials, n_ch, 1)))
        data = 1e-5 * (data + 0.3 * rng.normal(size=(n_trials, n_ch, n_times)))
    ds = xr.Dataset(
        {"data": ((n.TRIAL, n.CHANNEL, n.TIME), data.astype(np.float32))},
        coords={
            n.STIMULUS: (n.TRIAL, cond.astype(str)),
            n.CONDITION: (n.TRIAL, cond.astype(str)),
            n.ONSET: (n.TRIAL, np.arange(n_trials, dtype=float) * 2.0),
            n.CHANNEL: np.array([f"C{i}" for i in range(n_ch)]),
            n.CH_TYPE: (n.CHANNEL, np.array([ch_type] * n_ch)),
            n.POSITION: (
                (n.CHANNEL, n.SPACE),
                sphere(n_ch, seed) if positions is None else positions,
            ),
            n.TIME: t - 0.2,
        },
        attrs={n.SFREQ: sfreq, n.MODALITY: "eeg", "dataset": path.stem},
    )
    return write_store(ds, path, kind="epochs")


def continuous_store(
    path: Path, *, n_ch: int = 3, n_times: int = 1000, sfreq: float = 100.0, seed: int = 0
) -> Path:
    rng = np.random.default_rng(seed)
    data = (1e-5 * rng.normal(size=(n_ch, n_times))).astype(np.float32)
    ds = xr.Dataset(
        {"data": ((n.CHANNEL, n.TIME), data)},
        coords={
            n.CHANNEL: np.array([f"C{i}" for i in range(n_ch)]),
            n.CH_TYPE: (n.CHANNEL, np.array(["eeg"] * n_ch)),
            n.POSITION: ((n.CHANNEL, n.SPACE), sphere(n_ch, seed)),
            n.TIME: np.arange(n_times) / sfreq,
        },
        attrs={n.SFREQ: sfreq, n.MODALITY: "eeg"},
    )
    return write_store(ds, path, kind="continuous")
