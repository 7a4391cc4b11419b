"""The HTML report: tidy tables, figures and one self-contained page per run."""

from brainbridge.report.figures import (
    Window,
    fdr_adjust,
    fdr_significant,
    heatmap_png,
    timecourse_png,
)
from brainbridge.report.html import Section, build_report, figure_html, table_html
from brainbridge.report.tables import atomic_write, tidy_alignment, tidy_encoding, write_tsv

__all__ = [
    "Section",
    "Window",
    "atomic_write",
    "build_report",
    "fdr_adjust",
    "fdr_significant",
    "figure_html",
    "heatmap_png",
    "table_html",
    "tidy_alignment",
    "tidy_encoding",
    "timecourse_png",
    "write_tsv",
]
