"""Variance partitioning in tables and in the report: unique and shared variance of layers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainbridge.report import figures as fg
from brainbridge.report.html import Section, figure_html, fmt, table_html
from brainbridge.report.partition_table import PARTITION_COLUMNS, tidy_partition

REGION_KINDS = ("unique", "shared")


def partition_png(ds: xr.Dataset) -> bytes:
    """Bars of unique and shared variance per region (fMRI), or their time courses (M/EEG)."""
    summary = ds["summary"]
    comps = [str(c) for c in summary["component"].values if str(c).split(":")[0] in REGION_KINDS]
    regions = [str(r) for r in summary["region"].values]
    if "time" in summary.dims:
        fig = Figure(figsize=(7, 3.2 * len(regions)))
        axes = np.atleast_1d(fig.subplots(len(regions), 1))
        t_ms = summary["time"].values * 1000
        for ax, region in zip(axes, regions):
            for i, c in enumerate(comps):
                ax.plot(t_ms, summary.sel(component=c, region=region).values, label=c,
                        **fg.line_style(i))  # fmt: skip
            ax.axhline(0, color="0.6", lw=0.8)
            ax.set_xlabel("time (ms)")
            ax.set_ylabel("held-out R²")
            ax.set_title(region, fontsize=9)
        axes[0].legend(fontsize=7)
    else:
        fig = Figure(figsize=(max(5, 1.6 * len(regions) + 2), 3.4))
        ax = fig.subplots()
        width = 0.8 / max(len(comps), 1)
        x = np.arange(len(regions))
        for i, c in enumerate(comps):
            ax.bar(x + (i - (len(comps) - 1) / 2) * width, summary.sel(component=c).values,
                   width, label=c)  # fmt: skip
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xticks(x, regions)
        ax.set_ylabel("held-out R²")
        ax.legend(fontsize=7)
    fig.suptitle(f"{ds.attrs.get('dataset')} × {ds.attrs.get('model')}: " + " vs ".join(
        map(str, ds.attrs["spaces"])), fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fg._png(fig)


def partition_section(paths: Sequence[str | os.PathLike]) -> Section | None:
    """The report section of the partition stores at ``paths`` (None when there are none)."""
    if not paths:
        return None
    from brainbridge.store import open_store

    parts = []
    for path in paths:
        ds = open_store(path, "partition", load=True)
        spaces = " vs ".join(map(str, ds.attrs["spaces"]))
        summary = ds["summary"]
        if "time" in summary.dims:  # M/EEG: the mean over time points
            summary = summary.mean("time")
        components = [str(c) for c in summary["component"].values]
        rows = [
            [escape(str(ds.attrs.get(k, ""))) for k in ("dataset", "model")]
            + [escape(spaces), escape(str(region))]
            + [fmt(float(summary.sel(region=region, component=c))) for c in components]
            for region in summary["region"].values
        ]
        parts.append(table_html(("Dataset", "Model", "Layers", "Region", *components), rows))
        parts.append(
            figure_html(
                partition_png(ds),
                alt=f"variance partition {ds.attrs.get('dataset')} {spaces}",
                caption="Unique variance of a layer: held-out R² of the joint (banded ridge) "
                "model minus that of the model without the layer; shared: variance explained "
                "by either layer alike (R² of each alone minus the joint R²).",
            )
        )
    intro = (
        "<p>Variance partitioning: every subset of the layers is fitted (banded ridge, one "
        "penalty per layer with per-target band weights chosen by inner cross-validation) and "
        "scored by held-out R² on the same folds; the explained variance is split into the "
        "part unique to each layer and the part they share (M/EEG: mean over time points in "
        "the table).</p>"
    )
    return Section("Variance partitioning", intro + "".join(parts))


__all__ = ["PARTITION_COLUMNS", "partition_png", "partition_section", "tidy_partition"]
