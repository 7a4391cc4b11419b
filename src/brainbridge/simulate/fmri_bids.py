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

The signal and the head-motion artefacts are simulated by :mod:`brainbridge.simulate.fmri_signal`,
the confounds computed from the data by :mod:`brainbridge.simulate.fmri_confounds`.

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

from brainbridge.atomic import atomic_path, write_table, write_text
from brainbridge.simulate.fmri_confounds import (
    DVARS_THRESHOLD,
    FD_THRESHOLD,
    HEAD_RADIUS_MM,
    MOTION_COLUMNS,
    confounds_table,
    framewise_displacement,
)
from brainbridge.simulate.fmri_signal import (
    BOXES,
    GRID,
    REGIONS,
    VENTRICLES,
    VOXEL_MM,
    Phantom,
    SimulatedRun,
    Stimuli,
    make_phantom,
    make_stimuli,
    simulate_run,
)

__all__ = [
    "BOXES",
    "DVARS_THRESHOLD",
    "FD_THRESHOLD",
    "GRID",
    "HEAD_RADIUS_MM",
    "MOTION_COLUMNS",
    "REGIONS",
    "SPACE",
    "VENTRICLES",
    "VOXEL_MM",
    "FmriTruth",
    "RunTruth",
    "SimulatedBids",
    "framewise_displacement",
    "read_truth",
    "simulate_bids_fmri",
]

SPACE = "MNI152NLin2009cAsym"


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


@dataclass(frozen=True)
class _Layout:
    """File names of one subject and task in the dataset under ``root``."""

    root: Path
    subject: str
    task: str
    space: str

    @property
    def sub(self) -> str:
        return f"sub-{self.subject}"

    @property
    def derivatives(self) -> Path:
        return self.root / "derivatives"

    @property
    def fmriprep(self) -> Path:
        return self.derivatives / "fmriprep"

    @property
    def atlas(self) -> Path:
        return self.derivatives / "atlas" / f"atlas-sim_space-{self.space}_dseg.nii.gz"

    @property
    def atlas_labels(self) -> Path:
        return self.derivatives / "atlas" / f"atlas-sim_space-{self.space}_dseg.tsv"

    @property
    def patterns_truth(self) -> Path:
        return self.derivatives / "truth" / f"{self.sub}_task-{self.task}_desc-patterns_truth.npz"

    def entities(self, run: int) -> str:
        return f"{self.sub}_task-{self.task}_run-{run}"

    def raw(self, run: int, suffix: str) -> Path:
        """``sub-XX/func/<entities>_<suffix>``."""
        return self.root / self.sub / "func" / f"{self.entities(run)}_{suffix}"

    def derived(self, run: int, suffix: str, *, spatial: bool = True) -> Path:
        """fMRIPrep output ``<entities>[_space-<space>]_<suffix>``."""
        space = f"_space-{self.space}" if spatial else ""
        return self.fmriprep / self.sub / "func" / f"{self.entities(run)}{space}_{suffix}"

    def run_truth(self, run: int) -> Path:
        return self.derivatives / "truth" / f"{self.entities(run)}_desc-trials_truth.npz"


def _write_json(data: dict, path: Path) -> Path:
    return write_text(json.dumps(data, indent=2) + "\n", path)


def _write_nifti(image: nib.Nifti1Image, path: Path) -> Path:
    with atomic_path(path) as tmp:
        nib.save(image, tmp)
    return path


def _write_npz(path: Path, **arrays: np.ndarray) -> Path:
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


def _check_arguments(
    snr: Sequence[float], runs: int, tr: float, n_stimuli: int, n_categories: int
) -> None:
    if len(snr) != len(REGIONS):
        raise ValueError(f"snr needs one value per region {REGIONS}, not {list(snr)}.")
    if runs < 1 or tr <= 0:
        raise ValueError(f"runs ({runs}) must be >= 1 and tr ({tr}) > 0.")
    if n_categories < 1 or n_stimuli < n_categories:
        raise ValueError(f"n_stimuli ({n_stimuli}) must be >= n_categories ({n_categories}) >= 1.")


def _write_raw_run(
    layout: _Layout,
    run: int,
    image: nib.Nifti1Image,
    sim: SimulatedRun,
    stimuli: Stimuli,
    tr: float,
) -> tuple[Path, Path]:
    """Raw BOLD, its sidecar and the events; returns the BOLD and events paths."""
    events = pd.DataFrame(
        {
            "onset": np.round(sim.onsets, 3),
            "duration": 1.0,
            "trial_type": stimuli.category_names[stimuli.categories[sim.order]],
            "stimulus": stimuli.names[sim.order],
        }
    )
    bold = _write_nifti(image, layout.raw(run, "bold.nii.gz"))
    _write_json({"RepetitionTime": tr, "TaskName": layout.task}, layout.raw(run, "bold.json"))
    return bold, write_table(events, layout.raw(run, "events.tsv"))


def _write_fmriprep_run(
    layout: _Layout,
    run: int,
    image: nib.Nifti1Image,
    sim: SimulatedRun,
    phantom: Phantom,
    bold: Path,
    tr: float,
) -> tuple[Path, Path]:
    """Preprocessed BOLD, brain mask and confounds (each with JSON); returns BOLD and confounds."""
    preproc = _write_nifti(image, layout.derived(run, "desc-preproc_bold.nii.gz"))
    _write_json(
        {
            "RepetitionTime": tr,
            "TaskName": layout.task,
            "SkullStripped": False,
            "Sources": [f"bids:raw:{bold.relative_to(layout.root).as_posix()}"],
        },
        layout.derived(run, "desc-preproc_bold.json"),
    )
    mask = nib.Nifti1Image(phantom.brain.astype(np.uint8), phantom.affine)
    _write_nifti(mask, layout.derived(run, "desc-brain_mask.nii.gz"))
    _write_json({"Type": "Brain"}, layout.derived(run, "desc-brain_mask.json"))
    table, meta = confounds_table(
        sim.series, sim.motion, phantom.xyz, sim.frame_times, phantom.csf, phantom.white
    )
    confounds = layout.derived(run, "desc-confounds_timeseries.tsv", spatial=False)
    write_table(table, confounds)
    _write_json(meta, confounds.with_suffix(".json"))
    return preproc, confounds


def _write_run_truth(layout: _Layout, run: int, sim: SimulatedRun, stimuli: Stimuli) -> Path:
    return _write_npz(
        layout.run_truth(run),
        amplitudes=sim.amplitudes.astype(np.float32),
        stimulus=stimuli.names[sim.order],
        onset=sim.onsets,
        motion=sim.motion,
        framewise_displacement=sim.framewise_displacement,
        high_fd=sim.high_fd,
    )


def _write_dataset(layout: _Layout, phantom: Phantom, stimuli: Stimuli, seed: int) -> None:
    """Files shared by the runs: atlas, planted patterns, descriptions, participants, README."""
    _write_nifti(nib.Nifti1Image(phantom.labels, phantom.affine), layout.atlas)
    write_table(
        pd.DataFrame({"index": range(1, len(REGIONS) + 1), "name": REGIONS}), layout.atlas_labels
    )
    _write_npz(
        layout.patterns_truth,
        patterns=stimuli.patterns.astype(np.float32),
        stimuli=stimuli.names,
        categories=stimuli.category_names[stimuli.categories],
        region=phantom.region,
        ijk=phantom.ijk,
    )
    deriv = layout.derivatives
    descriptions = [
        (_description("brainbridge simulated fMRI"), layout.root),
        (_description("fMRIPrep-style derivatives (simulated)", "fMRIPrep"), layout.fmriprep),
        (_description("simulated atlas", "brainbridge"), deriv / "atlas"),
        (_description("planted truth", "brainbridge"), deriv / "truth"),
    ]
    for description, folder in descriptions:
        _write_json(description, folder / "dataset_description.json")
    write_table(pd.DataFrame({"participant_id": [layout.sub]}), layout.root / "participants.tsv")
    write_text(
        "Simulated event-related fMRI dataset written by brainbridge.simulate.fmri_bids "
        f"(seed {seed}); the planted truth is in derivatives/truth.\n",
        layout.root / "README",
    )


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
    _check_arguments(snr, runs, tr, n_stimuli, n_categories)
    layout = _Layout(Path(root), subject, task, space)
    rng = np.random.default_rng(seed)
    phantom = make_phantom(rng)
    stimuli = make_stimuli(phantom, n_stimuli, n_categories, evoked, snr, trial_noise, rng)
    out = SimulatedBids(
        root=layout.root,
        derivatives=layout.fmriprep,
        bold=[],
        events=[],
        preproc=[],
        confounds=[],
        mask=layout.derived(1, "desc-brain_mask.nii.gz"),
        atlas=layout.atlas,
        atlas_labels=layout.atlas_labels,
        truth=[],
    )
    for run in range(1, runs + 1):
        sim = simulate_run(
            phantom,
            stimuli,
            rng,
            tr=tr,
            soa=soa,
            trial_noise=trial_noise,
            scanner_noise=scanner_noise,
            physio=physio,
            motion=motion,
            jerks=jerks,
        )
        image = phantom.image(sim.series, tr)
        bold, events = _write_raw_run(layout, run, image, sim, stimuli, tr)
        preproc, confounds = _write_fmriprep_run(layout, run, image, sim, phantom, bold, tr)
        out.bold.append(bold)
        out.events.append(events)
        out.preproc.append(preproc)
        out.confounds.append(confounds)
        out.truth.append(_write_run_truth(layout, run, sim, stimuli))
        out.high_fd[str(run)] = sim.high_fd
    _write_dataset(layout, phantom, stimuli, seed)
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
