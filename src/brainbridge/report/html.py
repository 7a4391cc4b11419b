"""One self-contained HTML report (inline CSS, inline base64 PNG figures, no scripts)."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.report import figures as fg
from brainbridge.report.escape import escape
from brainbridge.report.methods import alignment_methods, encoding_methods
from brainbridge.report.rdms import rdm_html
from brainbridge.report.searchlight import searchlight_html
from brainbridge.report.tables import atomic_write
from brainbridge.store import open_store
from brainbridge.store.provenance import checksum, code_version

PathLike = str | os.PathLike
DASH = "—"


@dataclass(frozen=True)
class Section:
    """A report section: a plain-text title (escaped on output) and a trusted HTML body."""

    title: str
    body: str


@dataclass(frozen=True)
class _Store:
    path: Path
    ds: xr.Dataset

    @property
    def key(self) -> tuple[str, str]:
        return str(self.ds.attrs.get("dataset", "?")), str(self.ds.attrs.get("model", "?"))

    @property
    def modality(self) -> str:
        return str(self.ds.attrs.get("modality", ""))

    @property
    def provenance(self) -> dict:
        prov = self.ds.attrs.get("provenance")
        return prov if isinstance(prov, dict) else {}


# ---------------------------------------------------------------- small HTML helpers


def fmt(value: object, digits: int = 3) -> str:
    """A number with ``digits`` decimals; an em dash for None/NaN; other values as text."""
    if value is None:
        return DASH
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | float | np.number):
        return f"{float(value):.{digits}f}" if np.isfinite(value) else DASH
    text = str(value)
    return DASH if text.lower() in ("", "nan", "none", "n/a") else text


def fmt_p(p: object) -> str:
    """A p-value: ``<0.001`` below 1e-3, three decimals otherwise, a dash when missing."""
    if p is None or not np.isfinite(float(p)):  # type: ignore[arg-type]
        return DASH
    return "&lt;0.001" if float(p) < 1e-3 else f"{float(p):.3f}"  # type: ignore[arg-type]


def figure_html(png: bytes, *, alt: str, caption: str = "") -> str:
    """An inline ``<figure>`` holding ``png`` as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def table_html(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table from escaped header labels and already-formatted (trusted HTML) cells."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(cell: str) -> str:
    return cell if cell.startswith(("<td", "<th")) else f"<td>{cell}</td>"


def _slug(text: str, index: int) -> str:
    return f"s{index}-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


# ---------------------------------------------------------------- inputs


def _load(paths: Sequence[PathLike], kind: str) -> list[_Store]:
    return [_Store(Path(p), open_store(p, kind, load=True)) for p in paths]


def _read_truth(path: PathLike | None) -> dict:
    if path is None:
        return {}
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _truth_for(truth: dict, dataset: str) -> dict:
    """The planted-truth entry (``regions`` or ``windows``) of ``dataset``, or {}."""
    for entry in truth.values():
        if isinstance(entry, dict) and entry.get("dataset") == dataset:
            return entry
    return {}


def _windows(entry: dict) -> list[fg.Window]:
    return [
        fg.Window(str(w.get("name", "")), float(w["tmin"]), float(w["tmax"]), w.get("layer"))
        for w in entry.get("windows", [])
    ]


def _read_recovery(path: PathLike | None) -> pd.DataFrame | None:
    if path is None:
        return None
    df = pd.read_csv(path, sep="\t")
    df["match"] = df["match"].astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
    return df


# ---------------------------------------------------------------- header and recovery


def _summary_section(
    title: str, enc: list[_Store], ali: list[_Store], truth: PathLike | None
) -> Section:
    stores = enc + ali
    metrics = sorted({str(m) for s in ali for m in s.ds["metric"].values})
    versions = sorted({str(s.provenance.get("code_version")) for s in stores} - {"None"})
    rows = [
        ("Datasets", ", ".join(sorted({s.key[0] for s in stores}))),
        ("Models", ", ".join(sorted({s.key[1] for s in stores}))),
        ("Modalities", ", ".join(sorted({s.modality for s in stores}))),
        ("Metrics", ", ".join(metrics) or DASH),
        ("Stores", f"{len(enc)} encoding, {len(ali)} alignment"),
        ("Report created", datetime.now(UTC).isoformat(timespec="seconds")),
        ("Code version (report)", code_version()),
        ("Code version (stores)", ", ".join(versions) or DASH),
        ("Planted truth", str(truth) if truth else "none (real data)"),
    ]
    body = table_html(("", ""), ((f"<th>{escape(k)}</th>", escape(v)) for k, v in rows), "kv")
    return Section("Run summary", body)


def _match_cell(match: bool) -> str:
    return '<td class="ok">✓ match</td>' if match else '<td class="bad">✗ miss</td>'


def _window_text(row: pd.Series) -> str:
    if pd.isna(row.get("tmin")) or pd.isna(row.get("tmax")):
        return DASH
    return f"{row['tmin'] * 1e3:.0f}–{row['tmax'] * 1e3:.0f} ms"


def _recovery_section(df: pd.DataFrame) -> Section:
    n, hits = len(df), int(df["match"].sum())
    by_method = df.groupby("method", sort=True)["match"].agg(["sum", "count"])
    counts = table_html(
        ("Method", "Matches", "Units"),
        (
            (escape(str(m)), str(int(r["sum"])), str(int(r["count"])))
            for m, r in by_method.iterrows()
        ),
        "compact",
    )
    header = (
        "Dataset",
        "Modality",
        "Unit",
        "Window",
        "Planted layer",
        "Method",
        "Recovered layer",
        "Match",
        "Score (planted)",
        "Score (best)",
    )
    rows = (
        (
            escape(fmt(r["dataset"])),
            escape(fmt(r["modality"])),
            escape(fmt(r["unit"])),
            _window_text(r),
            escape(fmt(r["planted_layer"])),
            f"<code>{escape(fmt(r['method']))}</code>",
            escape(fmt(r["recovered_layer"])),
            _match_cell(bool(r["match"])),
            fmt(r["score_planted"]),
            fmt(r["score_best"]),
        )
        for _, r in df.iterrows()
    )
    summary = f'<p class="tally"><strong>{hits} of {n}</strong> planted units recovered.</p>'
    return Section("Planted vs recovered", summary + counts + table_html(header, rows, "recovery"))


# ---------------------------------------------------------------- encoding


def _timed(da: xr.DataArray) -> bool:
    return "time" in da.dims


def _encoding_html(store: _Store, truth: dict) -> str:
    ds, (dataset, model) = store.ds, store.key
    summary = ds["summary"] if "summary" in ds else None
    scoring = str(ds.attrs.get("scoring", "score"))
    label = f"{scoring} r" if scoring == "pearson" else scoring
    if summary is None:
        return "<p>No <code>summary</code> variable in this encoding store.</p>"
    parts = [f"<h3>Encoding ({escape(scoring)})</h3>"]
    if not _timed(summary):
        values = summary.transpose("region", "layer")
        outline = _region_outline(values, truth)
        p = _enc_stat(ds, "summary_p_value", ("region", "layer"))
        ci = _enc_ci(ds, ("region", "layer"))
        rows = [_enc_ceiling_label(ds, str(r)) for r in values["region"].values]
        png = fg.heatmap_png(
            values.values,
            rows=rows,
            cols=values["layer"].values,
            title=f"Encoding {dataset} · {model}: mean cross-validated {label} per region",
            colorbar_label=f"mean {label}",
            p_values=p,
            ci=ci,
            outline=outline,
        )
        parts.append(
            figure_html(
                png,
                alt=f"encoding heatmap {dataset} {model}",
                caption=_enc_caption(ds, p is not None, ci is not None) + _outline_caption(outline),
            )
        )
        parts.append(_encoding_normalised(ds, f"{dataset} · {model}", label, outline))
        return "".join(parts)
    for region in summary["region"].values:
        parts.append(_encoding_timed(ds, f"{dataset} · {model}", str(region), label, truth))
    return "".join(parts)


def _enc_stat(ds: xr.Dataset, var: str, order: tuple[str, ...], **sel) -> np.ndarray | None:
    if var not in ds:
        return None
    da = ds[var].sel(sel) if sel else ds[var]
    return da.transpose(*order).values


def _enc_ci(ds: xr.Dataset, order: tuple[str, ...], **sel) -> fg.Band | None:
    low = _enc_stat(ds, "summary_ci_low", order, **sel)
    high = _enc_stat(ds, "summary_ci_high", order, **sel)
    return None if low is None or high is None else (low, high)


def _enc_ceiling_label(ds: xr.Dataset, region: str) -> str:
    if "summary_ceiling" not in ds:
        return region
    value = ds["summary_ceiling"].sel(region=region)
    if value.ndim or not np.isfinite(float(value)):
        return region
    return f"{region}\nNC {float(value):.2f}"


def _enc_caption(ds: xr.Dataset, with_p: bool, with_ci: bool) -> str:
    text = "Cell: score"
    if with_p:
        text += "*"
    if with_ci:
        text += f" [{float(ds.attrs.get('ci', 0.95)):.0%} CI]"
    text += "; "
    if with_p:
        text += (
            "* BH-FDR q < 0.05 across all cells of the heatmap (permutation p of the region "
            f"mean, {int(ds.attrs.get('n_permutations', 0))} within-fold label permutations); "
        )
    if "summary_ceiling" in ds:
        text += "NC: noise ceiling (mean over the region's targets, score units). "
    return text


def _encoding_normalised(ds: xr.Dataset, name: str, label: str, outline) -> str:
    """Heatmap of the ceiling-normalised region summaries (none without a ceiling)."""
    if "summary_normalised" not in ds or not np.isfinite(ds["summary_normalised"].values).any():
        return ""
    values = ds["summary_normalised"].transpose("region", "layer")
    png = fg.heatmap_png(
        values.values,
        rows=values["region"].values,
        cols=values["layer"].values,
        title=f"Encoding {name}: mean {label} / noise ceiling",
        colorbar_label="fraction of the ceiling",
        outline=outline,
    )
    caption = (
        "Score divided by the region's noise ceiling ("
        + escape(str(ds.attrs.get("ceiling_method", "?")))
        + "; see Methods). "
        + _outline_caption(outline)
    )
    return figure_html(png, alt=f"encoding normalised heatmap {name}", caption=caption)


def _encoding_timed(ds: xr.Dataset, name: str, region: str, label: str, truth: dict) -> str:
    da = ds["summary"].sel(region=region).transpose("layer", "time")
    windows = _windows(truth)
    outline = _window_outline(da, windows)
    p = _enc_stat(ds, "summary_p_value", ("layer", "time"), region=region)
    heat = fg.layer_time_heatmap_png(
        da,
        title=f"Encoding {name} ({region}): mean {label} over channels",
        colorbar_label=label,
        p_values=p,
        outline=outline,
    )
    layers = [str(x) for x in da["layer"].values]
    sig = fg.fdr_significant(p) if p is not None else None
    ci = _enc_ci(ds, ("layer", "time"), region=region)
    ceiling = None
    if "summary_ceiling" in ds:
        c = ds["summary_ceiling"].sel(region=region).values
        ceiling = (c, c) if np.isfinite(c).any() else None
    course = fg.timecourse_png(
        da["time"].values,
        {k: da.values[i] for i, k in enumerate(layers)},
        title=f"Encoding {name} ({region}) per layer",
        ylabel=f"mean {label}",
        ci=None if ci is None else {k: (ci[0][i], ci[1][i]) for i, k in enumerate(layers)},
        significant=None if sig is None else {k: sig[i] for i, k in enumerate(layers)},
        windows=windows,
        noise_ceiling=ceiling,
    )
    heat_caption = (
        "Dots: BH-FDR q < 0.05 across all layer × time cells (permutation p of the channel mean). "
        if p is not None
        else ""
    )
    course_caption = "One line per layer; shaded: planted windows (layer named on top)."
    if ci is not None:
        course_caption += " Bands: CI per layer."
    if sig is not None:
        course_caption += " Squares under the curves: BH-FDR q < 0.05 (as the heatmap)."
    if ceiling is not None:
        course_caption += " Grey: noise ceiling."
    return figure_html(
        heat, alt=f"encoding heatmap {name}", caption=heat_caption + _outline_caption(outline)
    ) + figure_html(course, alt=f"encoding time courses {name}", caption=course_caption)


def _region_outline(values: xr.DataArray, truth: dict) -> np.ndarray | None:
    planted = truth.get("regions", {})
    if not planted:
        return None
    layers = [str(x) for x in values["layer"].values]
    mask = np.zeros(values.shape, bool)
    for i, region in enumerate(values["region"].values):
        layer = planted.get(str(region), {}).get("layer")
        if layer in layers:
            mask[i, layers.index(layer)] = True
    return mask


def _window_outline(da: xr.DataArray, windows: list[fg.Window]) -> np.ndarray | None:
    if not windows:
        return None
    layers = [str(x) for x in da["layer"].values]
    times = np.asarray(da["time"].values, float)
    mask = np.zeros(da.shape, bool)
    for w in windows:
        if w.layer in layers:
            mask[layers.index(w.layer)] |= (times >= w.tmin) & (times <= w.tmax)
    return mask


def _outline_caption(outline: np.ndarray | None) -> str:
    return "Orange outline: planted layer." if outline is not None else ""


# ---------------------------------------------------------------- alignment


def _stat(ds: xr.Dataset, var: str, **sel: str) -> xr.DataArray | None:
    return ds[var].sel(sel) if var in ds else None


def _ceiling_label(ds: xr.Dataset, metric: str, region: str) -> str:
    low = _stat(ds, "noise_ceiling_lower", metric=metric, region=region)
    high = _stat(ds, "noise_ceiling_upper", metric=metric, region=region)
    if low is None or high is None or low.ndim or not np.isfinite([low, high]).all():
        return str(region)
    return f"{region}\nNC {float(low):.2f}–{float(high):.2f}"


def _alignment_html(store: _Store, metric: str, truth: dict) -> str:
    ds, (dataset, model) = store.ds, store.key
    parts = [f"<h3>Alignment: <code>{escape(metric)}</code></h3>"]
    if _timed(ds["score"]):
        for region in ds["region"].values:
            parts.append(_alignment_timed(ds, metric, str(region), f"{dataset} · {model}", truth))
    else:
        parts.append(_alignment_static(ds, metric, f"{dataset} · {model}", truth))
    parts.append(_peak_table(ds, metric, truth))
    return "".join(parts)


def _ci(ds: xr.Dataset, order: tuple[str, ...], **sel: str) -> fg.Band | None:
    low, high = _stat(ds, "ci_low", **sel), _stat(ds, "ci_high", **sel)
    if low is None or high is None:
        return None
    return low.transpose(*order).values, high.transpose(*order).values


def _alignment_static(ds: xr.Dataset, metric: str, name: str, truth: dict) -> str:
    score = ds["score"].sel(metric=metric).transpose("region", "layer")
    p = _stat(ds, "p_value", metric=metric)
    outline = _region_outline(score, truth)
    rows = [_ceiling_label(ds, metric, str(r)) for r in score["region"].values]
    png = fg.heatmap_png(
        score.values,
        rows=rows,
        cols=score["layer"].values,
        colorbar_label="similarity",
        title=f"{metric}\n{name}: similarity per region and layer",
        p_values=None if p is None else p.transpose("region", "layer").values,
        ci=_ci(ds, ("region", "layer"), metric=metric),
        outline=outline,
    )
    caption = (
        "Cell: score* [95% CI]; * BH-FDR q < 0.05 across all cells of the heatmap; "
        "NC: noise ceiling (lower–upper). " + _outline_caption(outline)
    )
    return figure_html(png, alt=f"alignment heatmap {metric} {name}", caption=caption)


def _alignment_timed(ds: xr.Dataset, metric: str, region: str, name: str, truth: dict) -> str:
    sel = {"metric": metric, "region": region}
    score = ds["score"].sel(sel).transpose("layer", "time")
    p = _stat(ds, "p_value", **sel)
    p_values = None if p is None else p.transpose("layer", "time").values
    windows = _windows(truth)
    outline = _window_outline(score, windows)
    heat = fg.layer_time_heatmap_png(
        score,
        colorbar_label="similarity",
        p_values=p_values,
        outline=outline,
        title=f"{metric}\n{name} ({region}): similarity per layer and time",
    )
    layers = [str(x) for x in score["layer"].values]
    sig = fg.fdr_significant(p_values) if p_values is not None else None
    ci = _ci(ds, ("layer", "time"), **sel)
    course = fg.timecourse_png(
        score["time"].values,
        {k: score.values[i] for i, k in enumerate(layers)},
        title=f"{metric}\n{name} ({region}) per layer",
        ylabel="similarity",
        ci=None if ci is None else {k: (ci[0][i], ci[1][i]) for i, k in enumerate(layers)},
        significant=None if sig is None else {k: sig[i] for i, k in enumerate(layers)},
        windows=windows,
        noise_ceiling=_ceiling_band(ds, metric, region),
    )
    return figure_html(
        heat,
        alt=f"alignment heatmap {metric} {name} {region}",
        caption="Dots: BH-FDR q < 0.05 across all layer × time cells. " + _outline_caption(outline),
    ) + figure_html(
        course,
        alt=f"alignment time courses {metric} {name} {region}",
        caption="Bands: 95% CI per layer; grey: noise ceiling; yellow: planted windows; "
        "squares under the curves: BH-FDR q < 0.05 (same family as the heatmap).",
    )


def _ceiling_band(ds: xr.Dataset, metric: str, region: str) -> fg.Band | None:
    low = _stat(ds, "noise_ceiling_lower", metric=metric, region=region)
    high = _stat(ds, "noise_ceiling_upper", metric=metric, region=region)
    if low is None or high is None or "time" not in low.dims:
        return None
    return low.values, high.values


def _peak_table(ds: xr.Dataset, metric: str, truth: dict) -> str:
    """Per region: the best layer (and peak time), its score, CI, p, FDR q and noise ceiling."""
    timed = _timed(ds["score"])
    planted = truth.get("regions", {})
    header = [
        "Region",
        "Best layer",
        *(["Peak time"] if timed else []),
        "Score",
        "95% CI",
        "p",
        "q (FDR)",
        "Noise ceiling",
        *(["Planted layer"] if planted else []),
    ]
    rows = [_peak_row(ds, metric, str(r), timed, planted) for r in ds["region"].values]
    return table_html(header, rows, "peaks")


def _value(ds: xr.Dataset, var: str, at: dict) -> float:
    if var not in ds:
        return float("nan")
    da = ds[var]
    return float(da.sel({k: v for k, v in at.items() if k in da.dims}))


def _peak_row(ds: xr.Dataset, metric: str, region: str, timed: bool, planted: dict) -> list:
    score = ds["score"].sel(metric=metric, region=region)
    p_all = ds["p_value"].sel(metric=metric) if "p_value" in ds else None
    if not np.isfinite(score.values).any():
        return [
            escape(region),
            DASH,
            *([DASH] if timed else []),
            DASH,
            DASH,
            DASH,
            DASH,
            DASH,
            *([DASH] if planted else []),
        ]
    at = {
        d: score[d].values[i]
        for d, i in zip(
            score.dims, np.unravel_index(int(np.nanargmax(score.values)), score.shape), strict=True
        )
    }
    at |= {"metric": metric, "region": region}
    q = _q_value(p_all, score.dims, at)
    low, high = _value(ds, "ci_low", at), _value(ds, "ci_high", at)
    nc = (_value(ds, "noise_ceiling_lower", at), _value(ds, "noise_ceiling_upper", at))
    row = [escape(region), escape(str(at["layer"]))]
    if timed:
        row.append(f"{float(at['time']) * 1e3:.0f} ms")
    row += [
        fmt(_value(ds, "score", at)),
        _interval(low, high),
        fmt_p(_value(ds, "p_value", at)),
        fmt_p(q),
        _interval(*nc),
    ]
    if planted:
        row.append(escape(fmt(planted.get(region, {}).get("layer"))))
    return row


def _q_value(p_all: xr.DataArray | None, dims: tuple, at: dict) -> float:
    """FDR q of the peak cell, with the heatmap's family (region x layer, or layer x time)."""
    if p_all is None:
        return float("nan")
    family = p_all if "time" not in p_all.dims else p_all.sel(region=at["region"])
    q = family.copy(data=fg.fdr_adjust(family.values))
    return float(q.sel({k: v for k, v in at.items() if k in q.dims}))


def _interval(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return DASH
    return f"[{low:.3f}, {high:.3f}]"


# ---------------------------------------------------------------- results per (dataset, model)


def _result_sections(enc: list[_Store], ali: list[_Store], truth: dict) -> list[Section]:
    keys = list(dict.fromkeys(s.key for s in enc + ali))
    sections = []
    for key in keys:
        parts = []
        for store in (s for s in enc if s.key == key):
            parts.append(_encoding_html(store, _truth_for(truth, key[0])))
            parts.append(encoding_methods(store.ds))
        for store in (s for s in ali if s.key == key):
            parts.append(alignment_methods(store.ds))
            for metric in store.ds["metric"].values:
                parts.append(_alignment_html(store, str(metric), _truth_for(truth, key[0])))
            parts.append(rdm_html(store.ds))
        modality = next(s.modality for s in enc + ali if s.key == key)
        sections.append(Section(f"{key[0]} · {key[1]} ({modality})", "".join(parts)))
    return sections


def _searchlight_section(stores: list[_Store]) -> Section:
    parts = []
    for store in stores:
        dataset, model = store.key
        maps = store.path.with_name(store.path.name.removesuffix(".zarr") + ".maps")
        parts.append(f"<h3>{escape(dataset)} · {escape(model)}</h3>")
        parts.append(searchlight_html(store.ds, str(maps) if maps.exists() else None))
    return Section("Searchlight maps", "".join(parts))


# ---------------------------------------------------------------- provenance


def _kv_table(items: Iterable[tuple[str, object]]) -> str:
    rows = ((f"<th>{escape(str(k))}</th>", escape(fmt(v))) for k, v in items)
    return table_html(("", ""), rows, "kv")


def _provenance_html(store: _Store, kind: str) -> str:
    prov = store.provenance
    dataset, model = store.key
    summary = f"{kind}: {dataset} · {model} — {store.path}"
    if not prov:
        return f"<details><summary>{escape(summary)}</summary><p>No provenance.</p></details>"
    general = _kv_table((k, prov.get(k)) for k in ("step", "code_version", "python", "seed"))
    inputs = table_html(
        ("Input", "Path", "sha256"),
        (
            (
                escape(str(k)),
                f"<code>{escape(str(v.get('path')))}</code>",
                f'<code class="hash">{escape(str(v.get("sha256")))}</code>',
            )
            for k, v in (prov.get("inputs") or {}).items()
        ),
    )
    packages = _kv_table(sorted((prov.get("packages") or {}).items()))
    config = escape(json.dumps(prov.get("config") or {}, indent=2, sort_keys=True, default=str))
    return (
        f"<details><summary>{escape(summary)}</summary>{general}<h4>Inputs</h4>{inputs}"
        f"<h4>Packages</h4>{packages}<h4>Config</h4><pre>{config}</pre></details>"
    )


def _provenance_section(enc: list[_Store], ali: list[_Store], extra: dict) -> Section:
    own = table_html(
        ("Report input", "Path", "sha256"),
        (
            (
                escape(name),
                f"<code>{escape(str(p))}</code>",
                f'<code class="hash">{checksum(p)}</code>',
            )
            for name, p in extra.items()
        ),
    )
    stores = [_provenance_html(s, "encoding") for s in enc]
    stores += [_provenance_html(s, "alignment") for s in ali]
    body = f"<details open><summary>Report inputs</summary>{own}</details>" + "".join(stores)
    return Section("Provenance", body)


def _report_inputs(enc: list[_Store], ali: list[_Store], truth, recovery) -> dict:
    inputs = {f"encoding[{i}]": s.path for i, s in enumerate(enc)}
    inputs |= {f"alignment[{i}]": s.path for i, s in enumerate(ali)}
    inputs |= {name: Path(p) for name, p in (("truth", truth), ("recovery", recovery)) if p}
    return inputs


# ---------------------------------------------------------------- page

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;
 max-width:1280px;margin:0 auto;padding:1.5rem 2rem;line-height:1.45;background:#fff}
h1{margin:0 0 .5rem;font-size:1.8rem}
h2{border-bottom:2px solid #0072B2;padding-bottom:.2rem;margin-top:2.4rem}
h3{margin:1.6rem 0 .4rem;color:#333}
code{background:#f2f2f2;padding:0 .25em;border-radius:3px;font-size:.92em}
nav ol{columns:2;font-size:.95rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d6d6d6;padding:.25rem .6rem;text-align:left;vertical-align:top}
thead th{background:#eef3f8}
table.kv th{background:#f6f6f6;font-weight:600;white-space:nowrap}
table.kv thead{display:none}
td.ok{background:#d4efdf;color:#0b4a26;font-weight:600}
td.bad{background:#f8d4d4;color:#7a1010;font-weight:600}
.tally{font-size:1.1rem}
figure{margin:.6rem 0 1.2rem}
figure img{max-width:100%;height:auto;border:1px solid #e4e4e4}
figcaption{font-size:.85rem;color:#555;margin-top:.2rem}
details{margin:.4rem 0;border:1px solid #e0e0e0;border-radius:4px;padding:.3rem .7rem}
summary{cursor:pointer;font-weight:600}
pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;font-size:.85rem}
code.hash{word-break:break-all}
td.ok,td.bad{white-space:nowrap}
"""


def _page(title: str, sections: Sequence[Section]) -> str:
    anchors = [_slug(s.title, i) for i, s in enumerate(sections)]
    nav = "".join(
        f'<li><a href="#{a}">{escape(s.title)}</a></li>'
        for a, s in zip(anchors, sections, strict=True)
    )
    body = "".join(
        f'<section id="{a}"><h2>{escape(s.title)}</h2>{s.body}</section>'
        for a, s in zip(anchors, sections, strict=True)
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><nav><ol>{nav}</ol></nav></header>"
        f"<main>{body}</main></body></html>\n"
    )


def build_report(
    *,
    encoding: Sequence[PathLike],
    alignment: Sequence[PathLike],
    out: PathLike,
    truth: PathLike | None = None,
    recovery: PathLike | None = None,
    title: str = "brainbridge report",
    extra_sections: Sequence[Section] | None = None,
    searchlight: Sequence[PathLike] = (),
    group_sections: Sequence[Section] | None = None,
) -> Path:
    """Build the HTML report in memory, then write it to ``out`` atomically; return ``out``.

    ``group_sections``: group-level results (across subjects / datasets), placed right after
    the per-(dataset, model) results.
    """
    enc, ali = _load(encoding, "encoding"), _load(alignment, "alignment")
    truth_data = _read_truth(truth)
    rec = _read_recovery(recovery)
    sections = [_summary_section(title, enc, ali, truth)]
    if rec is not None:
        sections.append(_recovery_section(rec))
    sections += _result_sections(enc, ali, truth_data)
    sections += list(group_sections or [])  # group-level inference goes here
    if searchlight:
        sections.append(_searchlight_section(_load(searchlight, "searchlight")))
    sections += list(extra_sections or [])
    sections.append(_provenance_section(enc, ali, _report_inputs(enc, ali, truth, recovery)))
    return atomic_write(out, _page(title, sections))
