"""Report section of decoding results: identification curves over time per layer (ridge and
contrastive side by side), region tables, temporal-generalization matrices with clusters."""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainbridge.report import figures as fg
from brainbridge.report.html import Section, figure_html, fmt, fmt_p, table_html
from brainbridge.store import names as n
from brainbridge.store import open_store

PathLike = str | os.PathLike


def _curves_png(ds: xr.Dataset, title: str) -> bytes:
    """Top-1 over window centres per layer; one panel per decoder; chance dotted."""
    decoders = ds[n.DECODER].values.astype(str).tolist()
    fig = Figure(figsize=(4.2 * len(decoders), 3.0))
    axes = fig.subplots(1, len(decoders), sharey=True, squeeze=False)[0]
    res = ds.sel({n.METRIC: "correlation", n.LEVEL: "trial"})
    t_ms = 1000 * ds[n.TIME].values
    for ax, dec in zip(axes, decoders):
        for i, layer in enumerate(ds[n.LAYER].values.astype(str)):
            y = res["score"].sel({n.DECODER: dec, n.LAYER: layer}).values
            ok = np.isfinite(y)
            ax.plot(t_ms[ok], y[ok], label=layer, **fg.line_style(i))
        chance = float(np.nanmean(res["chance"].sel({n.DECODER: dec, n.TOP_K: 1}).values))
        ax.axhline(chance, color="#999999", linestyle=":", label="chance")
        ax.set_title(f"{dec}", fontsize=9)
        ax.set_xlabel("window centre (ms)")
    axes[0].set_ylabel("top-1 identification")
    fig.subplots_adjust(left=0.12, bottom=0.2, top=0.82)
    axes[-1].legend(fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=9)
    return fg._png(fig)


def _generalization_png(ds: xr.Dataset, title: str) -> bytes:
    """Train x test score matrix with outlines of clusters at p < 0.05, and the diagonal."""
    times = ds[n.TRAIN_TIME].values
    score = ds["score"].values
    fig = Figure(figsize=(8.0, 3.4))
    ax, ax2 = fig.subplots(1, 2)
    xe = fg._edges(times)
    mesh = ax.pcolormesh(xe, xe, score, cmap=fg.HEATMAP_CMAP, shading="flat")
    fig.colorbar(mesh, ax=ax, label=str(ds.attrs.get("scoring", "score")))
    sig = np.isin(ds["matrix_cluster"].values, _significant(ds, "matrix"))
    if sig.any():
        ax.contour(times, times, sig.astype(float), levels=[0.5], colors="white", linewidths=1)
    ax.set_xlabel("test time (s)")
    ax.set_ylabel("train time (s)")
    ax.set_title("temporal generalization (white: clusters p < 0.05)", fontsize=8)
    fig.subplots_adjust(bottom=0.18, wspace=0.35)
    ax2.plot(times, ds["diagonal"].values, color=fg.OKABE_ITO[0])
    ax2.axhline(float(ds.attrs["chance"]), color="#999999", linestyle=":")
    dsig = np.isin(ds["diagonal_cluster"].values, _significant(ds, "diagonal"))
    if dsig.any():
        ax2.fill_between(
            times,
            0,
            1,
            where=dsig,
            color=fg.WINDOW_COLOR,
            alpha=0.4,
            transform=ax2.get_xaxis_transform(),
        )
    ax2.set_xlabel("time (s)")
    ax2.set_title("sliding (diagonal; shaded: clusters p < 0.05)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fg._png(fig)


def _significant(ds: xr.Dataset, test: str, alpha: float = 0.05) -> list[int]:
    return [i for i, p in enumerate(ds.attrs.get(f"{test}_cluster_p", []), 1) if p < alpha]


def _best_rows(ds: xr.Dataset) -> list[list[str]]:
    """Per decoder x layer: the best window/region by top-1 (correlation, trial level)."""
    unit = n.TIME if n.TIME in ds.dims else n.REGION
    res = ds.sel({n.METRIC: "correlation", n.LEVEL: "trial"})
    rows = []
    for dec in res[n.DECODER].values.astype(str):
        for layer in res[n.LAYER].values.astype(str):
            r = res.sel({n.DECODER: dec, n.LAYER: layer})
            score = r["score"].values
            if not np.isfinite(score).any():
                continue
            i = int(np.nanargmax(score))
            at = r.isel({unit: i})
            where = f"{float(at[unit]):.3f} s" if unit == n.TIME else str(at[unit].values)
            rows.append(
                [
                    escape(dec),
                    escape(layer),
                    escape(where),
                    fmt(float(at["score"])),
                    fmt(float(at["top_k"].sel({n.TOP_K: 5}))) if 5 in r[n.TOP_K] else "—",
                    fmt(float(at["chance"].sel({n.TOP_K: 1}))),
                    fmt(float(at["mean_rank"])),
                    fmt_p(float(at["p_value"])),
                ]
            )
    return rows


def _by_pair(paths: Sequence[PathLike]) -> list[xr.Dataset]:
    """The stores of one dataset x model (one per layer job) joined along ``layer``."""
    groups: dict[tuple[str, str], list[xr.Dataset]] = {}
    for path in paths:
        ds = open_store(path, "decoding", load=True)
        key = (str(ds.attrs.get("dataset", "?")), str(ds.attrs.get("model", "?")))
        groups.setdefault(key, []).append(ds)
    return [
        dss[0] if len(dss) == 1 else xr.concat(dss, n.LAYER, combine_attrs="drop_conflicts")
        for dss in groups.values()
    ]


def decoding_section(
    decoding: Sequence[PathLike], generalization: Sequence[PathLike] = ()
) -> Section:
    """One section over every decoding and generalization store."""
    parts = [
        "<p>Identification: the rank of the true stimulus among the held-out candidates "
        "(correlation of predicted and candidate layer features, single trials). Top-1 / top-5 "
        "with their chance levels; mean normalised rank (0 best, 0.5 chance); permutation p of "
        "the mean rank.</p>"
    ]
    header = [
        "decoder",
        "layer",
        "best window / region",
        "top-1",
        "top-5",
        "chance top-1",
        "mean rank",
        "p",
    ]
    for ds in _by_pair(decoding):
        name = f"{ds.attrs.get('dataset', '?')} × {ds.attrs.get('model', '?')}"
        parts.append(f"<h3>{escape(name)}</h3>")
        if n.TIME in ds.dims:
            parts.append(
                figure_html(
                    _curves_png(ds, name),
                    alt=f"identification over time {name}",
                    caption="top-1 per window and layer; ridge and contrastive side by side",
                )
            )
        parts.append(table_html(header, _best_rows(ds)))
    for path in generalization:
        ds = open_store(path, "generalization", load=True)
        name = str(ds.attrs.get("dataset", "?"))
        parts.append(f"<h3>{escape(name)}: temporal generalization</h3>")
        parts.append(
            figure_html(_generalization_png(ds, name), alt=f"temporal generalization {name}")
        )
        rows = [
            [escape(test), str(i), fmt_p(p)]
            for test in ("diagonal", "matrix")
            for i, p in enumerate(ds.attrs.get(f"{test}_cluster_p", []), 1)
            if p < 0.25
        ]
        parts.append(table_html(["test", "cluster", "p"], rows))
    return Section("Decoding", "".join(parts))
