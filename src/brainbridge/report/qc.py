"""The M/EEG quality-control section of the reports, from the QC records written at ingestion.

Every name in a record (dataset, file, channel, drop reason) is data: it goes through
:func:`brainbridge.report.escape.escape` before it reaches the page.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from brainbridge.report.escape import escape
from brainbridge.report.html import Section, figure_html, table_html


def psd_png(run: dict, title: str) -> bytes:
    """PSD before and after preprocessing, one line pair per channel type."""
    fig = Figure(figsize=(5.0, 3.0))
    ax = fig.add_subplot()
    for stage, style in (("psd_before", "--"), ("psd_after", "-")):
        psd = run.get(stage)
        if not psd:
            continue
        for i, (ch_type, power) in enumerate(psd["log10_power"].items()):
            ax.plot(
                psd["freqs"], power, style, color=f"C{i}", label=f"{ch_type} {stage.split('_')[1]}"
            )
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("log10 power")
    ax.set_title(title, fontsize=9, parse_math=False)  # a '$' in a file name is text
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=90, facecolor="white")
    return buffer.getvalue()


def read_qc_records(paths: list[str | Path]) -> dict[str, dict]:
    """QC records by dataset name, from ``<dataset>.qc.json`` files."""
    return {
        Path(p).name.removesuffix(".qc.json"): json.loads(Path(p).read_text(encoding="utf-8"))
        for p in paths
    }


def _file_name(run: dict) -> str:
    return Path(str(run.get("file", "?"))).name


def _bad_channels(run: dict) -> str:
    bads = run.get("bad_channels", {})
    return ", ".join(f"{c} ({why})" for c, why in bads.items()) or "none"


def qc_section(records: dict[str, dict]) -> Section:
    """One report section: a table of channels / epochs dropped per dataset, PSD figures."""
    rows, figures = [], []
    for name, rec in records.items():
        for run in rec.get("runs", []):
            cells = [
                name,
                _file_name(run),
                str(run.get("n_events", "—")),
                _bad_channels(run),
                json.dumps(run.get("ica", "off")),
            ]
            rows.append([escape(c) for c in cells])
            if run.get("psd_before") or run.get("psd_after"):
                figures.append(
                    figure_html(
                        psd_png(run, f"{name}: {_file_name(run)}"),
                        alt=f"PSD {name}",
                        caption="PSD before (dashed) and after (solid)",
                    )
                )
    epochs_rows = [
        [
            escape(c)
            for c in (
                name,
                str(rec.get("epochs", {}).get("kept", "—")),
                str(rec.get("epochs", {}).get("dropped", "—")),
                json.dumps(rec.get("epochs", {}).get("reasons", {})),
            )
        ]
        for name, rec in records.items()
    ]
    body = (
        table_html(["dataset", "file", "events", "bad channels", "ICA"], rows)
        + table_html(["dataset", "epochs kept", "dropped", "reasons"], epochs_rows)
        + "".join(figures)
    )
    return Section("M/EEG quality control", body)
