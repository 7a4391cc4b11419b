"""BIDS recordings through mne-bids: the runs of one subject, events.tsv and channels.tsv."""

from __future__ import annotations

from pathlib import Path

import mne

from brainbridge.ingest.labels import label_matches
from brainbridge.ingest.meeg.errors import IngestError
from brainbridge.ingest.meeg.readers import check_recording
from brainbridge.integrity import check_onsets, read_table


def _run_order(path) -> tuple:
    run = path.run
    return (int(run) if run and str(run).isdigit() else -1, str(run or ""), str(path.fpath))


def bids_paths(cfg: dict) -> list:
    """The BIDSPaths of one subject's recordings (session, task and runs as configured).

    Subject, session and run match numerically when both sides are numbers (``runs: [4]``
    finds ``run-04``); runs come back in the configured order, else in run-number order.
    """
    from mne_bids import BIDSPath, find_matching_paths

    root = Path(cfg["root"])
    if not (root / "dataset_description.json").exists():
        raise IngestError(
            f"BIDS root {root} has no dataset_description.json; point 'bids.root' at the folder "
            "that holds it."
        )
    runs = cfg.get("runs")
    if runs is not None and not isinstance(runs, list | tuple):
        runs = [runs]
    session = cfg.get("session")
    datatype = cfg.get("datatype", "eeg")
    found = find_matching_paths(
        root,
        tasks=str(cfg["task"]) if cfg.get("task") is not None else None,
        datatypes=datatype,
        suffixes=datatype,
        extensions=[".edf", ".bdf", ".vhdr", ".set", ".fif", ".con", ".sqd", ".ds"],
    )
    found = [
        p
        for p in found
        if isinstance(p, BIDSPath)
        and label_matches(p.subject, cfg["subject"])
        and (session is None or label_matches(p.session, session))
    ]
    found = sorted({str(p.fpath): p for p in found}.values(), key=_run_order)
    if runs:
        chosen = []
        for run in runs:
            match = [p for p in found if label_matches(p.run, run)]
            if not match:
                raise IngestError(
                    f"BIDS root {root}: no recording of run {run!r} for subject "
                    f"{cfg['subject']!r}, session {session!r}, task {cfg.get('task')!r} "
                    f"(runs present: {sorted({str(p.run) for p in found})}); check 'bids.runs'."
                )
            chosen.extend(p for p in match if p not in chosen)
        found = chosen
    if not found:
        raise IngestError(
            f"BIDS root {root}: no recording matches subject {cfg['subject']!r}, session "
            f"{session!r}, task {cfg.get('task')!r}, runs {runs!r}; check 'bids'."
        )
    return found


def bids_files(cfg: dict) -> list[str]:
    """The recording files of :func:`bids_paths` (for the workflow's input lists)."""
    return [str(p.fpath) for p in bids_paths(cfg)]


def _check_events_tsv(bids_path) -> None:
    """The run's events.tsv may not hold negative or missing onsets (MNE would drop them)."""
    events = bids_path.copy().update(suffix="events", extension=".tsv").fpath
    if not events.exists():
        return
    table = read_table(events, "BIDS events", usecols=lambda c: c == "onset")
    if "onset" in table:
        fix = "give every event an onset in seconds from the start of the recording (>= 0)"
        check_onsets(table["onset"], f"BIDS events {events}", fix)


def read_bids_run(bids_path) -> mne.io.BaseRaw:
    """One BIDS run with events.tsv as annotations and channels.tsv bad channels marked."""
    from mne_bids import read_raw_bids

    check_recording(bids_path.fpath, "BIDS recording")
    _check_events_tsv(bids_path)
    try:
        raw = read_raw_bids(bids_path, verbose="error")
    except Exception as err:
        raise IngestError(
            f"could not read BIDS recording {bids_path.fpath} ({type(err).__name__}: {err}); "
            "validate the dataset (bids-validator) and re-export it."
        ) from err
    raw.load_data(verbose="error")
    return raw
