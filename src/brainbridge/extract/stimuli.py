"""Stimulus manifests (TSV: stimulus, file, labels) and image loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

REQUIRED_COLUMNS = ("stimulus", "file")


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read a stimulus manifest; ``file`` paths are resolved relative to the manifest."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"stimulus manifest {path} does not exist.")
    table = pd.read_csv(path, sep="\t", dtype={"stimulus": str})
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"stimulus manifest {path} lacks column(s) {missing}; it needs a tab-separated "
            f"header with {list(REQUIRED_COLUMNS)} (plus optional label columns)."
        )
    dup = table["stimulus"][table["stimulus"].duplicated()].tolist()
    if dup:
        raise ValueError(f"stimulus manifest {path}: duplicated stimulus ids {dup[:5]}.")
    table["path"] = [str((path.parent / f).resolve()) for f in table["file"]]
    absent = [p for p in table["path"] if not Path(p).exists()]
    if absent:
        raise FileNotFoundError(
            f"stimulus manifest {path}: {len(absent)} file(s) missing, e.g. {absent[:3]}. "
            "Paths in the 'file' column are relative to the manifest's folder."
        )
    return table


def load_images(
    paths: list[str], *, size: int, mean: list[float], std: list[float]
) -> torch.Tensor:
    """Load RGB images, resize (antialiased) to ``size`` x ``size`` and normalize."""
    arrays = []
    for p in paths:
        with Image.open(p) as img:
            if img.mode not in ("RGB", "L", "RGBA", "P"):
                raise ValueError(f"image {p} has mode {img.mode!r}; convert it to RGB.")
            rgb = img.convert("RGB")
            if rgb.size != (size, size):
                rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
            arrays.append(np.asarray(rgb, dtype=np.float32) / 255.0)
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    m = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32)[None, :, None, None]
    return (x - m) / s
