"""Report section of group-level alignment: one-sample t-test and sign-flip permutation test of
per-subject effects (score minus chance), FDR- and cluster-corrected over layers [x time].

Two kinds of stores carry them: group stores of ``alignment.groups`` (datasets of one design,
one subject each; ``score`` is the mean over subjects) and brain RDM datasets whose replicates
are grouped by subject (``replicates.subject``), whose stores hold the group tests beside the
replicate-mean score.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import xarray as xr

from brainbridge.report import figures as fg
from brainbridge.report.escape import escape
from brainbridge.report.html import DASH, Section, figure_html, fmt, fmt_p, table_html
from brainbridge.store import open_store

__all__ = ["group_html", "group_methods", "group_sections"]

PathLike = str | os.PathLike
ALPHA = 0.05
GROUP_TESTS = ("group_t", "group_p_ttest", "group_p_signflip", "group_p_fdr", "group_p_cluster")


def _has_group_tests(ds: xr.Dataset) -> bool:
    return "group_t" in ds and bool(np.isfinite(ds["group_t"].values).any())


def group_methods(ds: xr.Dataset) -> str:
    """How the group-level tests of a store were made, from its attrs."""
    a = ds.attrs
    subjects = a.get("subjects")
    timed = "time" in ds["score"].dims
    if subjects is not None:
        n_subj = len(subjects)
        who = (
            f"{n_subj} datasets of one design, one subject each ("
            + ", ".join(escape(str(s)) for s in subjects)
            + "); the score shown is the mean over subjects with its t interval"
        )
    else:
        n_subj = a.get("n_subjects", "?")
        who = (
            f"the {escape(str(n_subj))} subjects of {escape(str(a.get('dataset', '?')))} "
            "(replicates grouped by subject, each subject's effect the mean over its "
            "replicates); the score shown is the mean over all replicates"
        )
    flips = a.get("n_flips")
    if flips is None:
        cfg = (a.get("provenance") or {}).get("config") or {}
        flips = (cfg.get("alignment") or {}).get("n_flips", 10000)
    exact = isinstance(n_subj, int) and 2**n_subj <= int(flips)
    flip_text = (
        f"all 2<sup>{n_subj}</sup> sign flips (exact)"
        if exact
        else f"{escape(str(flips))} random sign flips"
    )
    grid = "layers × time points" if timed else "layers"
    return (
        f'<p class="methods"><strong>Methods.</strong> Group level over {who}. A subject\'s '
        "effect is its score minus its own chance level (the mean of its permutation null). "
        "One-sided tests of a positive mean effect: a one-sample t-test and a sign-flip "
        f"permutation test with {flip_text}. Corrections within each metric and region, over "
        f"{grid}: Benjamini-Hochberg FDR of the sign-flip p-values (q), and cluster-based "
        f"permutation (clusters of adjacent {grid} whose t exceeds the one-sided p &lt; "
        f"{ALPHA} threshold, cluster mass = sum of t, p = share of sign flips whose largest "
        "cluster mass reaches it; family-wise error over the grid). "
        f"Significant: cluster p &lt; {ALPHA}.</p>"
    )


def _cell(ds: xr.Dataset, var: str, at: dict) -> float:
    if var not in ds:
        return float("nan")
    da = ds[var]
    return float(da.sel({k: v for k, v in at.items() if k in da.dims}))


def _interval(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return DASH
    return f"[{low:.3f}, {high:.3f}]"


def _significant(p: float) -> str:
    return "✓" if np.isfinite(p) and p < ALPHA else ""


def _row(ds: xr.Dataset, at: dict, timed: bool) -> list[str]:
    row = [escape(str(at["region"])), escape(str(at["layer"]))]
    if timed:
        row.append(f"{float(at['time']) * 1e3:.0f} ms")
    p_cluster = _cell(ds, "group_p_cluster", at)
    return [
        *row,
        fmt(_cell(ds, "score", at)),
        _interval(_cell(ds, "ci_low", at), _cell(ds, "ci_high", at)),
        fmt(_cell(ds, "group_t", at), 2),
        fmt_p(_cell(ds, "group_p_ttest", at)),
        fmt_p(_cell(ds, "group_p_signflip", at)),
        fmt_p(_cell(ds, "group_p_fdr", at)),
        fmt_p(p_cluster),
        _significant(p_cluster),
    ]


def _table(ds: xr.Dataset, metric: str) -> str:
    """One row per region x layer (static), or per region x layer at its peak t (timed)."""
    timed = "time" in ds["score"].dims
    header = [
        "Region",
        "Layer",
        *(["Peak time"] if timed else []),
        "Score",
        "95% CI",
        "t",
        "p (t-test)",
        "p (sign-flip)",
        "q (FDR)",
        "p (cluster)",
        "Significant",
    ]
    rows = []
    for region in ds["region"].values:
        for layer in ds["layer"].values:
            at = {"metric": metric, "region": region, "layer": layer}
            if timed:
                t = ds["group_t"].sel(at).values
                if not np.isfinite(t).any():
                    continue
                at["time"] = ds["time"].values[int(np.nanargmax(t))]
            rows.append(_row(ds, at, timed))
    return table_html(header, rows, "peaks")


def _figures(ds: xr.Dataset, metric: str, name: str) -> str:
    if "time" not in ds["score"].dims:
        score = ds["score"].sel(metric=metric).transpose("region", "layer")
        sig = ds["group_p_cluster"].sel(metric=metric).transpose("region", "layer").values < ALPHA
        png = fg.heatmap_png(
            score.values,
            rows=[str(r) for r in score["region"].values],
            cols=score["layer"].values,
            colorbar_label="similarity",
            title=f"{metric}\n{name}: group score per region and layer",
            outline=sig,
        )
        return figure_html(
            png,
            alt=f"group alignment {metric} {name}",
            caption=f"Outlined: cluster-corrected p < {ALPHA} over the subjects.",
        )
    parts = []
    for region in ds["region"].values:
        sel = {"metric": metric, "region": region}
        sig = ds["group_p_cluster"].sel(sel).transpose("layer", "time").values < ALPHA
        png = fg.layer_time_heatmap_png(
            ds["group_t"].sel(sel),
            colorbar_label="group t",
            title=f"{metric}\n{name} ({region}): group t per layer and time",
            outline=sig,
        )
        parts.append(
            figure_html(
                png,
                alt=f"group alignment {metric} {name} {region}",
                caption=f"Outlined: clusters with p < {ALPHA} (sign-flip cluster test).",
            )
        )
    return "".join(parts)


def group_html(ds: xr.Dataset) -> str:
    """Heading, methods, figures and table of one store's group-level tests."""
    name = f"{ds.attrs.get('dataset', '?')} · {ds.attrs.get('model', '?')}"
    parts = [f"<h3>{escape(name)}</h3>", group_methods(ds)]
    for metric in ds["metric"].values.astype(str):
        parts.append(f"<h4><code>{escape(metric)}</code></h4>")
        parts.append(_figures(ds, metric, name))
        parts.append(_table(ds, metric))
    return "".join(parts)


def group_sections(alignment: Sequence[PathLike], groups: Sequence[PathLike]) -> list[Section]:
    """The group-level section of the report (none when no store holds group tests).

    ``groups``: group stores (``alignment.groups``); ``alignment``: per-dataset stores, of
    which those with subject-level tests (brain RDM datasets with subjects) are shown too.
    """
    stores = [open_store(p, "alignment", load=True) for p in groups]
    for path in alignment:
        ds = open_store(path, "alignment")
        if _has_group_tests(ds):
            stores.append(ds.load())
    stores = [ds for ds in stores if all(v in ds for v in GROUP_TESTS)]
    if not stores:
        return []
    intro = (
        "<p>Is the alignment there in the population of subjects, not just on average? "
        "Per-subject effects tested against zero over subjects, corrected for the many "
        "layers (and time points) tested.</p>"
    )
    return [Section("Group-level alignment", intro + "".join(group_html(ds) for ds in stores))]
