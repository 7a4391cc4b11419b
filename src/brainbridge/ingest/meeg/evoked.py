"""Averaged responses (MNE ``Evoked`` files) as an ``epochs`` store: one trial per condition
and subject, whose stimulus id is the condition."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.ingest.meeg.epochs import DATA_PICKS, epochs_to_dataset
from brainbridge.ingest.meeg.errors import IngestError
from brainbridge.ingest.meeg.readers import check_recording


def read_evoked_file(path: str | Path) -> list[mne.Evoked]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"evoked file {path} does not exist; check the dataset's files.")
    check_recording(path, "evoked file")
    try:
        return mne.read_evokeds(path, verbose="error")
    except Exception as err:
        raise IngestError(
            f"could not read evoked file {path} ({type(err).__name__}: {err}); it must be an "
            "MNE -ave.fif file (mne.write_evokeds), not truncated."
        ) from err


def evoked_dataset(files: list, cfg: dict, *, modality: str) -> xr.Dataset:
    """Every condition of every file; ``conditions`` renames them (one name per evoked, in
    file order) and ``baseline`` re-applies a baseline."""
    names = cfg.get("conditions")
    arrays, rows, info, times = [], [], None, None
    for path in files:
        evokeds = read_evoked_file(path)
        if names and len(names) != len(evokeds):
            raise IngestError(
                f"evoked file {path} holds {len(evokeds)} conditions but 'conditions' names "
                f"{len(names)}; give one name per condition ({[e.comment for e in evokeds]})."
            )
        subject = Path(path).name.split("_")[0].removesuffix("-ave.fif").removesuffix(".gz")
        for i, ev in enumerate(evokeds):
            ev = ev.copy().pick(DATA_PICKS, exclude="bads")
            if cfg.get("baseline") is not None:
                ev.apply_baseline(tuple(cfg["baseline"]), verbose="error")
            if info is None:
                info, times = ev.info, ev.times
            elif ev.ch_names != info["ch_names"] or len(ev.times) != len(times):
                raise IngestError(
                    f"evoked file {path}: condition {ev.comment!r} has other channels or times "
                    "than the first file; give files of one montage and epoch window."
                )
            condition = names[i] if names else ev.comment
            arrays.append(ev.data)
            rows.append(
                {
                    "stimulus": condition,
                    "condition": condition,
                    "run": subject,
                    "onset": 0.0,
                    "nave": ev.nave,
                }
            )
    meta = pd.DataFrame(rows)
    epochs = mne.EpochsArray(
        np.stack(arrays),
        info,
        tmin=float(times[0]),
        metadata=meta,
        baseline=None,
        verbose="error",
    )
    ds = epochs_to_dataset(epochs, modality=modality)
    return ds.assign_coords(nave=("trial", meta["nave"].to_numpy(dtype=np.int64)))
