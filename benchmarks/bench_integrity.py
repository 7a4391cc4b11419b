"""Cost of the whole-file checks against the reads they guard.

- gzip: :func:`brainbridge.integrity.gzip_length` (CRC-32 and length of every member, output
  discarded) vs nibabel loading the same ``.nii.gz`` with its data (``get_fdata``), and vs
  Python's ``gzip.decompress``.
- EDF / FIF: :func:`brainbridge.ingest.meeg.readers.check_recording` (header arithmetic, or a
  walk over the FIF tag headers) vs ``mne.io.read_raw(preload=True)`` of the same file.

Times are the best of --repeat runs (the gzip check's per-file cache is cleared between runs).
Prints seconds and the ratios check / read.

    python benchmarks/bench_integrity.py [--repeat 5] [--volumes 200]
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
import time
from pathlib import Path

import mne
import nibabel as nib
import numpy as np

from brainbridge.ingest.meeg.readers import check_recording
from brainbridge.integrity import _gzip_length, gzip_length

DATA = Path(os.environ.get("BRAINBRIDGE_DATA", Path(__file__).resolve().parents[2] / "shared/data"))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        _gzip_length.cache_clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--volumes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        bold = (1000 + 50 * rng.normal(size=(64, 64, 32, args.volumes))).astype(np.int16)
        path = Path(tmp) / "bold.nii.gz"
        nib.save(nib.Nifti1Image(bold, np.eye(4)), path)
        mb = path.stat().st_size / 1e6
        check = best(lambda: gzip_length(path), args.repeat)
        load = best(lambda: nib.load(path).get_fdata(), args.repeat)
        plain = best(lambda: gzip.decompress(path.read_bytes()), args.repeat)
        print(f"nii.gz {mb:.1f} MB ({bold.nbytes / 1e6:.0f} MB of voxels):")
        print(f"  gzip_length {check:.3f} s | nibabel load {load:.3f} s | gzip {plain:.3f} s")
        print(f"  check / nibabel load = {check / load:.2f}; check / gzip = {check / plain:.2f}")
    for rel in ("eegbci/S001/S001R04.edf", "mne-testing/SSS/sample_audvis_trunc_raw_sss.fif"):
        raw_path = DATA / rel
        if not raw_path.exists():
            print(f"{rel}: absent (set BRAINBRIDGE_DATA)")
            continue
        check = best(lambda p=raw_path: check_recording(p), args.repeat)
        read = best(
            lambda p=raw_path: mne.io.read_raw(p, preload=True, verbose="error"), args.repeat
        )
        print(f"{rel}: check {check * 1e3:.2f} ms | read_raw {read * 1e3:.1f} ms")
        print(f"  check / read_raw = {check / read:.4f}")


if __name__ == "__main__":
    main()
