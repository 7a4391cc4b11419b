"""BOLD runs + events (+ atlas or a computed mask) -> single-trial betas -> responses Dataset."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import xarray as xr
from nilearn.image import load_img, math_img, resample_to_img
from nilearn.maskers import NiftiMasker
from nilearn.masking import compute_background_mask

from brainbridge.store import names as n

from .glm import single_trial_betas

log = logging.getLogger(__name__)


def read_atlas(
    atlas_path: str | Path, labels_path: str | Path
) -> tuple[nib.Nifti1Image, pd.DataFrame]:
    """Integer label image and its table (columns index, name)."""
    atlas = load_img(atlas_path)
    table = pd.read_csv(labels_path, sep="\t")
    missing = {"index", "name"} - set(table.columns)
    if missing:
        raise ValueError(f"atlas labels {labels_path} lack column(s) {sorted(missing)}.")
    return atlas, table


def read_events(path: str | Path, n_scans: int, tr: float) -> pd.DataFrame:
    """Events TSV (onset, duration, stimulus and/or trial_type) checked against the scan length.

    Without a ``stimulus`` column the ``trial_type`` is the stimulus (e.g. category blocks).
    """
    events = pd.read_csv(path, sep="\t", dtype={"stimulus": str, "trial_type": str})
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
    end = n_scans * tr
    late = (events["onset"] >= end) | (events["onset"] + events["duration"] > end + tr)
    if late.any():
        raise ValueError(
            f"events {path}: {int(late.sum())} event(s) start or end after the end of the scan "
            f"({n_scans} volumes x TR {tr} s = {end:.1f} s); check the TR or the events."
        )
    return events


def _check_tr(bold: nib.Nifti1Image, path, tr: float) -> None:
    if len(bold.shape) != 4:
        raise ValueError(f"{path}: a BOLD run must be 4D (x, y, z, time), not {bold.shape}.")
    header_tr = float(bold.header.get_zooms()[3])
    if header_tr and not np.isclose(header_tr, tr, atol=1e-3):
        raise ValueError(
            f"{path}: header TR {header_tr} s differs from the configured tr {tr} s; "
            "fix the config (or the header)."
        )


def _mask_and_labels(
    atlas_path, labels_path, reference: nib.Nifti1Image, reference_path
) -> tuple[nib.Nifti1Image, np.ndarray | None, dict]:
    """Mask image, atlas image on the BOLD grid (or None) and label names."""
    if atlas_path is None:
        mask = compute_background_mask(reference, opening=False)
        if not mask.get_fdata().any():
            raise ValueError(
                f"the mask computed from {reference_path} is empty; give an atlas "
                "(atlas + atlas_labels) or check the BOLD data."
            )
        return mask, None, {}
    atlas, table = read_atlas(atlas_path, labels_path)
    if atlas.shape[:3] != reference.shape[:3] or not np.allclose(atlas.affine, reference.affine):
        warnings.warn(
            f"atlas {atlas_path} ({atlas.shape[:3]}) is not on the grid of {reference_path} "
            f"({reference.shape[:3]}); resampled to it (nearest neighbour).",
            stacklevel=3,
        )
        atlas = resample_to_img(
            atlas, reference, interpolation="nearest", force_resample=True, copy_header=True
        )
    mask = math_img("img > 0", img=atlas)
    if not mask.get_fdata().any():
        raise ValueError(
            f"atlas {atlas_path} has no labelled voxel on the grid of {reference_path}; "
            "check that the atlas and the BOLD runs are in the same space."
        )
    names = dict(zip(table["index"].astype(int), table["name"].astype(str)))
    return mask, atlas, names


def ingest_fmri(
    bold_paths: list[str | Path],
    event_paths: list[str | Path],
    atlas_path: str | Path | None = None,
    labels_path: str | Path | None = None,
    *,
    tr: float,
    glm: dict,
) -> xr.Dataset:
    """Every run's single-trial betas stacked into a ``responses`` store Dataset.

    ``glm.estimator``: ``lsa`` (default) or ``lss``. Without an atlas the voxels are the
    non-background voxels of the first run (region ``brain``).
    """
    if not bold_paths:
        raise ValueError("no BOLD run given.")
    if not event_paths:
        raise ValueError(
            f"{bold_paths[0]}: no events given; single-trial betas need one events TSV per run "
            "(onset, duration, stimulus or trial_type)."
        )
    if len(bold_paths) != len(event_paths):
        raise ValueError(f"{len(bold_paths)} BOLD runs but {len(event_paths)} event files.")
    first = load_img(bold_paths[0])
    _check_tr(first, bold_paths[0], tr)
    mask, atlas, names = _mask_and_labels(atlas_path, labels_path, first, bold_paths[0])
    masker = NiftiMasker(mask_img=mask, standardize=None).fit()
    if atlas is None:
        region = np.full(int(mask.get_fdata().sum()), "brain")
    else:
        voxel_labels = masker.transform(atlas).ravel().astype(int)
        region = np.array([names.get(v, f"label{v}") for v in voxel_labels], dtype=str)
    ijk = np.argwhere(mask.get_fdata() > 0)
    xyz = nib.affines.apply_affine(mask.affine, ijk)

    betas, metas = [], []
    for run, (bold_path, event_path) in enumerate(zip(bold_paths, event_paths), start=1):
        bold = first if run == 1 else load_img(bold_path)
        _check_tr(bold, bold_path, tr)
        if bold.shape[:3] != mask.shape[:3]:
            raise ValueError(
                f"{bold_path}: grid {bold.shape[:3]} differs from the first run "
                f"{mask.shape[:3]}; realign / resample the runs to one grid first."
            )
        events = read_events(event_path, bold.shape[3], tr)
        inside = np.asanyarray(bold.dataobj)[mask.get_fdata() > 0]  # before nilearn zeroes NaNs
        bad = ~np.isfinite(inside).all(axis=-1)
        if bad.any():
            raise ValueError(
                f"{bold_path}: {int(bad.sum())} voxel(s) in the mask hold NaN or inf; "
                "mask them out (atlas / mask) or fix the preprocessing."
            )
        series = masker.transform(bold)
        betas.append(single_trial_betas(series, tr, events, glm))
        metas.append(events.assign(run=str(run)))
        log.info("%s: %d single-trial betas", bold_path, len(events))
    meta = pd.concat(metas, ignore_index=True)
    condition = meta.get("trial_type", pd.Series(["n/a"] * len(meta))).astype(str).to_numpy()
    estimator = glm.get("estimator", "lsa").upper()
    return xr.Dataset(
        {"data": ((n.TRIAL, n.VOXEL), np.vstack(betas).astype(np.float32))},
        coords={
            n.STIMULUS: (n.TRIAL, meta["stimulus"].astype(str).to_numpy()),
            n.CONDITION: (n.TRIAL, condition),
            n.RUN: (n.TRIAL, meta["run"].to_numpy(dtype=str)),
            n.ONSET: (n.TRIAL, meta["onset"].to_numpy(dtype=np.float64)),
            n.REGION: (n.VOXEL, region),
            n.POSITION: ((n.VOXEL, n.SPACE), xyz.astype(np.float64)),
        },
        attrs={n.MODALITY: "fmri", n.TR: float(tr), "units": "beta (a.u.)", "estimator": estimator},
    )
