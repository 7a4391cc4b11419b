"""Cost of the store checksums: writing and opening a big store with and without them.

An activation store of --stimuli x --features float32 (random data: Blosc compresses it little,
the worst case for hashing) is written with ``write_store`` (which seals the checksum) and
opened with ``open_store`` (which verifies it); the same write and open without the checksum
step (``seal`` replaced by a no-op, ``verify=False``) are the baseline. Times are the best of
--repeat alternating runs; prints seconds, the ratio and the throughput of the hashing.

    python benchmarks/bench_checksum.py [--stimuli 2000] [--features 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

import brainbridge.store.io as store_io
from brainbridge.store import feature_dim, open_store, write_store
from brainbridge.store.checksum import compute


def dataset(n_stimuli: int, n_features: int) -> xr.Dataset:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((n_stimuli, n_features), dtype=np.float32)
    return xr.Dataset(
        {"layer": (("stimulus", feature_dim("layer")), data)},
        coords={"stimulus": [f"s{i:05d}" for i in range(n_stimuli)]},
        attrs={"model": "bench"},
    )


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stimuli", type=int, default=2000)
    parser.add_argument("--features", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ds = dataset(args.stimuli, args.features)
    root = Path(tempfile.mkdtemp())
    seal = store_io.checksum.seal
    times: dict[str, list[float]] = {k: [] for k in ("write", "write+seal", "open", "open+verify")}
    store = root / "a.zarr"

    def write() -> None:
        write_store(ds, store, kind="activations")

    try:
        for _ in range(args.repeat):
            store_io.checksum.seal = lambda path: None
            times["write"].append(timed(write))
            store_io.checksum.seal = seal
            times["write+seal"].append(timed(write))
            times["open"].append(timed(lambda: open_store(store, load=True, verify=False)))
            times["open+verify"].append(timed(lambda: open_store(store, load=True)))
        size = sum(p.stat().st_size for p in (root / "a.zarr").rglob("*") if p.is_file())
        hashing = min(timed(lambda: compute(root / "a.zarr")) for _ in range(args.repeat))
    finally:
        store_io.checksum.seal = seal
        shutil.rmtree(root, ignore_errors=True)
    best = {k: min(v) for k, v in times.items()}
    print(f"store: {ds['layer'].nbytes / 1e6:.0f} MB of float32, {size / 1e6:.0f} MB on disk")
    for key, value in best.items():
        print(f"{key:12s} {value:7.3f} s")
    print(f"write: checksum adds {best['write+seal'] / best['write'] - 1:+.1%}")
    print(f"open (load=True): verification adds {best['open+verify'] / best['open'] - 1:+.1%}")
    print(f"hashing alone: {hashing:.3f} s ({size / 1e6 / hashing:.0f} MB/s)")


if __name__ == "__main__":
    main()
