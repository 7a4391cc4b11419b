"""Temporal response functions in the report: weights over lags (butterfly) and a tidy table."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from brainbridge.report.escape import escape
from brainbridge.report.figures import _png, line_style
from brainbridge.store import names as n
from brainbridge.store import open_store

PathLike = str | os.PathLike
MAX_FEATURES = 6  # features drawn as global field power lines


def tidy_trf(ds: xr.Dataset) -> pd.DataFrame:
    """One row per layer (or feature file) x channel: held-out score and alpha."""
    score = ds["score"].values
    alpha = ds["alpha"].values
    layers = ds[n.LAYER].values.astype(str)
    channels = ds[n.CHANNEL].values.astype(str)
    rows = {
        "dataset": ds.attrs.get("dataset", ""),
        "model": ds.attrs.get("model", ""),
        "layer": np.repeat(layers, len(channels)),
        "channel": np.tile(channels, len(layers)),
        "scoring": ds.attrs.get("scoring", ""),
        "score": score.ravel(),
        "alpha": alpha.ravel(),
        "tmin": ds.attrs.get("tmin"),
        "tmax": ds.attrs.get("tmax"),
    }
    return pd.DataFrame(rows)


def _dominant_feature(weight: np.ndarray) -> int:
    """The feature with the largest RMS weight (over lags and channels)."""
    return int(np.argmax(np.sqrt((weight**2).mean(axis=(0, 2)))))


def trf_png(ds: xr.Dataset, title: str) -> bytes:
    """Per layer: a butterfly (every channel's weights over lags) of the dominant feature, and
    the global field power (RMS over channels) of each feature's weights."""
    layers = ds[n.LAYER].values.astype(str)
    lags_ms = ds[n.LAG].values * 1000.0
    features = ds[n.FEATURE].values.astype(str)
    fig = Figure(figsize=(9.0, 2.4 * len(layers) + 0.6))
    axes = fig.subplots(len(layers), 2, squeeze=False)
    for row, layer in enumerate(layers):
        weight = ds["weight"].sel({n.LAYER: layer}).values  # lag x feature x channel
        top = _dominant_feature(weight)
        left, right = axes[row]
        left.plot(lags_ms, weight[:, top, :], color="#555555", linewidth=0.6, alpha=0.6)
        left.axhline(0, color="black", linewidth=0.5)
        left.axvline(0, color="black", linewidth=0.5, linestyle=":")
        left.set_title(f"{layer}: {features[top]}, every channel", fontsize=9)
        left.set_ylabel("weight")
        gfp = np.sqrt((weight**2).mean(axis=2))  # lag x feature
        order = np.argsort(-gfp.max(axis=0))[:MAX_FEATURES]
        for f in order:
            right.plot(lags_ms, gfp[:, f], label=features[f], linewidth=1.2, **line_style(f))
        right.axvline(0, color="black", linewidth=0.5, linestyle=":")
        right.set_title(f"{layer}: global field power per feature", fontsize=9)
        right.legend(fontsize=7, frameon=False)
    for ax in axes[-1]:
        ax.set_xlabel("lag (ms; > 0: response after the stimulus)")
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.9, hspace=0.6, wspace=0.25)
    return _png(fig)


def trf_section(paths: Sequence[PathLike]):
    """A report section over the TRF stores: one figure and a score table per store."""
    from brainbridge.report.html import Section, figure_html, fmt, table_html

    parts = [
        "<p>Temporal response functions: time-lagged ridge from a stimulus feature time series "
        "(a feature file, or a layer's PCA components as impulses at each stimulus onset) to "
        "each channel of a continuous recording, scored on held-out contiguous blocks.</p>"
    ]
    for path in paths:
        ds = open_store(path, "trf", load=True)
        name = f"{ds.attrs.get('dataset', '?')} × {ds.attrs.get('model', '?')}"
        parts.append(f"<h3>{escape(name)}</h3>")
        parts.append(figure_html(trf_png(ds, name), alt=f"TRF weights {name}"))
        rows = []
        for layer in ds[n.LAYER].values.astype(str):
            score = ds["score"].sel({n.LAYER: layer}).values
            best = int(np.nanargmax(score)) if np.isfinite(score).any() else 0
            rows.append(
                [
                    escape(layer),
                    fmt(np.nanmean(score)),
                    escape(str(ds[n.CHANNEL].values[best])),
                    fmt(score[best]),
                ]
            )
        scoring = escape(str(ds.attrs.get("scoring", "score")))
        header = ["layer", f"mean {scoring}", "best channel", scoring]
        parts.append(table_html(header, rows))
    return Section("Temporal response functions", "".join(parts))
