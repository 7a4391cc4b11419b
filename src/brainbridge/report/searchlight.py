"""Searchlight maps in the report: peak-time topomaps (M/EEG) and maximum-intensity
projections of the voxel maps (fMRI; the NIfTI files lie beside the store)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainbridge.report.escape import escape
from brainbridge.report.figures import HEATMAP_CMAP, _png

__all__ = ["searchlight_html", "topomap_png", "volume_png"]


def _info(ds: xr.Dataset):
    import mne

    names = [str(c) for c in ds["channel"].values]
    info = mne.create_info(names, sfreq=1000.0, ch_types="eeg")
    positions = np.asarray(ds["position"].values, dtype=np.float64)
    montage = mne.channels.make_dig_montage(
        dict(zip(names, positions, strict=True)), coord_frame="head"
    )
    info.set_montage(montage, on_missing="ignore")
    return info


def _peak_time(score: xr.DataArray) -> float:
    values = score.values
    if not np.isfinite(values).any():
        return float(score["time"].values[0])
    _, t = np.unravel_index(int(np.nanargmax(values)), values.shape)
    return float(score["time"].values[t])


def _topomap(ax, ds: xr.Dataset, layer: str, info) -> None:
    import mne

    score = ds["score"].isel(metric=0).sel(layer=layer).transpose("channel", "time")
    t = _peak_time(score)
    values = score.sel(time=t).values
    mne.viz.plot_topomap(np.nan_to_num(values), info, axes=ax, show=False, cmap=HEATMAP_CMAP)
    ax.set_title(f"{layer}\npeak {t * 1e3:.0f} ms, max {np.nanmax(values):.2f}", fontsize=9)


def topomap_png(ds: xr.Dataset, layer: str) -> bytes:
    """The searchlight score of ``layer`` over the scalp at its peak time."""
    fig = Figure(figsize=(3.2, 3.4))
    _topomap(fig.add_subplot(1, 1, 1), ds, layer, _info(ds))
    return _png(fig)


def topomaps_png(ds: xr.Dataset) -> bytes:
    layers = [str(x) for x in ds["layer"].values]
    fig = Figure(figsize=(3.0 * len(layers), 3.4))
    info = _info(ds)
    for i, layer in enumerate(layers):
        _topomap(fig.add_subplot(1, len(layers), i + 1), ds, layer, info)
    return _png(fig)


def volume_png(ds: xr.Dataset) -> bytes:
    """Per layer, maximum-intensity projections of the score map along the three axes."""
    from brainbridge.align.searchlight import grid_from_positions

    _, ijk = grid_from_positions(ds["position"].values)
    shape = tuple(int(v) for v in ijk.max(axis=0) + 1)
    layers = [str(x) for x in ds["layer"].values]
    scores = ds["score"].isel(metric=0)
    vmax = float(np.nanmax(scores.values)) if np.isfinite(scores.values).any() else 1.0
    fig = Figure(figsize=(9, 2.6 * len(layers)), layout="constrained")
    for row, layer in enumerate(layers):
        volume = np.full(shape, np.nan)
        volume[tuple(ijk.T)] = scores.sel(layer=layer).values
        for col, (axis, label) in enumerate(((0, "sagittal"), (1, "coronal"), (2, "axial"))):
            ax = fig.add_subplot(len(layers), 3, row * 3 + col + 1)
            with np.errstate(all="ignore"):
                projection = np.fmax.reduce(volume, axis=axis)
            image = ax.imshow(
                projection.T, origin="lower", cmap=HEATMAP_CMAP, vmin=0, vmax=max(vmax, 1e-9)
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"{label} (max projection)", fontsize=9)
            if col == 0:
                ax.set_ylabel(layer, fontsize=9)
        fig.colorbar(image, ax=fig.axes[-3:], shrink=0.8, label="similarity")
    return _png(fig)


def searchlight_html(ds: xr.Dataset, maps: str | None = None) -> str:
    """Figures and a short description of one searchlight store."""
    from brainbridge.report.html import figure_html

    metric = str(ds["metric"].values[0])
    dataset, model = str(ds.attrs.get("dataset", "?")), str(ds.attrs.get("model", "?"))
    fmri = "voxel" in ds["score"].dims
    if fmri:
        try:
            png = volume_png(ds)
        except ValueError as err:
            return f"<p>{escape(str(err))}</p>"
        what = (
            f"spheres of {ds.attrs.get('radius_mm')} mm around each of {ds.sizes['voxel']} voxels"
        )
        caption = "Maximum-intensity projections of the score maps (one row per layer)."
    else:
        try:
            png = topomaps_png(ds)
        except (ValueError, RuntimeError) as err:  # e.g. co-located or missing positions
            return f"<p>No topomap for {escape(dataset)} vs {escape(model)}: {escape(str(err))}</p>"
        what = (
            f"{ds.attrs.get('neighbours')} sensor neighbourhoods x {ds.attrs.get('window_s')} s "
            f"windows, {ds.sizes['channel']} channels x {ds.sizes['time']} time centres"
        )
        caption = "Score over the scalp at each layer's peak time."
    text = (
        f"<p>Searchlight <code>{escape(metric)}</code> of {escape(dataset)} vs "
        f"{escape(model)}: {escape(what)}; "
        f"{escape(str(ds.attrs.get('n_permutations', 0)))} permutations per centre "
        "(uncorrected p in the store)."
        + (f" Maps: <code>{escape(maps)}</code>." if maps else "")
        + "</p>"
    )
    return text + figure_html(png, alt=f"searchlight {dataset} {model}", caption=caption)
