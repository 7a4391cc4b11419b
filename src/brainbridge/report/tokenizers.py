"""The report's tokenizer section: codebook health per epoch (utilisation, perplexity, dead
codes, reconstruction in time and spectrum) and training curves, one figure per tokenizer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from brainbridge.report import figures as fg
from brainbridge.report.html import Section, figure_html, fmt, fmt_p, table_html

PANELS = (
    ("loss", "training loss"),
    ("utilisation", "codebook utilisation"),
    ("perplexity", "perplexity"),
    ("dead_codes", "dead codes"),
    ("r_time", "reconstruction r (time)"),
    ("r_spectrum", "reconstruction r (log spectrum)"),
    ("mse_time", "reconstruction MSE (time)"),
    ("mse_spectrum", "reconstruction MSE (log spectrum)"),
)


def health_png(health: pd.DataFrame, name: str) -> bytes:
    """One panel per health measure against the epoch, one line per RVQ level."""
    fig = Figure(figsize=(11, 5.2))
    axes = fig.subplots(2, 4)
    for ax, (column, title) in zip(axes.ravel(), PANELS):
        for i, (level, rows) in enumerate(health.groupby("level", sort=True)):
            ax.plot(
                rows["epoch"], rows[column], marker="o", label=f"level {level}", **fg.line_style(i)
            )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
    if health["level"].nunique() > 1:
        axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Tokenizer {name}: codebook health per epoch")
    fig.tight_layout()
    return fg._png(fig)


def _name(path: Path) -> str:
    return path.parent.name  # tokenizers/NAME/health.tsv


def probe_html(paths: Sequence[str | os.PathLike]) -> str:
    """One row per tokenizer, dataset and feature set of the linear-probe tables."""
    if not paths:
        return ""
    table = pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)
    rows = [
        (
            escape(str(r["tokenizer"])),
            escape(str(r["dataset"])),
            escape(str(r["by"])),
            escape(str(r["features"])),
            fmt(r["accuracy"], 3),
            fmt_p(r["p_value"]),
            fmt(r["null_mean"], 3),
            str(int(r["n_trials"])),
            str(int(r["n_features"])),
        )
        for _, r in table.iterrows()
    ]
    header = ("Tokenizer", "Dataset", "Labels", "Features", "Accuracy", "p", "Null mean",
              "Trials", "Features (n)")  # fmt: skip
    intro = (
        "<p>Linear probe of trial labels (ridge classifier, stratified folds; p: permutation "
        "test, labels shuffled across trials) from the tokens, from log band power of the same "
        "trials and window, and from the same tokenizer untrained (random codebook).</p>"
    )
    return intro + table_html(header, rows)


def tokenizer_section(
    paths: Sequence[str | os.PathLike], probes: Sequence[str | os.PathLike] = ()
) -> Section | None:
    """The section for the health tables at ``paths`` and the probe tables at ``probes``
    (None when there are none)."""
    if not paths:
        return None
    parts, rows = [], []
    for p in map(Path, paths):
        health = pd.read_csv(p, sep="\t")
        name = _name(p)
        last = health[health["epoch"] == health["epoch"].max()]
        for _, r in last.iterrows():
            rows.append(
                (
                    escape(name),
                    str(int(r["level"])),
                    str(int(r["epoch"])),
                    fmt(r["utilisation"], 2),
                    fmt(r["perplexity"], 1),
                    str(int(r["dead_codes"])),
                    fmt(r["r_time"]),
                    fmt(r["r_spectrum"]),
                    fmt(r["loss"]),
                )
            )
        parts.append(
            figure_html(
                health_png(health, name),
                alt=f"codebook health {name}",
                caption="Utilisation: share of codes used in the epoch; perplexity: exp of the "
                "entropy of code use (the number of equally used codes it equals); dead codes: "
                "codes unused in the epoch; r: Pearson correlation of reconstruction and input.",
            )
        )
    header = ("Tokenizer", "Level", "Epochs", "Utilisation", "Perplexity", "Dead codes",
              "r (time)", "r (spectrum)", "Loss")  # fmt: skip
    body = table_html(header, rows) + "".join(parts) + probe_html(probes)
    intro = "<p>Codebook health after the last epoch of each tokenizer, then per epoch.</p>"
    return Section("Brain tokenizers", intro + body)


__all__ = ["health_png", "probe_html", "tokenizer_section"]
