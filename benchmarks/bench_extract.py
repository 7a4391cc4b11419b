"""Activation extraction: brainbridge (hooks, pooling, streaming Zarr writes) vs a plain loop.

Both run the same trained CIFAR ResNet over the same image files, loaded and resized by the
same function (load_images), with the same batch size; the plain loop keeps the layer outputs
in memory (what a hand-written script does), brainbridge streams them into an activation store.
Times are the best of --trials alternating runs, untraced; peak traced memory comes from one
further traced run of each. Prints stimuli/second, peak memory and ratios.

    python benchmarks/bench_extract.py [--arch resnet56] [--repeat 4] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from brainbridge.extract.layers import capture, pool, select_layers
from brainbridge.extract.models import load
from brainbridge.extract.run import Inputs, extract_to_store
from brainbridge.extract.stimuli import load_images, read_manifest

DATA = Path(os.environ.get("BRAINBRIDGE_DATA", Path(__file__).resolve().parents[2] / "shared/data"))
WEIGHTS = {"resnet20": "resnet20-12fca82f.th", "resnet56": "resnet56-4bfd9763.th"}
IMAGE = {"size": 32, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
LAYERS = ["layer1", "layer2", "layer3", "linear"]


@torch.inference_mode()
def plain(model, manifest: pd.DataFrame, batch_size: int) -> dict[str, np.ndarray]:
    names = select_layers(model, LAYERS)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    with capture(model, names) as outputs:
        for start in range(0, len(manifest), batch_size):
            x = load_images(manifest["path"].iloc[start : start + batch_size].tolist(), **IMAGE)
            model(x)
            for k in names:
                parts[k].append(pool(outputs[k], "flatten").numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def peak_mib(fn) -> float:
    """Peak traced (Python / numpy) memory of one run; timed separately, as tracing slows
    Python-heavy code (xarray, Zarr) far more than the torch kernels."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="resnet56", choices=sorted(WEIGHTS))
    parser.add_argument("--repeat", type=int, default=4, help="stimulus set repeated N times")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--trials", type=int, default=5, help="timed runs of each, best kept")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    loaded = load("cifar-resnet", DATA / "weights" / WEIGHTS[args.arch], arch=args.arch)
    base = read_manifest(DATA / "rsa92" / "stimuli.tsv")
    manifest = pd.concat(
        [base.assign(stimulus=base["stimulus"] + f"_{r}") for r in range(args.repeat)]
    )
    manifest = manifest.reset_index(drop=True)
    n = len(manifest)
    tmp = Path(tempfile.mkdtemp())
    try:
        run_plain = lambda: plain(loaded.module, manifest, args.batch_size)  # noqa: E731
        run_bb = lambda: extract_to_store(  # noqa: E731
            loaded,
            manifest,
            tmp / "acts.zarr",
            layers=LAYERS,
            inputs=Inputs(image=IMAGE),
            batch_size=args.batch_size,
        )
        run_plain()  # warm-up of both
        run_bb()
        times: dict[str, list[float]] = {"plain": [], "bb": []}
        for _ in range(args.trials):  # alternate, keep the best of each
            times["plain"].append(timed(run_plain))
            times["bb"].append(timed(run_bb))
        t_plain, t_bb = min(times["plain"]), min(times["bb"])
        m_plain, m_bb = peak_mib(run_plain), peak_mib(run_bb)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{args.arch}, {n} stimuli (rsa92 x {args.repeat}), batch {args.batch_size}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"{'':28s}{'stimuli/s':>12s}{'peak MiB':>12s}")
    print(f"{'plain torch loop (memory)':28s}{n / t_plain:12.1f}{m_plain:12.1f}")
    print(f"{'brainbridge (Zarr stream)':28s}{n / t_bb:12.1f}{m_bb:12.1f}")
    print(
        f"time ratio brainbridge/plain: {t_bb / t_plain:.3f}  "
        f"(overhead {100 * (t_bb / t_plain - 1):+.1f} %)"
    )
    print(f"peak memory ratio brainbridge/plain: {m_bb / m_plain:.3f}")
    print(
        "thingsvision: not compared (it needs torchvision, which does not import with this "
        "torch build)"
    )


if __name__ == "__main__":
    main()
