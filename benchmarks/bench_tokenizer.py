"""Tokenizer benchmark: streamed training against a plain torch loop, memory, tokenizing speed.

- Time per epoch of :func:`brainbridge.tokenize.train` (windows streamed from a Zarr store,
  block by block) against a plain loop over the same windows preloaded as one in-memory tensor
  (same model, batch size, optimizer and seed); ratio = streamed / plain (goal <= 1.2).
- Peak memory (max RSS above the process's start, in a fresh subprocess each) of a full pass
  over the windows at 1x and 10x the recording length: streamed vs loaded in memory.
- Tokenizing throughput (windows per second) of :func:`brainbridge.tokenize.tokenize`.
- ``--device cuda`` (or auto with a GPU present) runs the training comparison on CUDA.

    PYTHONPATH=src python benchmarks/bench_tokenizer.py [--seconds 240] [--channels 32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from brainbridge.store import names as n
from brainbridge.store import write_store
from brainbridge.tokenize import build, open_source, resolve, scan, tokenize, train
from brainbridge.tokenize.data import (
    WindowStream,
    release_freed_blocks,
    scale_vector,
    windows_of,
)
from brainbridge.tokenize.models import set_generator

CFG = {
    "kind": "tfm", "sfreq": 160.0, "segment": 160, "stft_window": 32, "hop": 16, "patch": 2,
    "dim": 32, "codebook_size": 64, "codebook_dim": 8, "epochs": 1, "batch_size": 16,
}  # fmt: skip


def make_store(path: Path, seconds: float, channels: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    n_times = int(seconds * CFG["sfreq"])
    data = (1e-5 * rng.standard_normal((channels, n_times))).astype(np.float32)
    pos = rng.normal(size=(channels, 3))
    ds = xr.Dataset(
        {"data": ((n.CHANNEL, n.TIME), data)},
        coords={
            n.CHANNEL: np.array([f"E{i}" for i in range(channels)]),
            n.CH_TYPE: (n.CHANNEL, np.array(["eeg"] * channels)),
            n.POSITION: ((n.CHANNEL, n.SPACE), 0.09 * pos / np.linalg.norm(pos, axis=1)[:, None]),
            n.TIME: np.arange(n_times) / CFG["sfreq"],
        },
        attrs={n.SFREQ: CFG["sfreq"], n.MODALITY: "eeg"},
    )
    return write_store(ds, path, kind="continuous")


def all_windows(src, scales) -> np.ndarray:
    scale = scale_vector(src, scales)
    return np.concatenate([windows_of(src, b, scale)[0] for b in src.blocks()])


def plain_epoch(x: torch.Tensor, sensors, device, seed: int = 0) -> float:
    """The reference: one epoch of the same model over an in-memory tensor."""
    cfg = resolve(CFG)
    torch.manual_seed(seed)
    model = build(cfg).to(device)
    set_generator(model, torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=gen)
    x = x.to(device)
    model.train()
    t0 = time.perf_counter()
    for a in range(0, len(x), cfg["batch_size"]):
        out = model(x[order[a : a + cfg["batch_size"]]], sensors)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def streamed(path: Path, device: str, epochs: int) -> float:
    t0 = time.perf_counter()
    train([path], {**CFG, "device": device, "epochs": epochs}, name="bench", seed=0)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def _status(key: str) -> float:
    """A /proc/self/status entry (kB) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024
    raise KeyError(key)


def child_memory(mode: str, path: str) -> None:
    """A full pass over the windows (no model): peak RSS above the RSS at its start, in MB
    (the peak is reset first, so the imports' own peak does not hide the pass's)."""
    release_freed_blocks()  # as the workflow steps do
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start = _status("VmRSS")
    cfg = resolve(CFG)
    src = open_source(path, cfg)
    scales = scan([src]).scales
    total = 0.0
    if mode == "stream":
        for x, _ in WindowStream([src], scales, batch_size=16, seed=0):
            total += float(x[:, 0, 0].sum())
    else:
        x = torch.from_numpy(all_windows(src, scales))
        for idx in torch.randperm(len(x)).split(16):
            total += float(x[idx][:, 0, 0].sum())
    print(json.dumps({"peak_mb": _status("VmHWM") - start}))


def memory(mode: str, path: Path) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=240.0, help="1x recording length")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        child_memory(*args.child)
        return
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        one = make_store(Path(tmp) / "x1.zarr", args.seconds, args.channels)
        ten = make_store(Path(tmp) / "x10.zarr", 10 * args.seconds, args.channels, seed=1)
        if args.memory_only:
            for label, path in (("1x", one), ("10x", ten)):
                s, m = memory("stream", path), memory("memory", path)
                print(f"peak memory {label}: streamed {s:.0f} MB, in memory {m:.0f} MB")
            return
        src = open_source(one, resolve(CFG))
        scales = scan([src]).scales
        x = torch.from_numpy(all_windows(src, scales))
        sensors = src.sensors().to(device)
        plain_epoch(x[:32], sensors, torch.device(device))  # warm-up
        plain = min(plain_epoch(x, sensors, torch.device(device)) for _ in range(2))
        one_epoch = streamed(one, device, 1)
        three = streamed(one, device, 3)
        per_epoch = (three - one_epoch) / 2  # without the one-off open + scan
        print(f"{len(x)} windows x {args.channels} channels, device {device}")
        print(f"plain loop (in memory): {plain:.2f} s/epoch ({len(x) / plain:.0f} windows/s)")
        print(f"brainbridge streamed: {per_epoch:.2f} s/epoch ({len(x) / per_epoch:.0f} "
              f"windows/s); ratio {per_epoch / plain:.2f}; one-off open + scan + setup "
              f"{one_epoch - per_epoch:.2f} s")  # fmt: skip
        for label, path in (("1x", one), ("10x", ten)):
            s, m = memory("stream", path), memory("memory", path)
            print(f"peak memory {label}: streamed {s:.0f} MB, in memory {m:.0f} MB")
        trained = train([one], CFG, name="bench", seed=0)
        t0 = time.perf_counter()
        tokens = tokenize(trained.model, trained.meta, open_source(one, trained.meta["config"]))
        dt = time.perf_counter() - t0
        n_win = tokens.sizes["segment"]
        print(f"tokenizing: {n_win} windows in {dt:.2f} s ({n_win / dt:.0f} windows/s, "
              f"{n_win * args.channels / dt:.0f} channel-windows/s)")  # fmt: skip


if __name__ == "__main__":
    main()
