"""PNG figures for the report: heatmaps (region x layer, layer x time) and per-layer time courses.

Every function builds its own :class:`matplotlib.figure.Figure` on an Agg canvas (no pyplot,
no global state) and returns the PNG bytes. Colours are colour-vision-deficiency safe: the
Okabe-Ito palette for lines and ``cividis`` for heatmaps.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import blended_transform_factory

from brainbridge.correction import fdr_bh

OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#F0E442",
)
LINESTYLES = ("-", "--", "-.", ":")
HEATMAP_CMAP = "cividis"
WINDOW_COLOR = "#F0E442"
CEILING_COLOR = "#999999"
MAX_ANNOTATED_CELLS = 160
MAX_CI_CELLS = 60
DPI = 110
ALPHA = 0.05

Band = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Window:
    """A planted time window (seconds) and the layer planted there."""

    name: str
    tmin: float
    tmax: float
    layer: str | None = None


def fdr_adjust(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values across all finite entries; NaN stays NaN."""
    return fdr_bh(np.clip(np.asarray(p_values, dtype=float), 0.0, 1.0))


def fdr_significant(p_values: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Boolean mask of entries with BH-FDR adjusted p < ``alpha`` (False where p is NaN)."""
    q = fdr_adjust(p_values)
    return np.isfinite(q) & (q < alpha)


def line_style(index: int) -> dict:
    """Colour and dash pattern of the ``index``-th line (colours first, then dash patterns)."""
    return {
        "color": OKABE_ITO[index % len(OKABE_ITO)],
        "linestyle": LINESTYLES[(index // len(OKABE_ITO)) % len(LINESTYLES)],
    }


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes; every text is drawn as written (names are data, not mathtext)."""
    buffer = io.BytesIO()
    try:
        for text in fig.findobj(Text):
            text.set_parse_math(False)
        FigureCanvasAgg(fig)
        fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    finally:
        fig.clear()
    return buffer.getvalue()


def _edges(centers: np.ndarray) -> np.ndarray:
    """Cell edges around sorted (possibly uneven) centres."""
    c = np.asarray(centers, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def _outline_segments(mask: np.ndarray, xe: np.ndarray, ye: np.ndarray) -> list:
    """Line segments tracing the border of the True regions of ``mask`` (rows x cols)."""
    padded = np.pad(mask, 1)
    segments = []
    for i, j in zip(*np.nonzero(mask), strict=True):
        if not padded[i, j + 1]:  # row above (lower index) is empty
            segments.append([(xe[j], ye[i]), (xe[j + 1], ye[i])])
        if not padded[i + 2, j + 1]:
            segments.append([(xe[j], ye[i + 1]), (xe[j + 1], ye[i + 1])])
        if not padded[i + 1, j]:
            segments.append([(xe[j], ye[i]), (xe[j], ye[i + 1])])
        if not padded[i + 1, j + 2]:
            segments.append([(xe[j + 1], ye[i]), (xe[j + 1], ye[i + 1])])
    return segments


def _cell_text(value: float, sig: bool, low: float, high: float, with_ci: bool) -> str:
    if not np.isfinite(value):
        return "n/a"
    text = f"{value:.2f}{'*' if sig else ''}"
    if with_ci and np.isfinite(low) and np.isfinite(high):
        text += f"\n[{low:.2f}, {high:.2f}]"
    return text


def _annotate(ax, values, sig, ci, norm, cmap, xc, yc) -> None:
    low, high = ci if ci is not None else (np.full_like(values, np.nan),) * 2
    with_ci = ci is not None and values.size <= MAX_CI_CELLS
    size = 9 if values.size <= 40 else 7
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            rgb = cmap(norm(v))[:3] if np.isfinite(v) else (1.0, 1.0, 1.0)
            dark = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 0.5
            ax.text(
                xc[j],
                yc[i],
                _cell_text(v, sig[i, j], low[i, j], high[i, j], with_ci),
                ha="center",
                va="center",
                fontsize=size,
                color="white" if dark else "black",
            )


def _heatmap_size(shape: tuple[int, int], timed: bool, with_ci: bool) -> tuple[float, float]:
    rows, cols = shape
    width = 11.0 if timed else min(16.0, max(5.5, 2.8 + 1.0 * cols))
    height = min(14.0, max(2.6, 1.4 + (0.62 if with_ci else 0.42) * rows))
    return width, height


def heatmap_png(
    values: np.ndarray,
    *,
    rows: Sequence[str],
    cols: Sequence[str] | None = None,
    col_times: np.ndarray | None = None,
    title: str,
    colorbar_label: str = "score",
    xlabel: str = "Layer",
    ylabel: str = "Region",
    p_values: np.ndarray | None = None,
    ci: Band | None = None,
    outline: np.ndarray | None = None,
    alpha: float = ALPHA,
) -> bytes:
    """Heatmap of ``values`` (rows x cols) as PNG bytes.

    Columns are categories (``cols``, e.g. layers) or times in seconds (``col_times``, drawn in
    ms). Cells with BH-FDR adjusted p < ``alpha`` (family: all cells) get a ``*`` (or a dot
    when there are too many cells to annotate); ``outline`` marks cells (e.g. planted layers).
    """
    values = np.asarray(values, dtype=float)
    timed = col_times is not None
    sig = fdr_significant(p_values, alpha) if p_values is not None else np.zeros(values.shape, bool)
    sig &= np.isfinite(values)
    annotate = values.size <= MAX_ANNOTATED_CELLS and not timed
    fig = Figure(
        figsize=_heatmap_size(values.shape, timed, ci is not None and annotate),
        layout="constrained",
    )
    ax = fig.add_subplot()
    xc = np.asarray(col_times, float) * 1e3 if timed else np.arange(values.shape[1], dtype=float)
    yc = np.arange(values.shape[0], dtype=float)
    xe, ye = _edges(xc), _edges(yc)
    finite = values[np.isfinite(values)]
    norm = Normalize(*(finite.min(), finite.max()) if finite.size else (0, 1))
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(values), cmap=HEATMAP_CMAP, norm=norm)
    fig.colorbar(mesh, ax=ax, label=colorbar_label, shrink=0.9)
    if annotate:
        _annotate(ax, values, sig, ci, norm, mesh.get_cmap(), xc, yc)
    elif sig.any():
        si, sj = np.nonzero(sig)
        ax.scatter(
            xc[sj],
            yc[si],
            s=14,
            c="white",
            edgecolors="black",
            linewidths=0.4,
            label=f"FDR q < {alpha}",
        )
    if outline is not None and np.asarray(outline).any():
        segments = _outline_segments(np.asarray(outline, bool), xe, ye)
        ax.add_collection(LineCollection(segments, colors="#D55E00", linewidths=2.2))
    _heatmap_axes(ax, rows, cols, yc, timed, xlabel, ylabel, title)
    return _png(fig)


def layer_time_heatmap_png(values, **kwargs) -> bytes:
    """:func:`heatmap_png` of a (layer, time) DataArray: a row per layer, times (s) as columns."""
    values = values.transpose("layer", "time")
    return heatmap_png(
        values.values,
        rows=values["layer"].values,
        col_times=values["time"].values,
        ylabel="Layer",
        **kwargs,
    )


def _heatmap_axes(ax, rows, cols, yc, timed, xlabel, ylabel, title) -> None:
    ax.set_yticks(yc, [str(r) for r in rows])
    ax.invert_yaxis()
    if timed:
        ax.set_xlabel("Time (ms)")
        ax.axvline(0, color="white", linewidth=0.8, linestyle="--")
    else:
        labels = [str(c) for c in (cols if cols is not None else [])]
        tilt = len(labels) > 6 or max(map(len, labels), default=0) > 10
        ax.set_xticks(
            np.arange(len(labels)),
            labels,
            rotation=30 if tilt else 0,
            ha="right" if tilt else "center",
        )
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)


def _shade_windows(ax, windows: Sequence[Window]) -> None:
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for k, w in enumerate(windows):
        ax.axvspan(
            w.tmin * 1e3,
            w.tmax * 1e3,
            color=WINDOW_COLOR,
            alpha=0.3,
            linewidth=0,
            label="planted window" if k == 0 else None,
        )
        label = f"{w.name}: {w.layer}" if w.layer else w.name
        ax.text(
            (w.tmin + w.tmax) / 2 * 1e3,
            0.985,
            label,
            transform=trans,
            ha="center",
            va="top",
            fontsize=8,
            color="#444444",
        )


def _significance_rows(ax, t_ms, significant, names, ymin, span) -> None:
    step = 0.035 * span
    for k, name in enumerate(names):
        mask = np.asarray(significant.get(name, []), bool)
        if mask.any():
            y = ymin - (k + 1) * step
            ax.scatter(
                t_ms[mask],
                np.full(int(mask.sum()), y),
                marker="s",
                s=7,
                color=line_style(k)["color"],
                linewidths=0,
            )


def timecourse_png(
    times: np.ndarray,
    lines: Mapping[str, np.ndarray],
    *,
    title: str,
    ylabel: str,
    ci: Mapping[str, Band] | None = None,
    significant: Mapping[str, np.ndarray] | None = None,
    windows: Sequence[Window] = (),
    noise_ceiling: Band | None = None,
) -> bytes:
    """One line per layer over time (seconds, drawn in ms) as PNG bytes.

    Optional: CI bands per layer, FDR-significant time points as coloured marks under the
    curves, shaded planted ``windows`` and a grey noise-ceiling band.
    """
    t_ms = np.asarray(times, dtype=float) * 1e3
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    ax = fig.add_subplot()
    _shade_windows(ax, windows)
    if noise_ceiling is not None and np.array_equal(*noise_ceiling, equal_nan=True):
        # a single estimate (e.g. the encoding NCSNR ceiling): a dashed line
        ax.plot(t_ms, noise_ceiling[1], color="0.45", linestyle="--", label="noise ceiling")
    elif noise_ceiling is not None and np.isfinite(noise_ceiling[1]).any():
        ax.fill_between(
            t_ms,
            noise_ceiling[0],
            noise_ceiling[1],
            color=CEILING_COLOR,
            alpha=0.35,
            linewidth=0,
            label="noise ceiling",
        )
    for k, (name, y) in enumerate(lines.items()):
        style = line_style(k)
        ax.plot(t_ms, y, label=str(name), linewidth=1.6, **style)
        if ci is not None and name in ci:
            ax.fill_between(t_ms, *ci[name], color=style["color"], alpha=0.15, linewidth=0)
    finite = np.concatenate([np.ravel(v)[np.isfinite(v)] for v in lines.values()] or [[0.0]])
    if significant:
        span = float(np.ptp(finite)) or 1.0
        _significance_rows(ax, t_ms, significant, list(lines), float(finite.min()), span)
    ax.axhline(0, color="#BBBBBB", linewidth=0.8)
    ax.axvline(0, color="#666666", linewidth=0.8, linestyle="--")
    ax.set_xlim(t_ms.min(), t_ms.max())
    ax.set(xlabel="Time (ms)", ylabel=ylabel)
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)
