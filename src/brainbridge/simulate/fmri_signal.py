"""The simulated head and its BOLD signal, for :mod:`brainbridge.simulate.fmri_bids`.

The signal: each stimulus is shown once in every run (single events of 1 s, jittered SOA, random
order), convolved with nilearn's Glover HRF. In each atlas region a voxel's response to a
stimulus is an evoked response plus a stimulus-specific pattern (half category-specific, half
item-specific) whose variance across stimuli is ``snr`` x the trial-to-trial variance
(``trial_noise``); single trials add trial-to-trial noise. Shared physiological fluctuations
(strongest in CSF), slow drifts and AR(1) scanner noise come on top, all in % of the voxel's
baseline intensity (CSF > grey > white matter, smooth bias field; zero outside the brain).

Head motion (:func:`~brainbridge.simulate.fmri_confounds.head_motion`) moves the baseline
image, which changes each voxel's intensity by minus its gradient times its displacement: this
is linear in the six parameters, so motion regression can remove it. A jerk also costs signal
(spin history) in the slices acquired after it, in that volume, and in the others in the next
(interleaved slices): only scrubbing removes that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.signal import lfilter

from brainbridge.simulate.fmri import (
    ar1_noise,
    bold_image,
    grid_affine,
    label_volume,
    slow_drift,
    trial_regressors,
    trial_schedule,
)
from brainbridge.simulate.fmri_confounds import (
    FD_THRESHOLD,
    displacement,
    framewise_displacement,
    head_motion,
)

GRID = (10, 10, 6)
VOXEL_MM = 3.0
REGIONS = ("V1", "V4", "IT")
# region boxes (x, y, z slices), from posterior (low y) to anterior
BOXES = [
    (slice(3, 7), slice(1, 3), slice(2, 4)),
    (slice(1, 3), slice(3, 6), slice(1, 4)),
    (slice(7, 9), slice(4, 7), slice(1, 4)),
]
VENTRICLES = (slice(4, 6), slice(4, 7), slice(2, 5))


@dataclass(frozen=True)
class Phantom:
    """The simulated head on :data:`GRID`; per-voxel arrays cover the brain mask in C order."""

    affine: np.ndarray  # grid -> mm
    brain: np.ndarray  # grid, bool
    labels: np.ndarray  # grid, atlas labels (0 = background)
    ijk: np.ndarray  # voxel x 3 grid indices
    xyz: np.ndarray  # voxel x 3 positions (mm)
    csf: np.ndarray  # voxel, bool
    white: np.ndarray  # voxel, bool
    voxel_labels: np.ndarray  # voxel, atlas label
    base: np.ndarray  # voxel, baseline intensity
    gradient: np.ndarray  # voxel x 3, intensity change per mm of displacement (minus sign)
    history_weight: np.ndarray  # voxel, spin-history signal loss of a jerk
    acquired: np.ndarray  # voxel, slice acquisition time / TR (interleaved)

    @property
    def n_voxels(self) -> int:
        """Number of voxels in the brain mask."""
        return len(self.ijk)

    @property
    def region(self) -> np.ndarray:
        """Region name per voxel ("" outside the atlas)."""
        return np.array(["", *REGIONS])[self.voxel_labels]

    def image(self, series: np.ndarray, tr: float) -> nib.Nifti1Image:
        """4D image of a time x voxel series (zero outside the brain)."""
        full = np.zeros((len(series), self.brain.size))
        full[:, self.brain.ravel()] = series
        return bold_image(full, GRID, tr, self.affine)


@dataclass(frozen=True)
class Stimuli:
    """Stimulus names, their categories and planted patterns (stimulus x voxel, % signal)."""

    names: np.ndarray
    categories: np.ndarray  # category index per stimulus
    category_names: np.ndarray  # per category
    patterns: np.ndarray  # evoked + stimulus-specific, 0 outside the atlas


@dataclass(frozen=True)
class SimulatedRun:
    """One simulated run: trials in presentation order, the BOLD series and the head motion."""

    order: np.ndarray  # stimulus index per trial
    onsets: np.ndarray  # trial (s)
    frame_times: np.ndarray  # volume (s)
    amplitudes: np.ndarray  # trial x voxel, % signal change
    series: np.ndarray  # volume x voxel, intensity
    motion: np.ndarray  # volume x 6 (trans mm, rot rad)
    framewise_displacement: np.ndarray  # volume (mm, 0 for the first)

    @property
    def high_fd(self) -> np.ndarray:
        """Volume indices with framewise displacement over the outlier threshold."""
        return np.flatnonzero(self.framewise_displacement > FD_THRESHOLD)


def _tissues(grid: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Brain mask, atlas labels, CSF and white-matter masks on the grid."""
    centre = (np.array(grid) - 1) / 2
    radii = np.array(grid) / 2 + 0.6
    ijk = np.indices(grid).transpose(1, 2, 3, 0)
    radius = np.sqrt((((ijk - centre) / radii) ** 2).sum(axis=-1))
    labels, _ = label_volume(REGIONS, grid, BOXES)
    brain = (radius <= 1.0) | (labels > 0)
    csf = np.zeros(grid, dtype=bool)
    csf[VENTRICLES] = True
    csf &= brain & (labels == 0)
    white = brain & (radius < 0.72) & ~csf & (labels == 0)
    return brain, labels, csf, white


def _baseline(
    brain: np.ndarray, csf: np.ndarray, white: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """EPI-like mean intensity: CSF > grey > white matter, smooth bias field, 0 outside."""
    tissue = np.where(csf, 1400.0, np.where(white, 750.0, 1000.0))
    bias = gaussian_filter(rng.standard_normal(brain.shape), 2.0)
    bias = 1.0 + 0.1 * bias / (np.abs(bias).max() + 1e-12)
    return np.where(brain, gaussian_filter(tissue, 0.6) * bias, 0.0)


def make_phantom(rng: np.random.Generator) -> Phantom:
    """Tissues, atlas, baseline intensity and motion sensitivity of the simulated head."""
    affine = grid_affine(GRID, VOXEL_MM)
    brain, labels, csf, white = _tissues(GRID)
    baseline = _baseline(brain, csf, white, rng)
    inside = brain.ravel()
    ijk = np.argwhere(brain)
    gradient = np.stack(np.gradient(baseline, VOXEL_MM), axis=-1).reshape(-1, 3)[inside]
    history_weight = rng.uniform(0.5, 1.5, len(ijk))
    interleaved = np.r_[0 : GRID[2] : 2, 1 : GRID[2] : 2]
    return Phantom(
        affine=affine,
        brain=brain,
        labels=labels,
        ijk=ijk,
        xyz=nib.affines.apply_affine(affine, ijk),
        csf=csf.ravel()[inside],
        white=white.ravel()[inside],
        voxel_labels=labels.ravel()[inside],
        base=baseline.ravel()[inside],
        gradient=gradient,
        history_weight=history_weight,
        acquired=(np.argsort(interleaved) / GRID[2])[ijk[:, 2]],
    )


def _region_patterns(
    n_stimuli: int,
    categories: np.ndarray,
    n_voxels: int,
    evoked: float,
    snr: float,
    trial_noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Stimulus x voxel amplitudes: evoked response (30 % spread) + category + item patterns."""
    evoked = evoked * (1.0 + 0.3 * rng.standard_normal(n_voxels))
    by_category = rng.standard_normal((categories.max() + 1, n_voxels))[categories]
    by_item = rng.standard_normal((n_stimuli, n_voxels))
    specific = np.sqrt(0.5) * by_category + np.sqrt(0.5) * by_item
    specific = (specific - specific.mean(axis=0)) / specific.std(axis=0)
    return evoked + np.sqrt(snr) * trial_noise * specific


def make_stimuli(
    phantom: Phantom,
    n_stimuli: int,
    n_categories: int,
    evoked: float,
    snr: Sequence[float],
    trial_noise: float,
    rng: np.random.Generator,
) -> Stimuli:
    """Stimuli (categories in turn) and their patterns in each region (``snr`` per region)."""
    categories = np.arange(n_stimuli) % n_categories
    patterns = np.zeros((n_stimuli, phantom.n_voxels))
    for index, value in enumerate(snr, start=1):
        voxels = phantom.voxel_labels == index
        patterns[:, voxels] = _region_patterns(
            n_stimuli, categories, int(voxels.sum()), evoked, value, trial_noise, rng
        )
    return Stimuli(
        names=np.array([f"stim{k:03d}" for k in range(1, n_stimuli + 1)]),
        categories=categories,
        category_names=np.array([f"cat{c + 1}" for c in range(n_categories)]),
        patterns=patterns,
    )


def _physio_signal(
    phantom: Phantom, n_scans: int, physio: float, rng: np.random.Generator
) -> np.ndarray:
    """Shared AR(1) fluctuation (time x voxel, %): full in CSF, half in grey, 1/4 in white."""
    shared = lfilter([1.0], [1.0, -0.9], rng.standard_normal(n_scans))
    shared = (shared - shared.mean()) / shared.std()
    weight = physio * np.where(phantom.csf, 1.0, np.where(phantom.white, 0.25, 0.5))
    return np.outer(shared, weight)


def _spin_history(phantom: Phantom, fd: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Signal loss (time x voxel, fraction before ``history_weight``) after each high-FD volume:
    slices acquired after the jerk in that volume, the others in the next."""
    n_scans = len(fd)
    loss = np.zeros((n_scans, phantom.n_voxels))
    for volume in np.flatnonzero(fd > FD_THRESHOLD):
        late = phantom.acquired >= rng.uniform()
        loss[volume, late] = 0.04 * min(fd[volume], 3.0)
        loss[min(volume + 1, n_scans - 1), ~late] = 0.04 * min(fd[volume], 3.0)
    return loss


def simulate_run(
    phantom: Phantom,
    stimuli: Stimuli,
    rng: np.random.Generator,
    *,
    tr: float,
    soa: tuple[float, float],
    trial_noise: float,
    scanner_noise: float,
    physio: float,
    motion: float,
    jerks: int,
) -> SimulatedRun:
    """One run: every stimulus once in random order, noise, head motion and its artefacts."""
    n_stimuli, n_vox = len(stimuli.names), phantom.n_voxels
    order = rng.permutation(n_stimuli)
    onsets, n_scans = trial_schedule(n_stimuli, soa, tr, rng)
    frame_times = np.arange(n_scans) * tr
    design = trial_regressors(frame_times, onsets)
    amplitudes = stimuli.patterns[order] + trial_noise * rng.standard_normal((n_stimuli, n_vox))
    amplitudes[:, phantom.voxel_labels == 0] = 0.0
    physiological = _physio_signal(phantom, n_scans, physio, rng)
    drift = slow_drift(frame_times, n_vox, rng)
    scanner = ar1_noise(n_scans, n_vox, scanner_noise, rng)
    percent = design @ amplitudes + physiological + drift + scanner
    params = head_motion(n_scans, jerks, motion, rng)
    fd = framewise_displacement(params)
    artefact = -np.einsum("tvi,vi->tv", displacement(params, phantom.xyz), phantom.gradient)
    loss = _spin_history(phantom, fd, rng)
    series = (phantom.base + artefact) * (1 + percent / 100) * (1 - loss * phantom.history_weight)
    return SimulatedRun(
        order=order,
        onsets=onsets,
        frame_times=frame_times,
        amplitudes=amplitudes,
        series=series,
        motion=params,
        framewise_displacement=fd,
    )
