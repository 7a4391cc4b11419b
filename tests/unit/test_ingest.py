"""Ingestion of the simulated raw formats: M/EEG epochs and fMRI single-trial betas."""

from __future__ import annotations

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from nilearn.glm.first_level import make_first_level_design_matrix

from brainbridge.ingest.fmri import ingest_fmri, plain_runs
from brainbridge.ingest.meeg import ingest_meeg
from brainbridge.simulate.eeg import CHANNELS, Window, simulate_eeg, write_eeg
from brainbridge.store import feature_dim, validate

PREPROC = {
    "l_freq": 0.1,
    "h_freq": 40.0,
    "tmin": -0.1,
    "tmax": 0.5,
    "baseline": [None, 0.0],
    "resample": 100.0,
}


@pytest.fixture(scope="module")
def eeg_files(tmp_path_factory):
    rng = np.random.default_rng(0)
    stimuli = [f"s{i}" for i in range(12)]
    acts = xr.Dataset(
        {"l1": (("stimulus", feature_dim("l1")), rng.random((12, 20)))},
        coords={"stimulus": stimuli},
    )
    raw, table = simulate_eeg(
        acts,
        stimuli,
        ["a", "b"] * 6,
        [Window("w", 0.1, 0.2, "l1", 1.0)],
        repetitions=2,
        noise_dipoles=5,
    )
    folder = tmp_path_factory.mktemp("eeg")
    write_eeg(raw, table, folder / "x_raw.fif", folder / "x_events.tsv")
    return folder / "x_raw.fif", folder / "x_events.tsv"


def test_eeg_epochs_store(eeg_files):
    ds = ingest_meeg(*eeg_files, PREPROC)
    validate(ds, "epochs")
    assert ds.sizes["trial"] == 24 and ds.attrs["sfreq"] == 100.0
    assert ds["channel"].values.tolist() == list(CHANNELS)
    assert ds.sizes["time"] == 60  # 151 samples at 250 Hz (-0.1 .. 0.5 s) resampled to 100 Hz
    counts = pd.Series(ds["stimulus"].values).value_counts()
    assert (counts == 2).all() and len(counts) == 12
    baseline = ds["data"].sel(time=slice(None, 0)).mean("time")  # corrected before resampling
    assert float(np.abs(baseline).mean()) < 0.1 * float(ds["data"].std())


def test_continuous_store_keeps_the_events(eeg_files):
    """store: continuous keeps channel x time and the stimulus events at the epochs' onsets."""
    epochs = ingest_meeg(*eeg_files, PREPROC)
    ds = ingest_meeg(*eeg_files, {"l_freq": 0.1, "resample": 100.0}, store="continuous")
    validate(ds, "continuous")
    assert ds.attrs["sfreq"] == 100.0 and "trial" not in ds.dims
    assert ds.sizes["event"] == 24
    np.testing.assert_allclose(ds["onset"].values, epochs["onset"].values)
    assert ds["stimulus"].values.tolist() == epochs["stimulus"].values.tolist()
    assert float(ds["onset"].max()) < ds.sizes["time"] / 100.0


def test_eeg_bad_inputs_are_named(eeg_files, tmp_path):
    raw_path, events_path = eeg_files
    truncated = tmp_path / "cut_raw.fif"
    truncated.write_bytes(raw_path.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"cut_raw\.fif.*truncated"):
        ingest_meeg(truncated, events_path, PREPROC)
    no_code = tmp_path / "bad.tsv"
    no_code.write_text("trigger\tstimulus\n1\ts0\n")
    with pytest.raises(ValueError, match=r"lacks column.*code"):
        ingest_meeg(raw_path, no_code, PREPROC)
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("code\tstimulus\n999\ts0\n")
    with pytest.raises(ValueError, match=r"none of the event keys .* match the mapping"):
        ingest_meeg(raw_path, unknown, PREPROC)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ingest_meeg(tmp_path / "nothing_raw.fif", events_path, PREPROC)


def _bold_with_known_betas(folder, tr=1.0, n_trials=20, header_tr=None):
    rng = np.random.default_rng(1)
    onsets = 4.0 + 6.0 * np.arange(n_trials)
    n_scans = int((onsets[-1] + 20) / tr)
    frames = np.arange(n_scans) * tr
    events = pd.DataFrame(
        {"onset": onsets, "duration": 1.0, "trial_type": [f"t{i:03d}" for i in range(n_trials)]}
    )
    design = make_first_level_design_matrix(frames, events, hrf_model="glover", drift_model=None)
    betas = rng.normal(1.0, 0.5, (n_trials, 8))
    series = 100 + design[events["trial_type"]].to_numpy() @ betas
    series += 0.01 * rng.standard_normal(series.shape)
    img = nib.Nifti1Image(series.T.reshape(2, 2, 2, n_scans).astype("f4"), np.eye(4))
    img.header["pixdim"][4] = header_tr or tr
    nib.save(img, folder / "bold.nii.gz")
    atlas = nib.Nifti1Image(np.array([1, 1, 1, 1, 2, 2, 2, 2], "i2").reshape(2, 2, 2), np.eye(4))
    nib.save(atlas, folder / "atlas.nii.gz")
    pd.DataFrame({"index": [1, 2], "name": ["A", "B"]}).to_csv(
        folder / "labels.tsv", sep="\t", index=False
    )
    events.assign(stimulus=[f"s{i}" for i in range(n_trials)]).to_csv(
        folder / "events.tsv", sep="\t", index=False
    )
    return betas


def test_lsa_betas_recover_known_amplitudes(tmp_path):
    betas = _bold_with_known_betas(tmp_path)
    ds = ingest_fmri(
        plain_runs([tmp_path / "bold.nii.gz"], [tmp_path / "events.tsv"]),
        regions={"atlas": tmp_path / "atlas.nii.gz", "atlas_labels": tmp_path / "labels.tsv"},
        tr=1.0,
    )
    validate(ds, "responses")
    assert ds["region"].values.tolist() == ["A"] * 4 + ["B"] * 4
    assert ds["stimulus"].values.tolist() == [f"s{i}" for i in range(20)]
    np.testing.assert_allclose(ds["data"].values, betas, atol=0.1)  # cosine drift costs a little
    assert np.corrcoef(ds["data"].values.ravel(), betas.ravel())[0, 1] > 0.99


def test_fmri_bad_inputs(tmp_path):
    _bold_with_known_betas(tmp_path, header_tr=2.0)
    runs = plain_runs([tmp_path / "bold.nii.gz"], [tmp_path / "events.tsv"])
    regions = {"atlas": tmp_path / "atlas.nii.gz", "atlas_labels": tmp_path / "labels.tsv"}
    with pytest.raises(ValueError, match=r"header TR 2\.0 s differs"):
        ingest_fmri(runs, regions=regions, tr=1.0)
    _bold_with_known_betas(tmp_path)
    late = pd.read_csv(tmp_path / "events.tsv", sep="\t")
    late.loc[0, "onset"] = 10_000.0
    late.to_csv(tmp_path / "events.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="after the end of the scan"):
        ingest_fmri(runs, regions=regions, tr=1.0)


def test_mne_reads_the_simulated_montage(eeg_files):
    raw = mne.io.read_raw_fif(eeg_files[0], verbose="error")
    assert raw.get_montage() is not None and raw.info["sfreq"] == 250.0
