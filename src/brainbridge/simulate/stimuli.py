"""Procedurally generated image stimuli in a few shape/texture categories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from brainbridge.atomic import write_table

CATEGORIES = ("disc", "square", "triangle", "stripes", "checker", "ring")


def _color(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, size=3))


def _distinct_colors(rng: np.random.Generator) -> tuple[tuple, tuple]:
    while True:
        fg, bg = _color(rng), _color(rng)
        if np.abs(np.subtract(fg, bg)).sum() > 200:
            return fg, bg


def draw_stimulus(category: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One RGB image of ``category`` with random colours, position, scale and orientation."""
    scale = 4  # draw large, then downsample with antialiasing
    big = size * scale
    fg, bg = _distinct_colors(rng)
    img = Image.new("RGB", (big, big), bg)
    draw = ImageDraw.Draw(img)
    radius = big * rng.uniform(0.18, 0.32)
    cx, cy = big * rng.uniform(0.35, 0.65, size=2)
    angle = rng.uniform(0, math.pi)
    if category == "disc":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fg)
    elif category == "ring":
        draw.ellipse(
            [cx - radius, cy - radius, cx + radius, cy + radius],
            outline=fg,
            width=max(2, int(radius * 0.3)),
        )
    elif category in ("square", "triangle"):
        corners = 4 if category == "square" else 3
        pts = [
            (
                cx + radius * math.cos(angle + 2 * math.pi * k / corners),
                cy + radius * math.sin(angle + 2 * math.pi * k / corners),
            )
            for k in range(corners)
        ]
        draw.polygon(pts, fill=fg)
    elif category == "stripes":
        period = big / rng.uniform(3, 6)
        yy, xx = np.mgrid[0:big, 0:big]
        phase = (xx * math.cos(angle) + yy * math.sin(angle)) / period
        mask = (phase % 1.0) < 0.5
        arr = np.where(mask[..., None], np.array(fg), np.array(bg)).astype(np.uint8)
        img = Image.fromarray(arr, "RGB")
    elif category == "checker":
        period = big / rng.uniform(3, 6)
        yy, xx = np.mgrid[0:big, 0:big]
        mask = ((xx // period + yy // period) % 2).astype(bool)
        arr = np.where(mask[..., None], np.array(fg), np.array(bg)).astype(np.uint8)
        img = Image.fromarray(arr, "RGB")
    else:
        raise ValueError(f"unknown stimulus category {category!r}; choose from {CATEGORIES}.")
    return img.resize((size, size), Image.Resampling.LANCZOS)


def make_stimuli(
    out_dir: str | Path,
    *,
    categories: tuple[str, ...] | list[str] = CATEGORIES,
    per_category: int = 20,
    image_size: int = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Write PNG stimuli and ``manifest.tsv`` (stimulus, file, category) into ``out_dir``."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for category in categories:
        for k in range(per_category):
            stimulus = f"{category}-{k:03d}"
            file = f"images/{stimulus}.png"
            draw_stimulus(category, image_size, rng).save(out_dir / file)
            rows.append({"stimulus": stimulus, "file": file, "category": category})
    manifest = pd.DataFrame(rows)
    write_table(manifest, out_dir / "manifest.tsv")
    return manifest
