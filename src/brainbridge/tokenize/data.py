"""Windows streamed from brain stores (Zarr) for training and tokenizing, memory bounded.

A :class:`Source` is one brain store (``epochs``: trial x channel x time, or ``continuous``:
channel x time) checked against a tokenizer's settings before anything is read in bulk:
sampling rate, length of a window, sensor positions and types. :func:`scan` reads it once, block
by block, to find NaN or flat channels and the amplitude scale of each channel type.
:class:`WindowStream` is a torch ``IterableDataset`` of batches: blocks (a Zarr chunk's worth of
trials, or of time) in a seeded random order, windows shuffled within each block, so memory
holds one block whatever the recording length.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import zarr

from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.tokenize.models import SENSOR_TYPES, Sensors

#: trials (epochs) or samples (continuous) per block read at once
EPOCH_BLOCK = 64
TIME_BLOCK = 60_000


def release_freed_blocks(nbytes: int = 1 << 20) -> bool:
    """Have glibc serve allocations of ``nbytes`` or more by mmap, so a freed block goes back to
    the system. By default glibc raises that threshold after each freed block (up to 32 MB),
    after which blocks come from the heap and memory creeps up with the recording length.
    A no-op (False) where glibc is absent."""
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(-3, int(nbytes)))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


class TokenizerDataError(ValueError):
    """A brain store a tokenizer cannot use (named, with the fix)."""


@dataclass
class Source:
    """One brain store as windows of ``segment`` samples."""

    path: Path
    kind: str  # epochs | continuous
    sfreq: float
    channels: list[str]
    ch_types: list[str]
    positions: np.ndarray  # (C, 3)
    orientations: np.ndarray  # (C, 3)
    n_items: int  # trials (epochs) or 1 (continuous)
    n_times: int
    segment: int
    coords: dict = field(default_factory=dict)  # trial coords (stimulus, condition, ...) + time

    @property
    def starts(self) -> np.ndarray:
        return np.arange(0, self.n_times - self.segment + 1, self.segment)

    def blocks(self) -> list[tuple[int, int]]:
        """(first, stop) along trials (epochs) or time (continuous) of each block."""
        if self.kind == "epochs":
            edges = range(0, self.n_items, EPOCH_BLOCK)
            return [(a, min(a + EPOCH_BLOCK, self.n_items)) for a in edges]
        usable = len(self.starts) * self.segment
        step = max(self.segment, TIME_BLOCK // self.segment * self.segment)
        return [(a, min(a + step, usable)) for a in range(0, usable, step)]

    def read(self, block: tuple[int, int]) -> np.ndarray:
        """The block as (item, channel, time) float32 (continuous: windows as items)."""
        arr = self._array()
        a, b = block
        if self.kind == "epochs":
            return np.asarray(arr[a:b], np.float32)
        data = np.asarray(arr[:, a:b], np.float32)
        windows = data.reshape(len(self.channels), -1, self.segment)
        return np.ascontiguousarray(windows.transpose(1, 0, 2))

    def _array(self):
        """The Zarr array itself (read chunk by chunk; xarray's lazy arrays cache whole
        variables once touched)."""
        if "_arr" not in self.__dict__:
            self.__dict__["_arr"] = zarr.open_group(str(self.path), mode="r")["data"]
        return self.__dict__["_arr"]

    def sensors(self) -> Sensors:
        return Sensors(
            torch.as_tensor(self.positions, dtype=torch.float32),
            torch.as_tensor(self.orientations, dtype=torch.float32),
            torch.as_tensor([SENSOR_TYPES.get(t, -1) for t in self.ch_types], dtype=torch.long),
        )


def open_source(path: str | os.PathLike, cfg: dict, *, name: str = "tokenizer") -> Source:
    """Open a brain store for tokenizer ``name``; raise before any bulk read if it cannot work."""
    path = Path(path)
    ds = open_store(path)
    kind = ds.attrs.get(n.KIND)
    if kind not in ("epochs", "continuous"):
        raise TokenizerDataError(
            f"{path} is a {kind!r} store; tokenizers read M/EEG 'epochs' or 'continuous' stores."
        )
    sfreq, want = float(ds.attrs[n.SFREQ]), float(cfg["sfreq"])
    if abs(sfreq - want) > 1e-6 * want:
        raise TokenizerDataError(
            f"{path} is sampled at {sfreq:g} Hz but tokenizer {name!r} works at {want:g} Hz; "
            f"resample the dataset (preprocessing.resample: {want:g}) or train a tokenizer "
            f"with sfreq: {sfreq:g}. Nothing is resampled silently."
        )
    n_times = int(ds.sizes[n.TIME])
    segment = int(cfg["segment"])
    if n_times < segment:
        what = "each trial" if kind == "epochs" else "the recording"
        raise TokenizerDataError(
            f"{path}: {what} has {n_times} samples ({n_times / sfreq:.3g} s), shorter than one "
            f"window of tokenizer {name!r} (segment: {segment} samples); lower "
            f"tokenizers.{name}.segment or use longer epochs / recordings."
        )
    channels = [str(c) for c in ds[n.CHANNEL].values]
    ch_types = [str(t) for t in ds[n.CH_TYPE].values]
    positions = (
        np.asarray(ds[n.POSITION].values, float)
        if n.POSITION in ds.coords
        else np.full((len(channels), 3), np.nan)
    )
    orientations = (
        np.nan_to_num(np.asarray(ds[n.ORIENTATION].values, float))
        if n.ORIENTATION in ds.coords
        else np.zeros((len(channels), 3))
    )
    if cfg["kind"] == "sensor":
        _check_sensors(path, name, channels, ch_types, positions)
    coords = {}
    if kind == "epochs":
        for key in (n.STIMULUS, n.CONDITION, n.RUN, n.ONSET):
            if key in ds.coords:
                coords[key] = np.asarray(ds[key].values)
    coords[n.TIME] = np.asarray(ds[n.TIME].values, float)
    n_items = int(ds.sizes[n.TRIAL]) if kind == "epochs" else 1
    return Source(
        path, kind, sfreq, channels, ch_types, positions, orientations, n_items, n_times,
        segment, coords,
    )  # fmt: skip


def _check_sensors(path, name, channels, ch_types, positions) -> None:
    unknown = sorted({t for t in ch_types if t not in SENSOR_TYPES})
    if unknown:
        bad = [c for c, t in zip(channels, ch_types) if t in unknown][:5]
        raise TokenizerDataError(
            f"{path}: channel type(s) {unknown} (e.g. {bad}) are unknown to the sensor-aware "
            f"tokenizer {name!r}, which knows {sorted(SENSOR_TYPES)}; drop those channels "
            "(datasets.NAME.channels.drop) or set their type (channels.types)."
        )
    missing = ~np.isfinite(positions).all(1) | (np.abs(positions).sum(1) == 0)
    if missing.any():
        bad = [c for c, m in zip(channels, missing) if m]
        raise TokenizerDataError(
            f"{path}: {len(bad)} channel(s) have no sensor position ({bad[:5]}); the "
            f"sensor-aware tokenizer {name!r} places sensors by position: set a montage "
            "(datasets.NAME.channels.montage, e.g. standard_1005) or drop those channels. "
            "Channels are never zero-padded."
        )


@dataclass
class Scan:
    scales: dict[str, float]  # channel type -> typical standard deviation
    n_windows: int


def scan(sources: list[Source], name: str = "tokenizer") -> Scan:
    """One pass over every store, block by block: NaN and flat channels, scale per type."""
    stds: dict[str, list[float]] = {}
    total = 0
    for src in sources:
        count = np.zeros(len(src.channels))
        sums, sq = np.zeros(len(src.channels)), np.zeros(len(src.channels))
        nans = np.zeros(len(src.channels), int)
        for block in src.blocks():
            x = src.read(block)  # float32; sums in float64 without a float64 copy
            finite = np.isfinite(x)
            if not finite.all():
                nans += (~finite).sum(axis=(0, 2))
                x = np.where(finite, x, 0.0)
            del finite
            count += x.shape[0] * x.shape[2]
            sums += x.sum(axis=(0, 2), dtype=np.float64)
            sq += np.square(x).sum(axis=(0, 2), dtype=np.float64)
        if nans.any():
            bad = [c for c, k in zip(src.channels, nans) if k]
            raise TokenizerDataError(
                f"{src.path}: channel(s) {bad[:5]} hold NaN/inf values; interpolate or drop them "
                "at ingestion (preprocessing.bads, channels.drop) before training tokenizer "
                f"{name!r}."
            )
        std = np.sqrt(np.maximum(sq / count - (sums / count) ** 2, 0.0))
        flat = std <= 1e-6 * max(float(np.median(std)), 1e-300)
        if flat.any():
            bad = [c for c, f in zip(src.channels, flat) if f]
            raise TokenizerDataError(
                f"{src.path}: channel(s) {bad[:5]} are flat (no variance); drop them "
                "(datasets.NAME.channels.drop) or let bad-channel detection interpolate them "
                f"(preprocessing.bads) before training tokenizer {name!r}."
            )
        for t, s in zip(src.ch_types, std):
            stds.setdefault(t, []).append(float(s))
        total += src.n_items * len(src.starts)
    return Scan({t: float(np.median(v)) for t, v in sorted(stds.items())}, total)


def scale_vector(src: Source, scales: dict[str, float], name: str = "tokenizer") -> np.ndarray:
    missing = sorted({t for t in src.ch_types if t not in scales})
    if missing:
        raise TokenizerDataError(
            f"{src.path}: channel type(s) {missing} were not in the training data of tokenizer "
            f"{name!r} (trained on {sorted(scales)}); train it on such data too, or drop them."
        )
    return np.array([scales[t] for t in src.ch_types], np.float32)[None, :, None]


def windows_of(src: Source, block: tuple[int, int], scale: np.ndarray) -> tuple[np.ndarray, list]:
    """Scaled windows (window, channel, segment) of a block, and their (item, start) labels."""
    x = src.read(block) / scale
    if src.kind == "continuous":
        first = block[0] // src.segment
        return x, [(0, (first + i) * src.segment) for i in range(len(x))]
    starts = src.starts
    items = [(a, s) for a in range(block[0], block[1]) for s in starts]
    stacked = np.stack([x[i, :, s : s + src.segment] for i in range(len(x)) for s in starts])
    return stacked, items


class WindowStream(torch.utils.data.IterableDataset):
    """Batches of scaled windows (batch, channel, segment) with their source index.

    Blocks are visited in a random order and windows shuffled inside each block, both drawn
    from a generator seeded by ``seed`` and the epoch (:meth:`set_epoch`), so an epoch is the
    same batches whatever happened before it (what resuming after a kill needs).
    """

    def __init__(
        self,
        sources: list[Source],
        scales: dict[str, float],
        *,
        batch_size: int,
        seed: int,
        max_windows: int = 0,
        name: str = "tokenizer",
    ) -> None:
        super().__init__()
        self.sources, self.batch_size, self.seed = sources, int(batch_size), int(seed)
        self.max_windows, self.epoch = int(max_windows), 0
        self.scale = [scale_vector(s, scales, name) for s in sources]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        blocks = [(i, b) for i, s in enumerate(self.sources) for b in s.blocks()]
        seen = 0
        for k in torch.randperm(len(blocks), generator=gen).tolist():
            i, block = blocks[k]
            x, _ = windows_of(self.sources[i], block, self.scale[i])
            order = torch.randperm(len(x), generator=gen).numpy()
            for a in range(0, len(order), self.batch_size):
                take = order[a : a + self.batch_size]
                if self.max_windows:
                    take = take[: self.max_windows - seen]
                if len(take) == 0:
                    return
                seen += len(take)
                yield torch.from_numpy(np.ascontiguousarray(x[take])), i
