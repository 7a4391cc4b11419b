"""Simulated fMRI: event-related BOLD with an HRF in atlas regions driven by known layers."""

from __future__ import annotations

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


@dataclass(frozen=True)
class Region:
    """An atlas region whose single-trial response amplitudes follow one layer."""

    name: str
    layer: str
    snr: float


def _affine() -> np.ndarray:
    affine = np.diag([VOXEL_MM, VOXEL_MM, VOXEL_MM, 1.0])
    affine[:3, 3] = -np.array(GRID) * VOXEL_MM / 2
    return affine


def make_atlas(regions: list[Region]) -> tuple[np.ndarray, pd.DataFrame]:
    """Label volume (0 = background) and its label table (index, name)."""
    if len(regions) > len(BOXES):
        raise ValueError(f"the simulated grid holds at most {len(BOXES)} regions.")
    labels = np.zeros(GRID, dtype=np.int16)
    for index, (_region, box) in enumerate(zip(regions, BOXES), start=1):
        labels[box] = index
    table = pd.DataFrame({"index": range(1, len(regions) + 1), "name": [r.name for r in regions]})
    return labels, table


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
) -> tuple[list[nib.Nifti1Image], list[pd.DataFrame], nib.Nifti1Image, pd.DataFrame]:
    """BOLD runs (each stimulus once per run), their events, the atlas and its labels.

    Each voxel's response amplitude is a random linear read-out of its region's layer.

    ``snr`` of a region is the variance across stimuli of the stimulus-specific response
    amplitude over the trial-to-trial variance of single-trial amplitudes. Scanner noise
    (AR(1), ``scanner_noise`` % signal) and slow drifts come on top in the BOLD time series.
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

    images, events = [], []
    for _run in range(runs):
        order = rng.permutation(n_stim)
        onsets = 6.0 + np.concatenate([[0.0], np.cumsum(rng.uniform(*soa, size=n_stim - 1))])
        n_scans = int(np.ceil((onsets[-1] + 20.0) / tr))
        frame_times = np.arange(n_scans) * tr
        trial_events = pd.DataFrame(
            {
                "onset": onsets,
                "duration": 1.0,
                "trial_type": [f"trial{k:04d}" for k in range(n_stim)],
            }
        )
        design = make_first_level_design_matrix(
            frame_times, trial_events, hrf_model="glover", drift_model=None
        )[trial_events["trial_type"]].to_numpy()
        trial_amp = amplitude[order] + trial_noise * rng.standard_normal((n_stim, n_vox))
        trial_amp[:, flat == 0] = 0.0
        bold = design @ trial_amp
        drift = np.cos(
            np.outer(frame_times, rng.uniform(0, 2 * np.pi / 300, 3)) + rng.uniform(0, 2 * np.pi, 3)
        ) @ rng.normal(0, 0.5, (3, n_vox))
        innov = scanner_noise * np.sqrt(1 - 0.3**2) * rng.standard_normal((n_scans, n_vox))
        innov[0] = scanner_noise * rng.standard_normal(n_vox)  # stationary start
        ar = lfilter([1.0], [1.0, -0.3], innov, axis=0)  # AR(1): ar[t] = 0.3 ar[t-1] + innov[t]
        series = 100.0 + bold + drift + ar
        images.append(
            nib.Nifti1Image(series.T.reshape(*GRID, n_scans).astype(np.float32), _affine())
        )
        header = images[-1].header
        header.set_xyzt_units("mm", "sec")
        header["pixdim"][4] = tr
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
    atlas = nib.Nifti1Image(labels, _affine())
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
