"""fMRI: BOLD runs + events + atlas -> single-trial GLM betas (LSA) -> responses store."""

from __future__ import annotations

import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import xarray as xr
from nilearn.glm.first_level import make_first_level_design_matrix, run_glm
from nilearn.image import load_img, math_img
from nilearn.maskers import NiftiMasker

from brainbridge.store import names as n

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
    """Events TSV (onset, duration, stimulus[, trial_type]) checked against the scan length."""
    events = pd.read_csv(path, sep="\t", dtype={"stimulus": str})
    missing = {"onset", "duration", "stimulus"} - set(events.columns)
    if missing:
        raise ValueError(f"events {path} lack column(s) {sorted(missing)}.")
    late = events["onset"] >= n_scans * tr
    if late.any():
        raise ValueError(
            f"events {path}: {int(late.sum())} event(s) start after the end of the scan "
            f"({n_scans} volumes x TR {tr} s = {n_scans * tr:.1f} s); check the TR or the events."
        )
    return events


def lsa_betas(
    bold: nib.Nifti1Image, events: pd.DataFrame, masker: NiftiMasker, *, tr: float, glm: dict
) -> np.ndarray:
    """Least-squares-all single-trial betas (trials x voxels): one regressor per trial."""
    series = masker.transform(bold)
    frame_times = np.arange(series.shape[0]) * tr
    trials = events.assign(trial_type=[f"trial{k:04d}" for k in range(len(events))])
    design = make_first_level_design_matrix(
        frame_times,
        trials[["onset", "duration", "trial_type"]],
        hrf_model=glm.get("hrf_model", "glover"),
        drift_model=glm.get("drift_model", "cosine"),
        high_pass=glm.get("high_pass", 0.01),
    )
    labels, results = run_glm(series, design.to_numpy(), noise_model=glm.get("noise_model", "ols"))
    theta = np.empty((design.shape[1], series.shape[1]))
    for label, result in results.items():
        theta[:, labels == label] = result.theta
    columns = list(design.columns)
    return theta[[columns.index(t) for t in trials["trial_type"]]]


def ingest_fmri(
    bold_paths: list[str | Path],
    event_paths: list[str | Path],
    atlas_path: str | Path,
    labels_path: str | Path,
    *,
    tr: float,
    glm: dict,
) -> xr.Dataset:
    """Every run's LSA betas stacked into a ``responses`` store Dataset with region labels."""
    if len(bold_paths) != len(event_paths):
        raise ValueError(f"{len(bold_paths)} BOLD runs but {len(event_paths)} event files.")
    atlas, table = read_atlas(atlas_path, labels_path)
    mask = math_img("img > 0", img=atlas)
    masker = NiftiMasker(mask_img=mask, standardize=None).fit()
    voxel_labels = masker.transform(atlas).ravel().astype(int)
    names = dict(zip(table["index"].astype(int), table["name"].astype(str)))
    region = np.array([names.get(v, f"label{v}") for v in voxel_labels], dtype=str)
    ijk = np.argwhere(mask.get_fdata() > 0)
    xyz = nib.affines.apply_affine(mask.affine, ijk)

    betas, metas = [], []
    for run, (bold_path, event_path) in enumerate(zip(bold_paths, event_paths), start=1):
        bold = load_img(bold_path)
        header_tr = float(bold.header.get_zooms()[3]) if len(bold.shape) == 4 else None
        if header_tr and not np.isclose(header_tr, tr, atol=1e-3):
            raise ValueError(
                f"{bold_path}: header TR {header_tr} s differs from the configured tr {tr} s; "
                "fix the config (or the header)."
            )
        events = read_events(event_path, bold.shape[3], tr)
        betas.append(lsa_betas(bold, events, masker, tr=tr, glm=glm))
        metas.append(events.assign(run=str(run)))
        log.info("%s: %d single-trial betas", bold_path, len(events))
    meta = pd.concat(metas, ignore_index=True)
    condition = meta.get("trial_type", pd.Series(["n/a"] * len(meta))).astype(str).to_numpy()
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
        attrs={n.MODALITY: "fmri", n.TR: float(tr), "units": "beta (a.u.)", "estimator": "LSA"},
    )
