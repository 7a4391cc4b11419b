"""BOLD runs + events (+ regions, cleaning) -> single-trial responses -> a ``responses`` Dataset.

Per run: check the TR and the grid, keep the voxels of the regions (``regions.py``), optionally
smooth and scale, load the confounds and the volumes kept after scrubbing (``cleaning.py``), then
estimate one response per trial: GLM betas (``glm.py``: LSA or LSS, confounds as nuisance
regressors, censored volumes dropped from data and design) or the time-locked average of the
cleaned BOLD (``average.py``). Every run is checked and computed before anything is returned, so a
bad input never leaves a partial store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import xarray as xr
from nilearn.image import smooth_img

from brainbridge.integrity import check_onsets, read_table
from brainbridge.store import names as n

from .average import time_locked_average
from .bids import FmriRun
from .cleaning import clean_series, run_confounds, scale
from .glm import single_trial_betas
from .images import load_nifti
from .regions import Regions, build_regions, parcel_means, voxel_positions

log = logging.getLogger(__name__)

RESPONSES = ("betas", "average")


def read_events(path: str | Path, n_scans: int, tr: float) -> pd.DataFrame:
    """Events TSV (onset, duration, stimulus and/or trial_type) checked against the scan length.

    Without a ``stimulus`` column the ``trial_type`` is the stimulus (e.g. category blocks).
    """
    events = read_table(path, "events", dtype={"stimulus": str, "trial_type": str})
    missing = {"onset", "duration"} - set(events.columns)
    if missing or not {"stimulus", "trial_type"} & set(events.columns):
        raise ValueError(
            f"events {path} need columns onset, duration and stimulus or trial_type "
            f"(has {list(events.columns)})."
        )
    if "stimulus" not in events:
        events = events.assign(stimulus=events["trial_type"])
    if events.empty:
        raise ValueError(f"events {path} list no event; each run needs at least one trial.")
    check_onsets(
        events["onset"],
        f"events {path}",
        "give every event an onset and duration in seconds from the first volume (>= 0)",
        durations=events["duration"],
    )
    end = n_scans * tr
    late = (events["onset"] >= end) | (events["onset"] + events["duration"] > end + tr)
    if late.any():
        raise ValueError(
            f"events {path}: {int(late.sum())} event(s) start or end after the end of the scan "
            f"({n_scans} volumes x TR {tr} s = {end:.1f} s); check the TR or the events."
        )
    return events


def plain_runs(
    bold: Sequence,
    events: Sequence,
    confounds: Sequence = (),
    *,
    labels: Sequence | None = None,
    trs: Sequence | None = None,
) -> list[FmriRun]:
    """Runs from parallel lists of files (one events TSV, and optionally one confounds TSV, per
    BOLD run); labels default to 1, 2, ..."""
    if not bold:
        raise ValueError("no BOLD run given.")
    if not events:
        raise ValueError(
            f"{bold[0]}: no events given; single-trial responses need one events TSV per run "
            "(onset, duration, stimulus or trial_type)."
        )
    for key, files in (("events", events), ("confounds", confounds)):
        if files and len(files) != len(bold):
            raise ValueError(
                f"{len(bold)} BOLD runs but {len(files)} {key} files; give one per run."
            )
    labels = labels or [str(i) for i in range(1, len(bold) + 1)]
    return [
        FmriRun(bold=Path(b), events=Path(e), confounds=c and Path(c), tr=t, label=str(label))
        for b, e, c, t, label in zip(
            bold, events, confounds or [None] * len(bold), trs or [None] * len(bold), labels
        )
    ]


def resolve_tr(runs: Sequence[FmriRun], tr: float | None) -> float:
    """The one TR of every run: the configured ``tr`` and the sidecars' must agree."""
    found = {float(r.tr): r.bold for r in runs if r.tr is not None}
    if tr is not None:
        for value, path in found.items():
            if not np.isclose(value, tr, atol=1e-3):
                raise ValueError(
                    f"{path}: RepetitionTime {value} s in its sidecar differs from the configured "
                    f"tr {tr} s; fix the config (or leave tr out to use the sidecars)."
                )
        return float(tr)
    if len(found) > 1:
        raise ValueError(f"runs have different TRs {sorted(found)}: {list(found.values())}.")
    if not found:
        raise ValueError(f"{runs[0].bold}: no TR known; set the dataset's tr (seconds).")
    return next(iter(found))


def _check_run(bold: nib.Nifti1Image, path, tr: float, reference: Regions | None) -> None:
    if len(bold.shape) != 4:
        raise ValueError(f"{path}: a BOLD run must be 4D (x, y, z, time), not {bold.shape}.")
    header_tr = float(bold.header.get_zooms()[3])
    if header_tr and not np.isclose(header_tr, tr, atol=1e-3):
        raise ValueError(
            f"{path}: header TR {header_tr} s differs from the configured tr {tr} s; "
            "fix the config (or the header)."
        )
    if reference is not None and (
        bold.shape[:3] != reference.mask.shape[:3]
        or not np.allclose(bold.affine, reference.mask.affine, atol=1e-3)
    ):
        raise ValueError(
            f"{path}: grid {bold.shape[:3]} differs from the first run "
            f"{reference.mask.shape[:3]}; realign / resample the runs to one grid first."
        )


def _run_series(bold: nib.Nifti1Image, path, regions: Regions, cleaning: dict) -> np.ndarray:
    """Volumes x voxels inside the regions, smoothed and scaled as configured."""
    keep = np.asarray(regions.mask.dataobj) > 0
    data = np.asanyarray(bold.dataobj)
    bad = ~np.isfinite(data[keep]).all(axis=-1)
    if bad.any():
        raise ValueError(
            f"{path}: {int(bad.sum())} voxel(s) in the mask hold NaN or inf; "
            "mask them out (regions.mask / atlas) or fix the preprocessing."
        )
    fwhm = cleaning.get("smoothing_fwhm")
    if fwhm:
        data = np.asanyarray(smooth_img(bold, fwhm).dataobj)
    series = np.asarray(data[keep], dtype=np.float64).T
    return scale(series, cleaning.get("standardize", False), path)


def _run_responses(
    run: FmriRun, tr: float, regions: Regions, cleaning: dict, glm: dict, response: dict
) -> tuple[np.ndarray, pd.DataFrame]:
    bold = load_nifti(run.bold, "BOLD run")
    _check_run(bold, run.bold, tr, regions)
    if run.events is None:
        raise ValueError(
            f"{run.bold}: no events; single-trial responses need one events TSV per run "
            "(onset, duration, stimulus or trial_type)."
        )
    n_scans = bold.shape[3]
    events = read_events(run.events, n_scans, tr)
    series = _run_series(bold, run.bold, regions, cleaning)
    if regions.level == "parcel":
        series, _ = parcel_means(series, regions)
    confounds, sample_mask = run_confounds(
        run.bold, run.confounds, cleaning.get("confounds"), n_scans
    )
    kind = response.get("type", "betas")
    if kind == "betas":
        values = single_trial_betas(series, tr, events, glm, confounds, sample_mask)
    elif kind == "average":
        cleaned = clean_series(series, tr, confounds, sample_mask, cleaning)
        baseline = response.get("baseline")
        values, kept = time_locked_average(
            cleaned, tr, events, tuple(response.get("window", (4.0, 8.0))),
            None if baseline is None else tuple(baseline), path=run.events,
        )  # fmt: skip
        if not kept.all():
            log.warning("%s: %d trial(s) fully censored, dropped", run.bold, int((~kept).sum()))
        events = events[kept]
    else:
        raise ValueError(f"response.type must be one of {RESPONSES}, not {kind!r}.")
    log.info("%s: %d single-trial responses (%s)", run.bold, len(events), kind)
    return values, events.assign(run=run.label)


def ingest_fmri(
    runs: Sequence[FmriRun],
    *,
    tr: float | None = None,
    regions: dict | None = None,
    cleaning: dict | None = None,
    glm: dict | None = None,
    response: dict | None = None,
) -> xr.Dataset:
    """Every run's single-trial responses stacked into a ``responses`` store Dataset.

    ``response.type``: ``betas`` (``glm.estimator`` ``lsa`` or ``lss``) or ``average``
    (``response.window``, ``response.baseline``, in s after the onset).
    """
    if not runs:
        raise ValueError("no BOLD run given.")
    cleaning, glm, response = dict(cleaning or {}), dict(glm or {}), dict(response or {})
    tr = resolve_tr(runs, tr)
    first = load_nifti(runs[0].bold, "BOLD run")
    _check_run(first, runs[0].bold, tr, None)
    region_set = build_regions(regions, first, runs[0].bold)
    results = [_run_responses(r, tr, region_set, cleaning, glm, response) for r in runs]
    meta = pd.concat([m for _, m in results], ignore_index=True)
    data = np.vstack([v for v, _ in results]).astype(np.float32)
    positions = voxel_positions(region_set.mask)
    unit, labels = n.VOXEL, region_set.voxel_region
    if region_set.level == "parcel":
        positions, labels = parcel_means(positions.T, region_set)
        positions, unit = positions.T, n.PARCEL
    condition = meta.get("trial_type", pd.Series(["n/a"] * len(meta))).astype(str).to_numpy()
    kind = response.get("type", "betas")
    estimator = glm.get("estimator", "lsa").upper() if kind == "betas" else "AVERAGE"
    return xr.Dataset(
        {"data": ((n.TRIAL, unit), data)},
        coords={
            n.STIMULUS: (n.TRIAL, meta["stimulus"].astype(str).to_numpy()),
            n.CONDITION: (n.TRIAL, condition),
            n.RUN: (n.TRIAL, meta["run"].astype(str).to_numpy()),
            n.ONSET: (n.TRIAL, meta["onset"].to_numpy(dtype=np.float64)),
            n.REGION: (unit, np.asarray(labels, dtype=str)),
            n.POSITION: ((unit, n.SPACE), positions.astype(np.float64)),
        },
        attrs={
            n.MODALITY: "fmri",
            n.TR: float(tr),
            "units": _units(kind, cleaning.get("standardize", False)),
            "estimator": estimator,
            "level": region_set.level,
        },
    )


def _units(kind: str, standardize) -> str:
    scale_units = {"psc": "% signal change", "zscore_sample": "z"}.get(standardize, "a.u.")
    return f"{'beta' if kind == 'betas' else 'mean BOLD'} ({scale_units})"
