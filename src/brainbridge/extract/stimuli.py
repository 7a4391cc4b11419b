"""Stimulus sets: manifests (TSV: stimulus id, file or text, labels) and input loading.

A manifest is a tab-separated table with one row per stimulus: a ``stimulus`` id and either a
``file`` (image or WAV audio, relative to the manifest's folder) or a ``text``; any other column
is a label. ``columns`` maps these roles to other column names (``{"file": "path"}``). A folder
of images stands for a manifest whose ids are the file stems.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

if TYPE_CHECKING:  # torch is imported by the functions that build tensors (manifests need none)
    import torch

from brainbridge.integrity import read_table

REQUIRED_COLUMNS = ("stimulus", "file")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
CONVERTIBLE_MODES = ("RGB", "L", "LA", "RGBA", "P", "PA", "CMYK", "YCbCr")


def _image_folder(path: Path) -> pd.DataFrame:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(
            f"stimulus folder {path} holds no image ({', '.join(IMAGE_SUFFIXES)}); give a "
            "manifest TSV or a folder of images."
        )
    stems = [p.stem for p in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(f"stimulus folder {path}: several files share the id(s) {dup[:5]}.")
    return pd.DataFrame({"stimulus": stems, "file": [p.name for p in files]})


def read_manifest(
    path: str | Path, columns: Mapping[str, str] | None = None, *, kind: str | None = None
) -> pd.DataFrame:
    """Read a stimulus set: a manifest TSV or a folder of images.

    ``columns`` maps the roles ``stimulus``, ``file`` and ``text`` to the manifest's own column
    names. ``kind`` (``image``, ``audio``, ``text``) says which column the stimuli need; by
    default a ``file`` column is needed unless the manifest has only ``text``. ``file`` paths
    are resolved relative to the manifest and returned in a ``path`` column.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"stimulus manifest {path} does not exist.")
    if path.is_dir():
        table = _image_folder(path)
        folder = path
    else:
        table = read_table(path, "stimulus manifest", dtype=str, keep_default_na=False)
        folder = path.parent
    rename = {theirs: ours for ours, theirs in (columns or {}).items() if theirs != ours}
    absent = [theirs for theirs in rename if theirs not in table.columns]
    if absent:
        raise ValueError(
            f"stimulus manifest {path} lacks the mapped column(s) {absent}; its columns are "
            f"{list(table.columns)}."
        )
    table = table.rename(columns=rename)
    if kind is None:
        kind = "text" if "text" in table.columns and "file" not in table.columns else "image"
    needed = ("stimulus", "text") if kind == "text" else REQUIRED_COLUMNS
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(
            f"stimulus manifest {path} lacks column(s) {missing}; it needs a tab-separated "
            f"header with {list(needed)} (plus optional label columns), or a `columns` "
            "mapping naming its own columns for these roles."
        )
    table["stimulus"] = table["stimulus"].astype(str)
    empty = table.index[table["stimulus"].str.strip() == ""].tolist()
    if empty:
        raise ValueError(f"stimulus manifest {path}: empty stimulus id on row(s) {empty[:5]}.")
    dup = table["stimulus"][table["stimulus"].duplicated()].tolist()
    if dup:
        raise ValueError(f"stimulus manifest {path}: duplicated stimulus ids {dup[:5]}.")
    if kind == "text":
        return table
    table["path"] = [str((folder / f).resolve()) for f in table["file"]]
    absent = [p for p in table["path"] if not Path(p).exists()]
    if absent:
        raise FileNotFoundError(
            f"stimulus manifest {path}: {len(absent)} file(s) missing, e.g. {absent[:3]}. "
            "Paths in the 'file' column are relative to the manifest's folder."
        )
    return table


RESIZE_METHODS = ("bilinear-antialias", "lanczos", "bicubic")


def resize_image(rgb: Image.Image, size: int, method: str = "bilinear-antialias") -> np.ndarray:
    """An RGB image resized to ``size`` x ``size`` as float32 (H, W, 3) in [0, 1].

    ``bilinear-antialias``: torchvision's tensor path (``torch.nn.functional.interpolate``,
    bilinear, ``antialias=True``: a triangle filter widened by the scale factor when
    shrinking), on the float image, no rounding; ``lanczos`` / ``bicubic``: PIL's filters on
    the 8-bit image. An image already at ``size`` is left as it is.
    """
    import torch

    if method not in RESIZE_METHODS:
        raise ValueError(f"unknown image resize {method!r}; choose from {RESIZE_METHODS}.")
    if rgb.size == (size, size):
        return np.asarray(rgb, dtype=np.float32) / 255.0
    if method == "bilinear-antialias":
        x = torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        out = torch.nn.functional.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        return out[0].permute(1, 2, 0).numpy()
    filters = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC}
    return np.asarray(rgb.resize((size, size), filters[method]), dtype=np.float32) / 255.0


def _open_image(path: str) -> Image.Image:
    """An image decoded whole (a truncated or damaged file raises naming it)."""
    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError) as err:  # PIL's errors for damaged files
        raise ValueError(
            f"image stimulus {path} could not be read ({type(err).__name__}: {err}); the file is "
            "truncated or not an image. Copy or export it again."
        ) from err
    return img


def load_images(
    paths: list[str],
    *,
    size: int,
    mean: list[float],
    std: list[float],
    resize: str = "bilinear-antialias",
) -> torch.Tensor:
    """Load images as RGB, resize to ``size`` x ``size`` (:func:`resize_image`), normalize.

    Grey, palette, CMYK and alpha images are converted to RGB (alpha is dropped); modes that
    cannot be converted without a choice of scale (16-bit, float) are refused.
    """
    import torch

    arrays = []
    for p in paths:
        with _open_image(p) as img:
            if img.mode not in CONVERTIBLE_MODES:
                raise ValueError(
                    f"image {p} has mode {img.mode!r} (e.g. 16-bit or float), which has no "
                    f"unambiguous RGB conversion; convert it to 8-bit RGB first (convertible "
                    f"modes: {', '.join(CONVERTIBLE_MODES)})."
                )
            arrays.append(resize_image(img.convert("RGB"), size, resize))
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    m = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32)[None, :, None, None]
    return (x - m) / s


def tokenize(
    texts: list[str],
    tokenizer,
    *,
    max_length: int,
    truncation: bool = False,
    pad_to_max: bool = False,
    ids: list[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Token ids and attention masks of ``texts`` by the model's own tokenizer.

    A text longer than ``max_length`` tokens is an error unless ``truncation`` is set.
    ``pad_to_max`` pads every batch to ``max_length`` (fixed shapes, needed by ``flatten``).
    """
    if not truncation:
        lengths = [len(tokenizer(t, truncation=False)["input_ids"]) for t in texts]
        long = [(i, n) for i, n in enumerate(lengths) if n > max_length]
        if long:
            i, length = long[0]
            name = ids[i] if ids else f"#{i}"
            raise ValueError(
                f"text stimulus {name!r} has {length} tokens; the model accepts {max_length} "
                f"({len(long)} text(s) too long in this batch). Shorten it, or set "
                "models.<name>.text.truncation: true to keep the first tokens."
            )
    return dict(
        tokenizer(
            texts,
            padding="max_length" if pad_to_max else "longest",
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
    )


def load_audio(paths: list[str], *, sample_rate: int, duration: float) -> torch.Tensor:
    """Mono WAV waveforms resampled to ``sample_rate``, cut or zero-padded to ``duration`` s."""
    from math import gcd

    import torch
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    n_samples = round(sample_rate * duration)
    out = np.zeros((len(paths), n_samples), dtype=np.float32)
    for row, p in enumerate(paths):
        try:
            rate, wave = wavfile.read(p)
        except ValueError as err:
            raise ValueError(f"audio stimulus {p} is not a readable WAV file: {err}") from err
        if wave.dtype.kind == "i":
            wave = wave / float(np.iinfo(wave.dtype).max)
        elif wave.dtype.kind == "u":
            wave = (wave - 128.0) / 128.0
        wave = np.asarray(wave, dtype=np.float64)
        if wave.ndim == 2:
            wave = wave.mean(axis=1)
        if rate != sample_rate:
            g = gcd(int(rate), int(sample_rate))
            wave = resample_poly(wave, sample_rate // g, int(rate) // g)
        take = min(n_samples, wave.shape[0])
        out[row, :take] = wave[:take]
    return torch.from_numpy(out)
