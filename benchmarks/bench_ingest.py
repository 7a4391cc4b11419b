"""M/EEG ingestion throughput: brainbridge versus plain MNE + numpy.

For each EEGBCI run of subject S001 (EDF+, 64 channels, 160 Hz, about 125 s), the time from the
file on disk to a written result, best of ``--repeat`` runs:

- brainbridge: ``ingest_dataset`` (brainbridge's reader, ``store: continuous``, no filtering,
  no re-referencing, no PSD QC) then ``write_store`` (validated, atomic Zarr v3 store);
- plain: ``mne.io.read_raw(path, preload=True).get_data()`` then ``numpy.save``.

Throughput is raw file bytes read per second (MB = 1e6 bytes), summed over the files; the
ratio is brainbridge / plain (above 1 = brainbridge faster). A second row times the full
preprocessing chain of ``config/examples/eegbci-motor.yaml`` (channel standardization, montage,
bad-channel detection + interpolation, 1-40 Hz band-pass, 60 Hz notch, average reference, PSD QC)
into the same continuous store, for information only (plain MNE does none of that work).

Run: ``python benchmarks/bench_ingest.py [--data ../shared/data] [--repeat 5]`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import mne
import numpy as np

from brainbridge.ingest.meeg import ingest_dataset
from brainbridge.store import write_store

ROOT = Path(__file__).resolve().parents[1]
RUNS = ["S001R03", "S001R04", "S001R07", "S001R08", "S001R11", "S001R12"]

NO_FILTER = {
    "modality": "eeg",
    "source": "raw",
    "store": "continuous",
    "qc_psd": False,
    "preprocessing": {"reference": None},
}
FULL_CHAIN = {
    "modality": "eeg",
    "source": "raw",
    "store": "continuous",
    "channels": {"standardize": "eegbci", "montage": "colin27_1005"},
    "preprocessing": {
        "bads": {"detect": True, "interpolate": True},
        "l_freq": 1.0,
        "h_freq": 40.0,
        "notch": 60.0,
        "reference": "average",
    },
}


def timed(fn: Callable[..., object], *args: object, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def brainbridge_ingest(src: Path, out: Path, cfg: dict) -> None:
    ds, _ = ingest_dataset([src], cfg)
    write_store(ds, out, kind="continuous")


def plain_ingest(src: Path, out: Path) -> None:
    data = mne.io.read_raw(src, preload=True, verbose="error").get_data()
    np.save(out, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("BRAINBRIDGE_DATA", str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", default=default_data, help="the shared data folder")
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs per file")
    args = parser.parse_args()
    files = [Path(args.data) / "eegbci" / "S001" / f"{r}.edf" for r in RUNS]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise SystemExit(f"EEGBCI runs missing: {missing}; pass --data (the shared data folder).")

    totals = {"brainbridge": 0.0, "plain": 0.0, "full": 0.0}
    sizes = {"brainbridge": 0, "plain": 0, "full": 0}
    n_bytes = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for src in files:
            n_bytes += src.stat().st_size
            bb, pl, full = tmp / f"{src.stem}.zarr", tmp / f"{src.stem}.npy", tmp / "full.zarr"
            plain_ingest(src, pl)  # warm-up (imports, page cache) outside the timings
            brainbridge_ingest(src, bb, NO_FILTER)
            n = args.repeat
            totals["plain"] += timed(plain_ingest, src, pl, repeat=n)
            totals["brainbridge"] += timed(brainbridge_ingest, src, bb, NO_FILTER, repeat=n)
            totals["full"] += timed(brainbridge_ingest, src, full, FULL_CHAIN, repeat=n)
            sizes["plain"] += size_of(pl)
            sizes["brainbridge"] += size_of(bb)
            sizes["full"] += size_of(full)

    mb = n_bytes / 1e6
    print(
        f"{len(files)} EEGBCI EDF runs, {mb:.1f} MB read in all; best of {args.repeat} per file, "
        "summed"
    )
    print(f"{'path':<46}{'time (s)':>10}{'MB/s':>9}{'written (MB)':>14}")
    rows = [
        ("plain: mne read_raw + get_data + np.save", "plain"),
        ("brainbridge: reader + continuous store", "brainbridge"),
        ("brainbridge: full chain (info only)", "full"),
    ]
    for label, key in rows:
        print(f"{label:<46}{totals[key]:>10.3f}{mb / totals[key]:>9.1f}{sizes[key] / 1e6:>14.2f}")
    ratio = totals["plain"] / totals["brainbridge"]
    print(f"ratio brainbridge / plain throughput: {ratio:.2f}x (above 1 = brainbridge faster)")


if __name__ == "__main__":
    main()
