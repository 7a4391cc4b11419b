"""The HTML report: tidy tables, figures and one self-contained page per run.

Names are imported on first use (:mod:`brainbridge.lazy`): the tables need no plotting library.
"""

from brainbridge.lazy import lazy_attributes

LAZY = {
    **dict.fromkeys(
        ("Window", "fdr_adjust", "fdr_significant", "heatmap_png", "timecourse_png"),
        "brainbridge.report.figures",
    ),
    **dict.fromkeys(
        ("Section", "build_report", "figure_html", "table_html"), "brainbridge.report.html"
    ),
    **dict.fromkeys(
        ("atomic_write", "tidy_alignment", "tidy_encoding", "write_tsv"),
        "brainbridge.report.tables",
    ),
}
__getattr__, __dir__ = lazy_attributes(__name__, LAZY)
__all__ = sorted(LAZY)
