"""Simulated fMRI: event-related BOLD with an HRF in atlas regions driven by known layers.

The building blocks (grid, atlas boxes, single-trial HRF regressors, slow drifts, AR(1) scanner
noise, NIfTI images) are shared with the BIDS simulator (:mod:`brainbridge.simulate.fmri_bids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.first_level import make_first_level_design_matrix
from scipy.signal import lfilter

from brainbridge.atomic import atomic_path, write_table
from brainbridge.simulate.components import layer_readout

GRID = (12, 12, 6)
VOXEL_MM = 3.0
# region boxes (x, y, z slices) in the grid, from posterior to anterior
BOXES = [
    (slice(1, 5), slice(0, 4), slice(1, 4)),
    (slice(7, 11), slice(2, 6), slice(1, 4)),
    (slice(1, 5), slice(6, 10), slice(2, 5)),
    (slice(7, 11), slice(8, 12), slice(2, 5)),
]
AR_COEF = 0.3


@dataclass(frozen=True)
class Region:
    """An atlas region whose single-trial response amplitudes follow one layer."""

    name: str
    layer: str
    snr: float


def grid_affine(grid: Sequence[int] = GRID, voxel_mm: float = VOXEL_MM) -> np.ndarray:
    """Affine of an isotropic grid centred on the origin (mm)."""
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    affine[:3, 3] = -np.array(grid) * voxel_mm / 2
    return affine


def label_volume(
    names: Sequence[str], grid: Sequence[int] = GRID, boxes: Sequence[tuple] = BOXES
) -> tuple[np.ndarray, pd.DataFrame]:
    """Label volume with one box per name (0 = background) and its table (index, name)."""
    if len(names) > len(boxes):
        raise ValueError(f"the simulated grid holds at most {len(boxes)} regions.")
    labels = np.zeros(tuple(grid), dtype=np.int16)
    for index, box in enumerate(boxes[: len(names)], start=1):
        labels[box] = index
    table = pd.DataFrame({"index": range(1, len(names) + 1), "name": list(names)})
    return labels, table


def make_atlas(regions: list[Region]) -> tuple[np.ndarray, pd.DataFrame]:
    """Label volume (0 = background) and its label table (index, name)."""
    return label_volume([r.name for r in regions])


def trial_schedule(
    n_trials: int, soa: tuple[float, float], tr: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Onsets (first at 6 s, then ``soa`` jitter) and the scan count (20 s after the last)."""
    onsets = 6.0 + np.concatenate([[0.0], np.cumsum(rng.uniform(*soa, size=n_trials - 1))])
    return onsets, int(np.ceil((onsets[-1] + 20.0) / tr))


def trial_regressors(
    frame_times: np.ndarray, onsets: np.ndarray, duration: float = 1.0
) -> np.ndarray:
    """Glover-HRF regressors, one per trial (time x trial), from nilearn's design machinery."""
    names = [f"trial{k:04d}" for k in range(len(onsets))]
    events = pd.DataFrame({"onset": onsets, "duration": duration, "trial_type": names})
    design = make_first_level_design_matrix(
        frame_times, events, hrf_model="glover", drift_model=None
    )
    return design[names].to_numpy()


def slow_drift(
    frame_times: np.ndarray, n_voxels: int, rng: np.random.Generator, sd: float = 0.5
) -> np.ndarray:
    """Three slow cosines (periods > 300 s, random phases) mixed per voxel (time x voxel)."""
    return np.cos(
        np.outer(frame_times, rng.uniform(0, 2 * np.pi / 300, 3)) + rng.uniform(0, 2 * np.pi, 3)
    ) @ rng.normal(0, sd, (3, n_voxels))


def ar1_noise(
    n_scans: int, n_voxels: int, sd: float, rng: np.random.Generator, coef: float = AR_COEF
) -> np.ndarray:
    """Stationary AR(1) noise (time x voxel) of standard deviation ``sd``."""
    innov = sd * np.sqrt(1 - coef**2) * rng.standard_normal((n_scans, n_voxels))
    innov[0] = sd * rng.standard_normal(n_voxels)  # stationary start
    return lfilter([1.0], [1.0, -coef], innov, axis=0)  # ar[t] = coef ar[t-1] + innov[t]


def bold_image(
    series: np.ndarray, grid: Sequence[int], tr: float, affine: np.ndarray | None = None
) -> nib.Nifti1Image:
    """4D float32 image of a time x voxel series over the whole grid (C order), TR in the header."""
    image = nib.Nifti1Image(
        series.T.reshape(*grid, series.shape[0]).astype(np.float32),
        grid_affine(grid) if affine is None else affine,
    )
    image.header.set_xyzt_units("mm", "sec")
    image.header["pixdim"][4] = tr
    return image


def simulate_fmri(
    activations,
    stimuli: list[str],
    conditions: list[str],
    regions: list[Region],
    *,
    tr: float = 1.0,
    runs: int = 2,
    soa: tuple[float, float] = (4.0, 6.0),
    scanner_noise: float = 0.5,
    trial_noise: float = 0.5,
    seed: int = 0,
    return_amplitudes: bool = False,
) -> tuple:
    """BOLD runs (each stimulus once per run), their events, the atlas and its labels.

    Each voxel's response amplitude is a random linear read-out of its region's layer.

    ``snr`` of a region is the variance across stimuli of the stimulus-specific response
    amplitude over the trial-to-trial variance of single-trial amplitudes. Scanner noise
    (AR(1), ``scanner_noise`` % signal) and slow drifts come on top in the BOLD time series.

    With ``return_amplitudes`` a fifth element holds the planted single-trial amplitudes of
    each run (trial x voxel, events order, % signal change, grid voxels in C order).
    """
    rng = np.random.default_rng(seed)
    labels, label_table = make_atlas(regions)
    n_vox = labels.size
    flat = labels.ravel()
    n_stim = len(stimuli)

    # stimulus-specific amplitude per voxel (% signal change), background voxels stay silent
    amplitude = np.zeros((n_stim, n_vox))
    for index, region in enumerate(regions, start=1):
        voxels = np.flatnonzero(flat == index)
        readout = layer_readout(activations, region.layer, len(voxels), rng)
        amplitude[:, voxels] = np.sqrt(region.snr) * trial_noise * readout

    images, events, planted = [], [], []
    for _run in range(runs):
        order = rng.permutation(n_stim)
        onsets, n_scans = trial_schedule(n_stim, soa, tr, rng)
        frame_times = np.arange(n_scans) * tr
        design = trial_regressors(frame_times, onsets)
        trial_amp = amplitude[order] + trial_noise * rng.standard_normal((n_stim, n_vox))
        trial_amp[:, flat == 0] = 0.0
        drift = slow_drift(frame_times, n_vox, rng)
        ar = ar1_noise(n_scans, n_vox, scanner_noise, rng)
        images.append(bold_image(100.0 + design @ trial_amp + drift + ar, GRID, tr))
        planted.append(trial_amp)
        events.append(
            pd.DataFrame(
                {
                    "onset": onsets,
                    "duration": 1.0,
                    "trial_type": [conditions[s] for s in order],
                    "stimulus": [stimuli[s] for s in order],
                }
            )
        )
    atlas = nib.Nifti1Image(labels, grid_affine())
    if return_amplitudes:
        return images, events, atlas, label_table, planted
    return images, events, atlas, label_table


def write_fmri(
    images: list[nib.Nifti1Image],
    events: list[pd.DataFrame],
    atlas: nib.Nifti1Image,
    label_table: pd.DataFrame,
    *,
    bold_paths: list[Path],
    event_paths: list[Path],
    atlas_path: Path,
    labels_path: Path,
) -> None:
    """Write runs, events and atlas, each atomically."""
    for img, table, bold_path, event_path in zip(images, events, bold_paths, event_paths):
        with atomic_path(bold_path) as tmp:
            nib.save(img, tmp)
        write_table(table, event_path)
    with atomic_path(atlas_path) as tmp:
        nib.save(atlas, tmp)
    write_table(label_table, labels_path)
