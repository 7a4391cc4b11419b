"""BIDS recordings through mne-bids: the runs of one subject, events.tsv and channels.tsv."""

from __future__ import annotations

from pathlib import Path

import mne

from brainbridge.ingest.meeg.errors import IngestError


def bids_paths(cfg: dict) -> list:
    """The BIDSPaths of one subject's recordings (session, task and runs as configured)."""
    from mne_bids import BIDSPath, find_matching_paths

    root = Path(cfg["root"])
    if not (root / "dataset_description.json").exists():
        raise IngestError(
            f"BIDS root {root} has no dataset_description.json; point 'bids.root' at the folder "
            "that holds it."
        )
    runs = cfg.get("runs")
    found = find_matching_paths(
        root,
        subjects=str(cfg["subject"]),
        sessions=cfg.get("session"),
        tasks=cfg.get("task"),
        runs=[str(r) for r in runs] if runs else None,
        datatypes=cfg.get("datatype", "eeg"),
        suffixes=cfg.get("datatype", "eeg"),
        extensions=[".edf", ".bdf", ".vhdr", ".set", ".fif", ".con", ".sqd", ".ds"],
    )
    found = sorted({p.fpath: p for p in found if isinstance(p, BIDSPath)}.values(), key=str)
    if not found:
        raise IngestError(
            f"BIDS root {root}: no recording matches subject {cfg['subject']!r}, session "
            f"{cfg.get('session')!r}, task {cfg.get('task')!r}, runs {runs!r}; check 'bids'."
        )
    return found


def bids_files(cfg: dict) -> list[str]:
    """The recording files of :func:`bids_paths` (for the workflow's input lists)."""
    return [str(p.fpath) for p in bids_paths(cfg)]


def read_bids_run(bids_path) -> mne.io.BaseRaw:
    """One BIDS run with events.tsv as annotations and channels.tsv bad channels marked."""
    from mne_bids import read_raw_bids

    try:
        raw = read_raw_bids(bids_path, verbose="error")
    except Exception as err:
        raise IngestError(
            f"could not read BIDS recording {bids_path.fpath} ({type(err).__name__}: {err}); "
            "validate the dataset (bids-validator) and re-export it."
        ) from err
    raw.load_data(verbose="error")
    return raw
