"""User-given names reach the HTML reports as text only: no raw '<' from a name survives.

The QC report and the main report are built from records and stores carrying hostile file,
dataset, channel, region, layer and provenance names; the generated HTML is then searched for
each name's raw markup.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from brainbridge.report import build_report
from brainbridge.report.escape import escape
from brainbridge.report.qc import qc_section, read_qc_records
from brainbridge.steps.ingestion import qc_report
from brainbridge.store import provenance, write_store

FILE = r"<svg onload=alert(1)>$\nosuch$.edf"  # also bad mathtext for the PSD title
DATASET = "<b>set"
CHANNEL = "<i>Fz"
REGION = "<img src=x onerror=alert(2)>"
LAYER = "<u>conv1"
MODEL = "<script>net"
HOSTILE = [FILE, DATASET, CHANNEL, REGION, LAYER, MODEL]
RAW = ["<svg", "<b>", "<i>", "<img src=x", "<u>", "<script"]  # the markup each name would make


def _record() -> dict:
    psd = {"freqs": [1.0, 2.0, 3.0], "log10_power": {"eeg": [-11.0, -11.5, -12.0]}}
    run = {
        "file": f"/data/{FILE}",
        "n_events": 12,
        "bad_channels": {CHANNEL: "flat <0.1 uV>"},
        "ica": f"skipped: {CHANNEL}",
        "psd_before": psd,
        "psd_after": psd,
    }
    epochs = {"kept": 10, "dropped": 2, "reasons": {CHANNEL: 2}}
    return {"dataset": DATASET, "runs": [run], "epochs": epochs}


def _no_raw_markup(html: str) -> None:
    for raw in RAW:
        assert raw not in html, f"raw {raw!r} from a user-given name in the HTML"


def test_escape_helper_covers_text_and_attributes():
    assert escape("<svg onload=alert(1)>.edf") == "&lt;svg onload=alert(1)&gt;.edf"
    assert escape("a\"b'c&d") == "a&quot;b&#x27;c&amp;d"
    assert escape(3) == "3"


def test_qc_report_escapes_file_dataset_and_channel_names(tmp_path: Path):
    record = tmp_path / f"{DATASET}.qc.json"
    record.write_text(json.dumps(_record()))
    out = tmp_path / "qc_report.html"
    qc_report({"qc": [str(record)]}, {"html": str(out)}, {"title": "QC of <b>"})
    html = out.read_text(encoding="utf-8")
    _no_raw_markup(html)
    assert escape(FILE) in html and escape(CHANNEL) in html and escape(DATASET) in html
    assert html.count("data:image/png;base64,") == 1  # the PSD figure, titled with the file name


def test_qc_section_alone_escapes_every_cell():
    body = qc_section({DATASET: _record()}).body
    _no_raw_markup(body)
    assert "&lt;0.1 uV&gt;" in body  # free text of a reason too


def test_main_report_escapes_store_names_and_provenance(tmp_path: Path):
    metrics = ["rsa-rdm=correlation-compare=spearman"]
    score = np.array([[[0.1, 0.4], [0.3, 0.2]]])
    ds = xr.Dataset(
        {"score": (("metric", "region", "layer"), score)},
        coords={"metric": metrics, "region": [REGION, "V1"], "layer": [LAYER, "conv2"]},
        attrs={"dataset": DATASET, "model": MODEL, "modality": "fmri"},
    )
    prov = provenance(step="align", config={"name": DATASET, "file": FILE}, seed=0)
    store = write_store(ds, tmp_path / "a.zarr", kind="alignment", provenance=prov)
    record = tmp_path / f"{DATASET}.qc.json"
    record.write_text(json.dumps(_record()))
    out = build_report(
        encoding=[],
        alignment=[store],
        out=tmp_path / "report.html",
        title="report of <b>",
        extra_sections=[qc_section(read_qc_records([record]))],
    )
    html = out.read_text(encoding="utf-8")
    _no_raw_markup(html)
    assert escape(REGION) in html and escape(MODEL) in html and escape(LAYER) in html


def test_heatmap_labels_are_drawn_as_written() -> None:
    """Atlas labels are data: a label that is also broken mathtext still renders."""
    from brainbridge.report.figures import heatmap_png

    png = heatmap_png(
        np.array([[0.1, 0.2], [0.3, 0.4]]),
        rows=[r"$\nosuch$ region", "IT"],
        cols=["conv1", r"layer_$x"],
        title=r"$\frac{broken",
    )
    assert png.startswith(b"\x89PNG")
