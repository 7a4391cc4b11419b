"""RDM images and MDS plots of the RDMs kept in an alignment store (brain units and layers)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainbridge.report.escape import escape
from brainbridge.report.figures import HEATMAP_CMAP, OKABE_ITO, _png

__all__ = ["classical_mds", "rdm_html", "rdms_png"]

#: at most this many RDMs per figure row
PER_ROW = 4


def classical_mds(rdm: np.ndarray, dims: int = 2) -> np.ndarray:
    """Classical (Torgerson) MDS of a square dissimilarity matrix -> (n, dims) coordinates."""
    d = np.nan_to_num(np.asarray(rdm, dtype=np.float64))
    n = d.shape[0]
    h = np.eye(n) - 1.0 / n
    b = -0.5 * h @ (d**2) @ h
    values, vectors = np.linalg.eigh((b + b.T) / 2)
    top = np.argsort(values)[::-1][:dims]
    return vectors[:, top] * np.sqrt(np.maximum(values[top], 0.0))


def _ranked(rdm: np.ndarray) -> np.ndarray:
    """Off-diagonal entries as percentiles (RDM images are compared by rank)."""
    from scipy.stats import rankdata

    out = np.full(rdm.shape, np.nan)
    rows, cols = np.triu_indices(len(rdm), k=1)
    r = rankdata(rdm[rows, cols]) / len(rows) * 100
    out[rows, cols] = out[cols, rows] = r
    return out


def rdms_png(rdms: list[tuple[str, np.ndarray]], groups: np.ndarray | None = None) -> bytes:
    """Rows of (RDM image, MDS plot) pairs, one pair per named RDM."""
    count = len(rdms)
    cols = min(count, PER_ROW)
    rows = int(np.ceil(count / cols))
    fig = Figure(figsize=(3.0 * cols + 1.0, 5.6 * rows), layout="constrained")
    colours = None
    if groups is not None:
        labels = {g: i for i, g in enumerate(dict.fromkeys(groups.tolist()))}
        colours = [OKABE_ITO[labels[g] % len(OKABE_ITO)] for g in groups.tolist()]
    for index, (name, rdm) in enumerate(rdms):
        r, c = divmod(index, cols)
        ax = fig.add_subplot(rows * 2, cols, 2 * r * cols + c + 1)
        image = ax.imshow(_ranked(rdm), cmap=HEATMAP_CMAP, vmin=0, vmax=100, interpolation="none")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        mds = fig.add_subplot(rows * 2, cols, (2 * r + 1) * cols + c + 1)
        xy = classical_mds(rdm)
        mds.scatter(xy[:, 0], xy[:, 1], s=10, c=colours or OKABE_ITO[0], linewidths=0)
        mds.set_title(f"{name}: MDS", fontsize=9)
        mds.set_xticks([])
        mds.set_yticks([])
        mds.set_aspect("equal", adjustable="datalim")
    fig.colorbar(image, ax=fig.axes, shrink=0.4, label="dissimilarity (percentile)")
    return _png(fig)


def rdm_html(ds: xr.Dataset) -> str:
    """The RDM images and MDS plots of an alignment store ('' when it keeps no RDMs)."""
    from brainbridge.report.html import figure_html

    if "brain_rdm" not in ds or "model_rdm" not in ds:
        return ""
    brain = [(f"brain: {r}", ds["brain_rdm"].sel(region=r).values) for r in ds["region"].values]
    model = [(f"layer: {k}", ds["model_rdm"].sel(layer=k).values) for k in ds["layer"].values]
    groups = ds["stimulus_group"].values.astype(str) if "stimulus_group" in ds.coords else None
    dataset, model_name = str(ds.attrs.get("dataset", "?")), str(ds.attrs.get("model", "?"))
    caption = (
        f"RDMs ({ds.attrs.get('rdm_images', '')}), shown as percentiles of their off-diagonal "
        "entries, with a 2-D classical MDS of each (one dot per stimulus"
        + ("; colour: the stimulus' condition)." if groups is not None else ").")
    )
    return (
        "<h3>RDMs and MDS</h3>"
        + figure_html(
            rdms_png(brain + model, groups), alt=f"RDMs {dataset} {model_name}", caption=caption
        ).replace("<figure>", '<figure class="rdms">', 1)
        + (
            f'<p class="note">{len(ds["stimulus"])} stimuli, in the order of '
            f"<code>{escape(dataset)}</code>.</p>"
        )
    )
