"""Tests of brainbridge.report: tidy tables, figures and the self-contained HTML report."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainbridge.report import (
    Section,
    build_report,
    heatmap_png,
    tidy_alignment,
    tidy_encoding,
    timecourse_png,
    write_tsv,
)
from brainbridge.report import tables as report_tables
from brainbridge.steps.recovery import COLUMNS as RECOVERY_COLUMNS
from brainbridge.store import StoreError, open_store, provenance, write_store

LAYERS = ["conv1", "conv2", "conv3", "fc"]
REGIONS = ["V1", "V4", "IT"]
METRICS = ["rsa-rdm=correlation-compare=spearman", "cka-kernel=linear-hsic=unbiased"]
TIMES = np.round(np.arange(-0.1, 0.4, 0.02), 3)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")


def _prov(step: str) -> dict:
    return provenance(step=step, config={"alpha": [0.1, 1.0], "folds": 5}, seed=7)


def _encoding_fmri(rng: np.random.Generator) -> xr.Dataset:
    voxel_region = np.repeat(REGIONS, 5)
    score = rng.uniform(-0.05, 0.6, (len(LAYERS), voxel_region.size)).astype("float32")
    ds = xr.Dataset(
        {"score": (("layer", "voxel"), score)},
        coords={"layer": LAYERS, "voxel_region": ("voxel", voxel_region), "region": REGIONS},
        attrs={"dataset": "sim-fmri", "model": "toynet", "modality": "fmri", "scoring": "pearson"},
    )
    summary = ds["score"].groupby("voxel_region").mean("voxel").sel(voxel_region=REGIONS)
    return ds.assign(summary=(("layer", "region"), summary.values))


def _encoding_eeg(rng: np.random.Generator) -> xr.Dataset:
    channels = [f"E{i}" for i in range(6)]
    score = rng.uniform(-0.05, 0.4, (len(LAYERS), len(channels), TIMES.size)).astype("float32")
    return xr.Dataset(
        {
            "score": (("layer", "channel", "time"), score),
            "summary": (("layer", "region", "time"), score.mean(1, keepdims=True)),
        },
        coords={"layer": LAYERS, "channel": channels, "time": TIMES, "region": ["scalp"]},
        attrs={"dataset": "sim-eeg", "model": "toynet", "modality": "eeg", "scoring": "pearson"},
    )


def _alignment(
    rng: np.random.Generator, regions: list[str], times: np.ndarray | None
) -> xr.Dataset:
    dims = ("metric", "region", "layer", *(("time",) if times is not None else ()))
    shape = (len(METRICS), len(regions), len(LAYERS), *((times.size,) if times is not None else ()))
    score = rng.uniform(0.0, 0.5, shape)
    p = rng.uniform(0.0, 1.0, shape)
    p.flat[::3] = 1e-4  # plenty of significant cells
    ci = rng.uniform(0.02, 0.1, shape)
    nc_dims = ("metric", "region", *dims[3:])
    nc_low = rng.uniform(0.5, 0.6, (len(METRICS), len(regions), *shape[3:]))
    coords = {"metric": METRICS, "region": regions, "layer": LAYERS}
    if times is not None:
        coords["time"] = times
    ds = xr.Dataset(
        {
            "score": (dims, score),
            "p_value": (dims, p),
            "null_mean": (dims, np.zeros(shape)),
            "null_std": (dims, np.full(shape, 0.05)),
            "ci_low": (dims, score - ci),
            "ci_high": (dims, score + ci),
            "noise_ceiling_lower": (nc_dims, nc_low),
            "noise_ceiling_upper": (nc_dims, nc_low + 0.15),
        },
        coords=coords,
    )
    ds["score"].values[(0,) * len(dims)] = np.nan  # a missing cell must render as a dash, not "nan"
    return ds


def _alignment_fmri(rng: np.random.Generator) -> xr.Dataset:
    ds = _alignment(rng, REGIONS, None)
    return ds.assign_attrs(dataset="sim-fmri", model="toynet", modality="fmri")


def _alignment_eeg(rng: np.random.Generator) -> xr.Dataset:
    ds = _alignment(rng, ["scalp"], TIMES)
    return ds.assign_attrs(dataset="sim-eeg", model="toynet", modality="eeg")


TRUTH = {
    "fmri": {
        "dataset": "sim-fmri",
        "regions": {"V1": {"layer": "conv1", "snr": 1.0}, "IT": {"layer": "fc", "snr": 1.0}},
    },
    "eeg": {
        "dataset": "sim-eeg",
        "windows": [
            {"name": "early", "tmin": 0.06, "tmax": 0.14, "layer": "conv1", "snr": 0.5},
            {"name": "late", "tmin": 0.2, "tmax": 0.3, "layer": "fc", "snr": 0.5},
        ],
    },
}

RECOVERY = pd.DataFrame(
    [
        ("sim-fmri", "fmri", "V1", np.nan, np.nan, "conv1", "encoding", "conv1", True, 0.5, 0.5),
        ("sim-fmri", "fmri", "IT", np.nan, np.nan, "fc", METRICS[0], "conv3", False, 0.3, 0.4),
        ("sim-eeg", "eeg", "early", 0.06, 0.14, "conv1", METRICS[1], "conv1", True, 0.2, 0.2),
        ("sim-eeg", "eeg", "late", 0.2, 0.3, "fc", "encoding", "conv2", False, 0.1, 0.15),
    ],
    columns=RECOVERY_COLUMNS,
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Synthetic stores, truth and recovery files written like the pipeline writes them."""
    root = tmp_path_factory.mktemp("report_inputs")
    rng = np.random.default_rng(0)
    stores = {
        "enc_fmri": (_encoding_fmri(rng), "encoding"),
        "enc_eeg": (_encoding_eeg(rng), "encoding"),
        "ali_fmri": (_alignment_fmri(rng), "alignment"),
        "ali_eeg": (_alignment_eeg(rng), "alignment"),
    }
    paths = {
        name: write_store(ds, root / f"{name}.zarr", kind=kind, provenance=_prov(name))
        for name, (ds, kind) in stores.items()
    }
    (root / "truth.json").write_text(json.dumps(TRUTH))
    write_tsv(RECOVERY, root / "recovery.tsv")
    return {"root": root, **paths, "truth": root / "truth.json", "recovery": root / "recovery.tsv"}


def _build(inputs: dict, out: Path, **kwargs: object) -> Path:
    return build_report(
        encoding=[inputs["enc_fmri"], inputs["enc_eeg"]],
        alignment=[inputs["ali_fmri"], inputs["ali_eeg"]],
        out=out,
        truth=inputs["truth"],
        recovery=inputs["recovery"],
        **kwargs,
    )


@pytest.fixture(scope="module")
def report(inputs: dict) -> Path:
    extra = Section("QC <preprocessing>", "<p>bad channels: 0</p>")
    return _build(inputs, inputs["root"] / "out" / "report.html", extra_sections=[extra])


class _Collector(HTMLParser):
    """Collects <img> sources, table cells (by class) and checks that tags are balanced."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[str] = []
        self.cells: list[tuple[str, str]] = []
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None
        self._cls = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "td":
            self._cell, self._cls = [], attrs.get("class") or ""
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> after {self.stack[-3:]}"
        self.stack.pop()
        if tag == "td" and self._cell is not None:
            self.cells.append(("".join(self._cell).strip(), self._cls))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def parsed(report: Path) -> tuple[str, _Collector]:
    text = report.read_text(encoding="utf-8")
    collector = _Collector()
    collector.feed(text)
    collector.close()
    assert collector.stack == [], f"unclosed tags: {collector.stack}"
    return text, collector


def test_tidy_encoding_columns_and_rows(inputs: dict) -> None:
    fmri = tidy_encoding(open_store(inputs["enc_fmri"], "encoding", load=True))
    eeg = tidy_encoding(open_store(inputs["enc_eeg"], "encoding", load=True))
    columns = ["dataset", "model", "modality", "layer", "region", "time", "score", "p_value"]
    columns += ["ci_low", "ci_high", "ceiling", "score_normalised"]
    assert list(fmri.columns) == columns and list(eeg.columns) == columns
    assert fmri["p_value"].isna().all()  # a store without statistics: NaN columns
    assert len(fmri) == len(REGIONS) * len(LAYERS) and fmri["time"].isna().all()
    assert len(eeg) == len(LAYERS) * TIMES.size and set(eeg["region"]) == {"scalp"}
    assert set(fmri["dataset"]) == {"sim-fmri"} and set(eeg["modality"]) == {"eeg"}
    v1 = fmri.query("layer == 'conv2' and region == 'V1'")["score"].item()
    ds = _encoding_fmri(np.random.default_rng(0))
    assert v1 == pytest.approx(float(ds["summary"].sel(layer="conv2", region="V1")), rel=1e-6)


def test_tidy_alignment_columns_and_rows(inputs: dict) -> None:
    fmri = tidy_alignment(open_store(inputs["ali_fmri"], "alignment", load=True))
    eeg = tidy_alignment(open_store(inputs["ali_eeg"], "alignment", load=True))
    expected = [
        "dataset",
        "model",
        "modality",
        "metric",
        "region",
        "layer",
        "time",
        "score",
        "p_value",
        "ci_low",
        "ci_high",
        "null_mean",
        "null_std",
        "noise_ceiling_lower",
        "noise_ceiling_upper",
        "n_subjects",
        "group_t",
        "group_p_ttest",
        "group_p_signflip",
        "group_p_fdr",
        "group_p_cluster",
    ]
    assert list(fmri.columns) == expected and list(eeg.columns) == expected
    assert len(fmri) == len(METRICS) * len(REGIONS) * len(LAYERS)
    assert len(eeg) == len(METRICS) * len(LAYERS) * TIMES.size
    assert set(fmri["metric"]) == set(METRICS) and fmri["time"].isna().all()
    # the noise ceiling is broadcast over layers: constant within (metric, region)
    nc = fmri.groupby(["metric", "region"])["noise_ceiling_lower"].nunique()
    assert (nc == 1).all()
    # the NaN planted in the score stays a single NaN row
    assert fmri["score"].isna().sum() == 1


def test_write_tsv_roundtrip(tmp_path: Path) -> None:
    path = write_tsv(RECOVERY, tmp_path / "sub" / "rec.tsv")
    back = pd.read_csv(path, sep="\t")
    assert list(back.columns) == list(RECOVERY.columns) and len(back) == len(RECOVERY)
    assert back["tmin"].isna().sum() == 2
    assert [p.name for p in path.parent.iterdir()] == ["rec.tsv"]


def test_figures_are_pngs_and_accept_nan() -> None:
    values = np.array([[0.1, np.nan], [0.3, 0.4]])
    png = heatmap_png(
        values,
        rows=["a", "b"],
        cols=["x", "y"],
        title="t",
        p_values=np.array([[0.001, np.nan], [0.5, 0.01]]),
    )
    course = timecourse_png(TIMES, {"l1": np.sin(TIMES)}, title="t", ylabel="r")
    for data in (png, course):
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1024


def test_report_parses_and_images_are_pngs(parsed: tuple[str, _Collector]) -> None:
    _, html = parsed
    assert {"html", "head", "body", "table", "details", "img"} <= html.tags
    # encoding: fMRI heatmap + EEG heatmap and time course; alignment: one fMRI heatmap per
    # metric, one EEG heatmap and time course per metric
    assert len(html.images) == 1 + 2 + 2 + 4
    for src in html.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1024


def test_report_is_self_contained(parsed: tuple[str, _Collector]) -> None:
    text, _ = parsed
    assert "<script" not in text.lower()
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", text)
    assert "<link" not in text.lower()


def test_report_recovery_table(parsed: tuple[str, _Collector]) -> None:
    text, html = parsed
    assert "2 of 4</strong> planted units recovered" in text
    classes = [cls for _, cls in html.cells]
    assert classes.count("ok") == 2 and classes.count("bad") == 2
    cells = [c for c, _ in html.cells]
    assert "60–140 ms" in cells and "conv3" in cells


def test_report_names_datasets_metrics_and_sections(parsed: tuple[str, _Collector]) -> None:
    text, _ = parsed
    for name in [*METRICS, "sim-fmri", "sim-eeg", "toynet", "Planted vs recovered", "Provenance"]:
        assert name in text, name
    assert "QC &lt;preprocessing&gt;" in text  # extra section title escaped
    assert "<p>bad channels: 0</p>" in text  # extra section body kept as HTML
    assert '"folds": 5' in text.replace("&quot;", '"')  # config as pretty JSON


def test_report_cells_have_no_nan_or_none(parsed: tuple[str, _Collector]) -> None:
    _, html = parsed
    bad = [c for c, _ in html.cells if re.search(r"\b(nan|none|null)\b", c, re.IGNORECASE)]
    assert not bad, bad[:5]
    assert all(c for c, _ in html.cells), "empty table cell"
    assert "—" in [c for c, _ in html.cells]  # the planted NaN renders as a dash


def test_failed_build_keeps_previous_report(inputs: dict, report: Path, tmp_path: Path) -> None:
    out = Path(shutil.copy(report, tmp_path / "report.html"))
    before = out.read_bytes()
    with pytest.raises(StoreError):
        build_report(encoding=[inputs["enc_fmri"]], alignment=[tmp_path / "missing.zarr"], out=out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_failed_rename_leaves_no_partial_file(
    inputs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.html"
    out.write_text("previous")

    def broken_replace(src: os.PathLike, dst: os.PathLike) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_tables.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        build_report(encoding=[inputs["enc_fmri"]], alignment=[], out=out)
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_report_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    shot = tmp_path / "report.png"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1400,3000",
        report.resolve().as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    if os.environ.get("BRAINBRIDGE_REPORT_SHOT"):
        shutil.copy(shot, os.environ["BRAINBRIDGE_REPORT_SHOT"])
    assert shot.exists() and shot.stat().st_size > 20_000
    pixels = imread(shot)
    assert pixels.shape[:2] == (3000, 1400) and float(pixels.std()) > 0.05
