"""A simulated event-related fMRI dataset on disk, in BIDS form with fMRIPrep-style derivatives.

Layout under ``root`` (``<e>`` = ``sub-01_task-<task>_run-<r>``, space MNI152NLin2009cAsym)::

    dataset_description.json  participants.tsv  README
    sub-01/func/<e>_bold.nii.gz  <e>_bold.json (RepetitionTime, TaskName)  <e>_events.tsv
    derivatives/fmriprep/dataset_description.json  (DatasetType derivative)
    derivatives/fmriprep/sub-01/func/<e>_space-<space>_desc-preproc_bold.nii.gz (+ .json)
                                     <e>_space-<space>_desc-brain_mask.nii.gz (+ .json)
                                     <e>_desc-confounds_timeseries.tsv (+ .json)
    derivatives/atlas/atlas-sim_space-<space>_dseg.nii.gz (+ _dseg.tsv: index, name)
    derivatives/truth/sub-01_task-<task>_desc-patterns_truth.npz
    derivatives/truth/<e>_desc-trials_truth.npz

The signal: each stimulus is shown once in every run (single events of 1 s, jittered SOA, random
order), convolved with nilearn's Glover HRF. In each atlas region a voxel's response to a
stimulus is an evoked response plus a stimulus-specific pattern (half category-specific, half
item-specific) whose variance across stimuli is ``snr`` x the trial-to-trial variance
(``trial_noise``); single trials add trial-to-trial noise. Shared physiological fluctuations
(strongest in CSF), slow drifts and AR(1) scanner noise come on top, all in % of the voxel's
baseline intensity (CSF > grey > white matter, smooth bias field; zero outside the brain).

Head motion: six rigid-body parameters (random walk plus a few sudden jerks that partly come
back a few volumes later). Moving the baseline image by them changes each voxel's intensity
by minus its gradient times its displacement, which is linear in the six parameters, so motion
regression can remove it. A jerk also costs signal (spin history) in the slices acquired after
it, in that volume, and in the others in the next (interleaved slices): only scrubbing removes
that. Confounds are computed from the simulated data as fMRIPrep does
(global / WM / CSF means, framewise displacement after Power et al., DVARS, cosine high-pass
basis for 128 s, aCompCor / tCompCor components) with fMRIPrep's column names and JSON.

The raw BOLD equals the preprocessed one (no realignment is simulated): both are valid 4D
NIfTIs with the TR in the header. Truth (read it with :func:`read_truth`): ``patterns``
(stimulus x voxel) and per run ``amplitudes`` (trial x voxel, events order), both in % signal
change, voxels in the brain mask's C order (``ijk``), with ``region`` per voxel ("" outside
the atlas), plus the motion parameters, framewise displacement and the high-FD volumes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.first_level import make_first_level_design_matrix
from scipy.linalg import eigh
from scipy.ndimage import gaussian_filter
from scipy.signal import lfilter

from brainbridge.atomic import atomic_path, write_table, write_text
from brainbridge.simulate.fmri import (
    ar1_noise,
    bold_image,
    grid_affine,
    label_volume,
    slow_drift,
    trial_regressors,
    trial_schedule,
)

GRID = (10, 10, 6)
VOXEL_MM = 3.0
SPACE = "MNI152NLin2009cAsym"
REGIONS = ("V1", "V4", "IT")
# region boxes (x, y, z slices), from posterior (low y) to anterior
BOXES = [
    (slice(3, 7), slice(1, 3), slice(2, 4)),
    (slice(1, 3), slice(3, 6), slice(1, 4)),
    (slice(7, 9), slice(4, 7), slice(1, 4)),
]
VENTRICLES = (slice(4, 6), slice(4, 7), slice(2, 5))
MOTION_COLUMNS = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
FD_THRESHOLD = 0.5  # mm, fMRIPrep's default for motion outliers
DVARS_THRESHOLD = 1.5  # std_dvars, fMRIPrep's default
HEAD_RADIUS_MM = 50.0  # rotations -> mm in framewise displacement (Power et al. 2012)


@dataclass(frozen=True)
class SimulatedBids:
    """Paths of a simulated dataset (runs in order) and the planted high-FD volumes per run.

    ``mask`` is the first run's brain mask (every run has the same grid and mask).
    """

    root: Path
    derivatives: Path
    bold: list[Path]
    events: list[Path]
    preproc: list[Path]
    confounds: list[Path]
    mask: Path
    atlas: Path
    atlas_labels: Path
    truth: list[Path]
    high_fd: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class RunTruth:
    """Planted single trials of one run."""

    amplitudes: np.ndarray  # trial x voxel, % signal change, events order
    stimulus: np.ndarray  # trial
    onset: np.ndarray  # trial (s)
    motion: np.ndarray  # volume x 6 (trans mm, rot rad; MOTION_COLUMNS)
    framewise_displacement: np.ndarray  # volume (mm, 0 for the first)
    high_fd: np.ndarray  # volume indices with FD > 0.5 mm


@dataclass(frozen=True)
class FmriTruth:
    """Planted stimulus patterns and single-trial amplitudes of a simulated dataset."""

    patterns: np.ndarray  # stimulus x voxel, % signal change (evoked + stimulus-specific)
    stimuli: np.ndarray  # stimulus names
    categories: np.ndarray  # category of each stimulus
    region: np.ndarray  # voxel -> region name ("" outside the atlas)
    ijk: np.ndarray  # voxel x 3 grid indices (brain mask, C order)
    runs: dict[str, RunTruth]  # run label -> truth


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


def _baseline(brain, csf, white, rng) -> np.ndarray:
    """EPI-like mean intensity: CSF > grey > white matter, smooth bias field, 0 outside."""
    tissue = np.where(csf, 1400.0, np.where(white, 750.0, 1000.0))
    bias = gaussian_filter(rng.standard_normal(brain.shape), 2.0)
    bias = 1.0 + 0.1 * bias / (np.abs(bias).max() + 1e-12)
    return np.where(brain, gaussian_filter(tissue, 0.6) * bias, 0.0)


def _motion(n_scans: int, n_jerks: int, scale: float, rng) -> np.ndarray:
    """Rigid-body parameters (volume x 6: mm, rad): a random walk plus jerks that partly return."""
    steps = rng.normal(0.0, 1.0, (n_scans, 6)) * np.array([0.01] * 3 + [0.0002] * 3)
    steps[0] = 0.0
    free = np.arange(5, n_scans - 12)
    starts = []
    for _ in range(n_jerks):  # at least 12 volumes apart, away from the ends
        if free.size == 0:
            break
        start = int(rng.choice(free))
        starts.append(start)
        free = free[np.abs(free - start) >= 12]
    for start in sorted(starts):
        jump = rng.normal(0.0, 1.0, 6) * np.array([0.6] * 3 + [0.008] * 3)
        size = np.abs(jump[:3]).sum() + HEAD_RADIUS_MM * np.abs(jump[3:]).sum()
        jump *= max(1.0, 1.2 / size)  # FD of the jerk >= 1.2 mm
        steps[start] += jump
        steps[start + int(rng.integers(3, 7))] -= 0.6 * jump  # partial return
    return scale * np.cumsum(steps, axis=0)


def framewise_displacement(motion: np.ndarray) -> np.ndarray:
    """Power's FD: sum of absolute backward differences, rotations on a 50 mm sphere (0 first)."""
    diff = np.abs(np.diff(motion, axis=0))
    fd = diff[:, :3].sum(axis=1) + HEAD_RADIUS_MM * diff[:, 3:].sum(axis=1)
    return np.concatenate([[0.0], fd])


def _rotations(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices (volume x 3 x 3) for x, y, z angles (small-angle exact, R = Rz Ry Rx)."""
    cx, cy, cz = np.cos(angles).T
    sx, sy, sz = np.sin(angles).T
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(-1, 3, 3)
    return rz @ ry @ rx


def _displacement(motion: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """Displacement (volume x voxel x 3, mm) of voxel positions ``xyz`` by the motion."""
    moved = np.einsum("tij,vj->tvi", _rotations(motion[:, 3:]), xyz)
    return moved - xyz[None] + motion[:, None, :3]


def _cosines(frame_times: np.ndarray) -> np.ndarray:
    """fMRIPrep's discrete cosine high-pass basis for a 128 s cut-off (time x k)."""
    design = make_first_level_design_matrix(frame_times, drift_model="cosine", high_pass=1 / 128)
    return design.drop(columns="constant").to_numpy()


def _compcor(
    series: np.ndarray, cosines: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Top ``n`` components (time x n) of the high-passed, variance-normalized series, their
    singular values and the total variance (sum of squares)."""
    basis, _ = np.linalg.qr(np.column_stack([np.ones(len(series)), cosines]))
    y = series - basis @ (basis.T @ series)
    y = y / np.maximum(y.std(axis=0), 1e-12)
    n = min(n, *y.shape)
    wide = y.shape[1] > y.shape[0]
    gram = y @ y.T if wide else y.T @ y  # the smaller Gram matrix
    power, vectors = eigh(gram, subset_by_index=[len(gram) - n, len(gram) - 1])
    power, vectors = np.clip(power[::-1], 1e-12, None), vectors[:, ::-1]
    components = vectors if wide else (y @ vectors) / np.sqrt(power)
    return components, np.sqrt(power), float(np.trace(gram))


def _expand(table: dict, name: str, values: np.ndarray) -> None:
    """fMRIPrep's column with its derivative and squares (derivatives start with n/a)."""
    deriv = np.concatenate([[np.nan], np.diff(values)])
    table[name] = values
    table[f"{name}_derivative1"] = deriv
    table[f"{name}_power2"] = values**2
    table[f"{name}_derivative1_power2"] = deriv**2


def _confounds(
    series: np.ndarray,
    motion: np.ndarray,
    xyz: np.ndarray,
    frame_times: np.ndarray,
    csf: np.ndarray,
    white: np.ndarray,
) -> tuple[pd.DataFrame, dict]:
    """fMRIPrep-style confounds table (time x column) and its JSON (CompCor metadata)."""
    table: dict[str, np.ndarray] = {}
    _expand(table, "global_signal", series.mean(axis=1))
    _expand(table, "csf", series[:, csf].mean(axis=1))
    _expand(table, "white_matter", series[:, white].mean(axis=1))
    _expand(table, "csf_wm", series[:, csf | white].mean(axis=1))
    # DVARS and its standardized form (Nichols 2017: over the expected sd of differences)
    diff = np.diff(series, axis=0)
    dvars = np.sqrt((diff**2).mean(axis=1))
    q75, q25 = np.percentile(series, [75, 25], axis=0)
    sd = (q75 - q25) / 1.349
    centred = series - series.mean(axis=0)
    lag1 = (centred[:-1] * centred[1:]).sum(axis=0) / np.maximum((centred**2).sum(axis=0), 1e-12)
    expected = np.sqrt((sd**2 * 2 * (1 - np.clip(lag1, 0, 1))).mean())
    table["std_dvars"] = np.concatenate([[np.nan], dvars / expected])
    table["dvars"] = np.concatenate([[np.nan], dvars])
    fd = framewise_displacement(motion)
    table["framewise_displacement"] = np.concatenate([[np.nan], fd[1:]])
    moved = _displacement(motion, xyz)
    rmsd = np.sqrt((np.diff(moved, axis=0) ** 2).sum(axis=-1).mean(axis=1))
    table["rmsd"] = np.concatenate([[np.nan], rmsd])

    cosines = _cosines(frame_times)
    meta: dict[str, dict] = {}
    high_var = np.argsort(series.std(axis=0))[-max(5, series.shape[1] // 20) :]
    sets = [
        ("t", "tCompCor", None, series[:, high_var], 3),
        ("c", "aCompCor", "CSF", series[:, csf], 3),
        ("w", "aCompCor", "WM", series[:, white], 3),
        ("a", "aCompCor", "combined", series[:, csf | white], 5),
    ]
    for prefix, method, mask, data, n in sets:
        comps, singular, total = _compcor(data, cosines, n)
        variance = singular**2 / total
        for k in range(comps.shape[1]):
            name = f"{prefix}_comp_cor_{k:02d}"
            table[name] = comps[:, k]
            meta[name] = {
                "CumulativeVarianceExplained": float(variance[: k + 1].sum()),
                "Method": method,
                "Retained": True,
                "SingularValue": float(singular[k]),
                "VarianceExplained": float(variance[k]),
            } | ({"Mask": mask} if mask else {})
    for k in range(cosines.shape[1]):
        table[f"cosine{k:02d}"] = cosines[:, k]
    for index, column in enumerate(MOTION_COLUMNS):
        _expand(table, column, motion[:, index])
    outliers = np.flatnonzero(
        (np.nan_to_num(table["framewise_displacement"]) > FD_THRESHOLD)
        | (np.nan_to_num(table["std_dvars"]) > DVARS_THRESHOLD)
    )
    for k, volume in enumerate(outliers):
        table[f"motion_outlier{k:02d}"] = (np.arange(len(series)) == volume).astype(int)
    return pd.DataFrame(table), meta


def _patterns(n_stimuli, categories, n_voxels, evoked, snr, trial_noise, rng) -> np.ndarray:
    """Stimulus x voxel amplitudes: evoked response (30 % spread) + category + item patterns."""
    evoked = evoked * (1.0 + 0.3 * rng.standard_normal(n_voxels))
    by_category = rng.standard_normal((categories.max() + 1, n_voxels))[categories]
    by_item = rng.standard_normal((n_stimuli, n_voxels))
    specific = np.sqrt(0.5) * by_category + np.sqrt(0.5) * by_item
    specific = (specific - specific.mean(axis=0)) / specific.std(axis=0)
    return evoked + np.sqrt(snr) * trial_noise * specific


def _write_json(data: dict, path: Path) -> Path:
    return write_text(json.dumps(data, indent=2) + "\n", path)


def _write_nifti(image: nib.Nifti1Image, path: Path) -> Path:
    with atomic_path(path) as tmp:
        nib.save(image, tmp)
    return path


def _write_npz(path: Path, **arrays) -> Path:
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def _description(name: str, derivative: str | None = None) -> dict:
    data = {"Name": name, "BIDSVersion": "1.9.0"}
    if derivative:
        data |= {
            "DatasetType": "derivative",
            "GeneratedBy": [
                {
                    "Name": derivative,
                    "Version": "simulated",
                    "Description": "simulated by brainbridge.simulate.fmri_bids",
                }
            ],
        }
    else:
        data["DatasetType"] = "raw"
    return data


def simulate_bids_fmri(
    root: str | Path,
    *,
    subject: str = "01",
    task: str = "sim",
    n_stimuli: int = 24,
    n_categories: int = 4,
    runs: int = 2,
    tr: float = 1.0,
    evoked: float = 3.0,
    snr: Sequence[float] = (2.0, 1.0, 0.5),
    soa: tuple[float, float] = (5.0, 8.0),
    trial_noise: float = 1.0,
    scanner_noise: float = 0.25,
    physio: float = 0.3,
    motion: float = 1.0,
    jerks: int = 2,
    space: str = SPACE,
    seed: int = 0,
) -> SimulatedBids:
    """Write a simulated event-related fMRI dataset (raw BIDS + fMRIPrep-style derivatives).

    ``snr`` per region (V1, V4, IT), ``trial_noise`` (sd of single-trial amplitudes around the
    stimulus pattern), ``scanner_noise`` (AR(1) sd) and ``physio`` (sd of a shared fluctuation
    in CSF; half in grey, a quarter in white matter) are in % signal change. ``motion`` scales
    the head motion (0: none) and ``jerks`` is the number of sudden movements per run. Every
    file is written atomically; see the module docstring for the layout and the truth.
    """
    if len(snr) != len(REGIONS):
        raise ValueError(f"snr needs one value per region {REGIONS}, not {list(snr)}.")
    if runs < 1 or tr <= 0:
        raise ValueError(f"runs ({runs}) must be >= 1 and tr ({tr}) > 0.")
    if n_categories < 1 or n_stimuli < n_categories:
        raise ValueError(f"n_stimuli ({n_stimuli}) must be >= n_categories ({n_categories}) >= 1.")
    root = Path(root)
    rng = np.random.default_rng(seed)
    affine = grid_affine(GRID, VOXEL_MM)
    brain, labels, csf_grid, white_grid = _tissues(GRID)
    baseline = _baseline(brain, csf_grid, white_grid, rng)
    inside = brain.ravel()
    ijk = np.argwhere(brain)
    xyz = nib.affines.apply_affine(affine, ijk)
    n_vox = len(ijk)
    csf, white = csf_grid.ravel()[inside], white_grid.ravel()[inside]
    voxel_labels = labels.ravel()[inside]
    region = np.array(["", *REGIONS])[voxel_labels]
    base = baseline.ravel()[inside]
    # intensity change per mm of displacement: minus the baseline's spatial gradient
    gradient = np.stack(np.gradient(baseline, VOXEL_MM), axis=-1).reshape(-1, 3)[inside]
    # spin-history signal loss of a jerk, voxel-specific; slices acquired interleaved
    history_weight = rng.uniform(0.5, 1.5, len(ijk))
    interleaved = np.r_[0 : GRID[2] : 2, 1 : GRID[2] : 2]
    acquired = (np.argsort(interleaved) / GRID[2])[ijk[:, 2]]  # slice time / TR
    physio_weight = physio * np.where(csf, 1.0, np.where(white, 0.25, 0.5))

    stimuli = np.array([f"stim{k:03d}" for k in range(1, n_stimuli + 1)])
    categories = np.arange(n_stimuli) % n_categories
    category_names = np.array([f"cat{c + 1}" for c in range(n_categories)])
    patterns = np.zeros((n_stimuli, n_vox))
    for index, value in enumerate(snr, start=1):
        voxels = voxel_labels == index
        patterns[:, voxels] = _patterns(
            n_stimuli, categories, int(voxels.sum()), evoked, value, trial_noise, rng
        )

    deriv = root / "derivatives"
    fmriprep = deriv / "fmriprep"
    sub = f"sub-{subject}"
    out = SimulatedBids(
        root=root,
        derivatives=fmriprep,
        bold=[],
        events=[],
        preproc=[],
        confounds=[],
        mask=fmriprep
        / sub
        / "func"
        / f"{sub}_task-{task}_run-1_space-{space}_desc-brain_mask.nii.gz",
        atlas=deriv / "atlas" / f"atlas-sim_space-{space}_dseg.nii.gz",
        atlas_labels=deriv / "atlas" / f"atlas-sim_space-{space}_dseg.tsv",
        truth=[],
    )
    for run in range(1, runs + 1):
        order = rng.permutation(n_stimuli)
        onsets, n_scans = trial_schedule(n_stimuli, soa, tr, rng)
        frame_times = np.arange(n_scans) * tr
        design = trial_regressors(frame_times, onsets)
        amplitudes = patterns[order] + trial_noise * rng.standard_normal((n_stimuli, n_vox))
        amplitudes[:, voxel_labels == 0] = 0.0
        shared = lfilter([1.0], [1.0, -0.9], rng.standard_normal(n_scans))
        shared = (shared - shared.mean()) / shared.std()
        percent = (
            design @ amplitudes
            + np.outer(shared, physio_weight)
            + slow_drift(frame_times, n_vox, rng)
            + ar1_noise(n_scans, n_vox, scanner_noise, rng)
        )
        params = _motion(n_scans, jerks, motion, rng)
        fd = framewise_displacement(params)
        artefact = -np.einsum("tvi,vi->tv", _displacement(params, xyz), gradient)
        loss = np.zeros((n_scans, n_vox))  # spin history: slices after the jerk, then the rest
        for volume in np.flatnonzero(fd > FD_THRESHOLD):
            late = acquired >= rng.uniform()
            loss[volume, late] = 0.04 * min(fd[volume], 3.0)
            loss[min(volume + 1, n_scans - 1), ~late] = 0.04 * min(fd[volume], 3.0)
        series = (base + artefact) * (1 + percent / 100) * (1 - loss * history_weight)
        full = np.zeros((n_scans, brain.size))
        full[:, inside] = series
        image = bold_image(full, GRID, tr, affine)

        entities = f"{sub}_task-{task}_run-{run}"
        func = root / sub / "func"
        events = pd.DataFrame(
            {
                "onset": np.round(onsets, 3),
                "duration": 1.0,
                "trial_type": category_names[categories[order]],
                "stimulus": stimuli[order],
            }
        )
        bold_path = _write_nifti(image, func / f"{entities}_bold.nii.gz")
        _write_json({"RepetitionTime": tr, "TaskName": task}, func / f"{entities}_bold.json")
        events_path = write_table(events, func / f"{entities}_events.tsv")

        prefix = fmriprep / sub / "func" / f"{entities}_space-{space}"
        preproc = _write_nifti(image, Path(f"{prefix}_desc-preproc_bold.nii.gz"))
        _write_json(
            {
                "RepetitionTime": tr,
                "TaskName": task,
                "SkullStripped": False,
                "Sources": [f"bids:raw:{bold_path.relative_to(root).as_posix()}"],
            },
            Path(f"{prefix}_desc-preproc_bold.json"),
        )
        mask_img = nib.Nifti1Image(brain.astype(np.uint8), affine)
        _write_nifti(mask_img, Path(f"{prefix}_desc-brain_mask.nii.gz"))
        _write_json({"Type": "Brain"}, Path(f"{prefix}_desc-brain_mask.json"))
        table, meta = _confounds(series, params, xyz, frame_times, csf, white)
        confounds = fmriprep / sub / "func" / f"{entities}_desc-confounds_timeseries.tsv"
        write_table(table, confounds)
        _write_json(meta, confounds.with_suffix(".json"))

        high_fd = np.flatnonzero(fd > FD_THRESHOLD)
        truth = _write_npz(
            deriv / "truth" / f"{entities}_desc-trials_truth.npz",
            amplitudes=amplitudes.astype(np.float32),
            stimulus=stimuli[order],
            onset=onsets,
            motion=params,
            framewise_displacement=fd,
            high_fd=high_fd,
        )
        out.bold.append(bold_path)
        out.events.append(events_path)
        out.preproc.append(preproc)
        out.confounds.append(confounds)
        out.truth.append(truth)
        out.high_fd[str(run)] = high_fd

    _write_nifti(nib.Nifti1Image(labels, affine), out.atlas)
    write_table(
        pd.DataFrame({"index": range(1, len(REGIONS) + 1), "name": REGIONS}), out.atlas_labels
    )
    _write_npz(
        deriv / "truth" / f"{sub}_task-{task}_desc-patterns_truth.npz",
        patterns=patterns.astype(np.float32),
        stimuli=stimuli,
        categories=category_names[categories],
        region=region,
        ijk=ijk,
    )
    _write_json(_description("brainbridge simulated fMRI"), root / "dataset_description.json")
    _write_json(
        _description("fMRIPrep-style derivatives (simulated)", "fMRIPrep"),
        fmriprep / "dataset_description.json",
    )
    _write_json(
        _description("simulated atlas", "brainbridge"), deriv / "atlas" / "dataset_description.json"
    )
    _write_json(
        _description("planted truth", "brainbridge"), deriv / "truth" / "dataset_description.json"
    )
    write_table(pd.DataFrame({"participant_id": [sub]}), root / "participants.tsv")
    write_text(
        "Simulated event-related fMRI dataset written by brainbridge.simulate.fmri_bids "
        f"(seed {seed}); the planted truth is in derivatives/truth.\n",
        root / "README",
    )
    return out


def read_truth(root: str | Path, *, subject: str = "01", task: str = "sim") -> FmriTruth:
    """The planted truth of :func:`simulate_bids_fmri` (``derivatives/truth`` under ``root``)."""
    folder = Path(root) / "derivatives" / "truth"
    stem = f"sub-{subject}_task-{task}"
    path = folder / f"{stem}_desc-patterns_truth.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; write the dataset with simulate_bids_fmri({str(root)!r}) "
            "(or brainbridge simulate-bids ROOT), or check subject and task."
        )
    with np.load(path) as data:
        static = {k: data[k] for k in data.files}
    runs = {}
    for run_path in sorted(folder.glob(f"{stem}_run-*_desc-trials_truth.npz")):
        label = run_path.name.split("_run-")[1].split("_")[0]
        with np.load(run_path) as data:
            runs[label] = RunTruth(**{k: data[k] for k in data.files})
    runs = dict(sorted(runs.items(), key=lambda item: int(item[0])))
    return FmriTruth(runs=runs, **static)
