"""Per-subject quality-control record (JSON beside the store) and its report section."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import mne
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from brainbridge.atomic import write_text
from brainbridge.report.html import Section, figure_html, table_html


def psd_summary(raw: mne.io.BaseRaw, fmax: float = 100.0) -> dict:
    """Mean log10 power spectral density per channel type (``raw.compute_psd``)."""
    fmax = min(fmax, raw.info["sfreq"] / 2)
    psd = raw.compute_psd(fmax=fmax, picks=["eeg", "meg"], exclude="bads", verbose="error")
    data, types = psd.get_data(), np.array(psd.get_channel_types())
    return {
        "freqs": np.round(psd.freqs, 3).tolist(),
        "log10_power": {
            t: np.log10(data[types == t].mean(axis=0) + 1e-40).round(4).tolist()
            for t in np.unique(types)
        },
    }


def drop_summary(drop_log: tuple) -> dict:
    """Epochs dropped, by reason (channel names for peak-to-peak rejection)."""
    reasons = Counter(r for log in drop_log for r in log)
    return {
        "dropped": int(sum(1 for log in drop_log if log)),
        "reasons": dict(reasons),
    }


def write_qc(record: dict, path: str | Path) -> Path:
    return write_text(json.dumps(record, indent=1, sort_keys=True, default=str), path)


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
    ax.set_title(title, fontsize=9)
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


def qc_section(records: dict[str, dict]) -> Section:
    """One report section: a table of channels / epochs dropped per dataset, PSD figures."""
    rows, figures = [], []
    for name, rec in records.items():
        for run in rec.get("runs", []):
            rows.append(
                [
                    name,
                    Path(str(run.get("file", "?"))).name,
                    str(run.get("n_events", "—")),
                    ", ".join(f"{c} ({why})" for c, why in run.get("bad_channels", {}).items())
                    or "none",
                    json.dumps(run.get("ica", "off")),
                ]
            )
            if run.get("psd_before") or run.get("psd_after"):
                figures.append(
                    figure_html(
                        psd_png(run, f"{name}: {Path(str(run.get('file'))).name}"),
                        alt=f"PSD {name}",
                        caption="PSD before (dashed) and after (solid)",
                    )
                )
    epochs_rows = [
        [
            name,
            str(rec.get("epochs", {}).get("kept", "—")),
            str(rec.get("epochs", {}).get("dropped", "—")),
            json.dumps(rec.get("epochs", {}).get("reasons", {})),
        ]
        for name, rec in records.items()
    ]
    body = (
        table_html(["dataset", "file", "events", "bad channels", "ICA"], rows)
        + table_html(["dataset", "epochs kept", "dropped", "reasons"], epochs_rows)
        + "".join(figures)
    )
    return Section("M/EEG quality control", body)
