"""The simulated BIDS fMRI dataset: layout, truth, fMRIPrep confounds, recovery of the truth."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.glm.first_level import make_first_level_design_matrix
from nilearn.interfaces.fmriprep import load_confounds

from brainbridge.cli import main
from brainbridge.ingest.fmri.bids import find_bids_runs
from brainbridge.simulate.fmri_bids import read_truth, simulate_bids_fmri

STRATEGY = ("motion", "wm_csf", "high_pass", "scrub")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_bids_fmri(tmp_path_factory.mktemp("sim") / "ds", seed=0)


def test_layout_and_sidecars(sim):
    root = sim.root
    assert json.loads((root / "dataset_description.json").read_text())["DatasetType"] == "raw"
    description = json.loads((sim.derivatives / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"
    assert description["GeneratedBy"][0]["Name"] == "fMRIPrep"
    assert pd.read_csv(root / "participants.tsv", sep="\t")["participant_id"].tolist() == ["sub-01"]
    stimuli = None
    for bold, preproc, events_path in zip(sim.bold, sim.preproc, sim.events):
        raw, pre = nib.load(bold), nib.load(preproc)
        assert raw.ndim == 4 and raw.header.get_zooms()[3] == 1.0
        np.testing.assert_array_equal(raw.get_fdata(), pre.get_fdata())  # raw = preprocessed
        sidecar = json.loads(bold.with_name(bold.name.replace(".nii.gz", ".json")).read_text())
        assert sidecar == {"RepetitionTime": 1.0, "TaskName": "sim"}
        events = pd.read_csv(events_path, sep="\t")
        assert list(events.columns) == ["onset", "duration", "trial_type", "stimulus"]
        assert events["stimulus"].is_unique and len(events) == 24
        assert events["onset"].max() + 20 <= raw.shape[3]
        stimuli = set(events["stimulus"]) if stimuli is None else stimuli
        assert set(events["stimulus"]) == stimuli  # every stimulus in every run
    atlas = nib.load(sim.atlas)
    labels = pd.read_csv(sim.atlas_labels, sep="\t")
    assert labels["name"].tolist() == ["V1", "V4", "IT"]
    assert set(np.unique(atlas.get_fdata())) == {0, 1, 2, 3}
    mask = nib.load(sim.mask).get_fdata() > 0
    assert mask[atlas.get_fdata() > 0].all()  # regions lie in the brain
    assert (nib.load(sim.preproc[0]).get_fdata()[~mask] == 0).all()


def test_truth(sim):
    truth = read_truth(sim.root)
    n_vox = len(truth.ijk)
    assert truth.patterns.shape == (24, n_vox) and len(truth.region) == n_vox
    assert sorted(set(truth.region)) == ["", "IT", "V1", "V4"]
    assert list(truth.runs) == ["1", "2"]
    for label, events_path, confounds_path in zip(truth.runs, sim.events, sim.confounds):
        run = truth.runs[label]
        events = pd.read_csv(events_path, sep="\t")
        assert run.stimulus.tolist() == events["stimulus"].tolist()
        assert run.amplitudes.shape == (24, n_vox)
        assert (run.amplitudes[:, truth.region == ""] == 0).all()
        # single trials scatter around the stimulus patterns
        order = [truth.stimuli.tolist().index(s) for s in run.stimulus]
        inside = truth.region != ""
        r = np.corrcoef(run.amplitudes[:, inside].ravel(), truth.patterns[order][:, inside].ravel())
        assert r[0, 1] > 0.7
        confounds = pd.read_csv(confounds_path, sep="\t")
        np.testing.assert_allclose(confounds["trans_x"], run.motion[:, 0], atol=1e-9)
        fd = confounds["framewise_displacement"].fillna(0).to_numpy()
        np.testing.assert_array_equal(np.flatnonzero(fd > 0.5), run.high_fd)
        assert 2 <= len(run.high_fd) <= 6
        np.testing.assert_array_equal(sim.high_fd[label], run.high_fd)
    with pytest.raises(FileNotFoundError, match="simulate-bids"):
        read_truth(sim.root, task="other")


def test_load_confounds_motion_wm_csf_scrub(sim):
    for preproc, label in zip(sim.preproc, sim.high_fd):
        n_scans = nib.load(preproc).shape[3]
        high_fd = sim.high_fd[label]
        confounds, sample_mask = load_confounds(
            str(preproc),
            strategy=STRATEGY,
            motion="basic",
            scrub=0,
            fd_threshold=0.5,
            std_dvars_threshold=100.0,
        )
        assert len(confounds) == n_scans
        assert {"trans_x", "rot_z", "csf", "white_matter", "cosine00"} <= set(confounds)
        assert not confounds.isna().any().any()
        np.testing.assert_array_equal(np.setdiff1d(np.arange(n_scans), sample_mask), high_fd)
        # with fMRIPrep's DVARS threshold the spin-history volumes after the jerks go too
        _, sample_mask = load_confounds(
            str(preproc), strategy=STRATEGY, motion="full", scrub=0, fd_threshold=0.5
        )
        dropped = np.setdiff1d(np.arange(n_scans), sample_mask)
        assert set(high_fd) <= set(dropped) and len(dropped) <= 3 * len(high_fd)


def test_load_confounds_compcor(sim):
    confounds, _ = load_confounds(
        str(sim.preproc[0]),
        strategy=("high_pass", "compcor"),
        compcor="anat_combined",
        n_compcor=5,
    )
    assert list(confounds.filter(like="comp_cor")) == [f"a_comp_cor_{k:02d}" for k in range(5)]
    confounds, _ = load_confounds(
        str(sim.preproc[0]), strategy=("high_pass", "compcor"), compcor="temporal_anat_separated"
    )
    assert {"t_comp_cor_00", "c_comp_cor_02", "w_comp_cor_00"} <= set(confounds)


def _betas(series, events, confounds=None, sample_mask=None):
    """OLS single-trial betas (% signal change) with cosine drifts and optional confounds."""
    frame_times = np.arange(series.shape[0], dtype=float)
    trials = events.assign(trial_type=[f"t{k:03d}" for k in range(len(events))])
    extra = None if confounds is None else confounds.drop(columns=confounds.filter(like="cosine"))
    design = make_first_level_design_matrix(
        frame_times,
        trials[["onset", "duration", "trial_type"]],
        drift_model="cosine",
        high_pass=1 / 128,
        add_regs=None if extra is None else extra.to_numpy(),
        add_reg_names=None if extra is None else list(extra),
    )
    x, y = design.to_numpy(), series / series.mean(axis=0) * 100
    if sample_mask is not None:
        x, y = x[sample_mask], y[sample_mask]
    return np.linalg.lstsq(x, y, rcond=None)[0][: len(events)]


def test_motion_confounds_improve_recovery(sim):
    truth = read_truth(sim.root)
    inside = truth.region != ""
    ijk = truth.ijk[inside]
    with_confounds, without = [], []
    for preproc, events_path, label in zip(sim.preproc, sim.events, truth.runs):
        data = nib.load(preproc).get_fdata()
        series = data[ijk[:, 0], ijk[:, 1], ijk[:, 2]].T
        events = pd.read_csv(events_path, sep="\t")
        planted = truth.runs[label].amplitudes[:, inside].ravel()
        confounds, sample_mask = load_confounds(
            str(preproc), strategy=STRATEGY, motion="basic", scrub=0, fd_threshold=0.5
        )
        cleaned = _betas(series, events, confounds, sample_mask)
        raw = _betas(series, events)
        with_confounds.append(np.corrcoef(cleaned.ravel(), planted)[0, 1])
        without.append(np.corrcoef(raw.ravel(), planted)[0, 1])
    assert min(with_confounds) > 0.8, with_confounds
    assert np.mean(with_confounds) > np.mean(without) + 0.1, (with_confounds, without)


def test_cli_writes_a_readable_dataset(tmp_path, capsys):
    assert main(["simulate-bids", str(tmp_path / "ds"), "--seed", "3", "--runs", "1"]) == 0
    assert "1 run(s)" in capsys.readouterr().out
    runs = find_bids_runs(tmp_path / "ds", "01", derivatives=tmp_path / "ds/derivatives/fmriprep")
    assert len(runs) == 1 and runs[0].confounds is not None and runs[0].tr == 1.0
    assert not list((tmp_path / "ds").rglob(".tmp-*"))  # atomic writes left nothing behind


def test_no_motion_no_outliers(tmp_path):
    sim = simulate_bids_fmri(tmp_path, runs=1, n_stimuli=8, motion=0.0, seed=2)
    confounds = pd.read_csv(sim.confounds[0], sep="\t")
    assert sim.high_fd["1"].size == 0
    assert np.nanmax(confounds.filter(like="trans_").abs().to_numpy()) == 0
    assert not confounds.filter(like="motion_outlier").columns.size
