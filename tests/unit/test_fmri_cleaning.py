"""Confounds, scrubbing, scaling and time-locked averages of BOLD runs."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.glm.first_level import make_first_level_design_matrix

from brainbridge.ingest.fmri import ingest_fmri, lsa_betas, lss_betas, plain_runs, run_confounds
from brainbridge.ingest.fmri.cleaning import scale
from brainbridge.store import validate

TR = 1.0


def _run(n_trials=12, spacing=12.0, seed=0, artifact=0.0, spikes=()):
    """Series (time x 6 voxels) with known betas, plus a confound and spikes of artifact."""
    rng = np.random.default_rng(seed)
    onsets = 4.0 + spacing * np.arange(n_trials)
    n_scans = int(onsets[-1] + 24)
    frames = np.arange(n_scans) * TR
    names = [f"t{i:03d}" for i in range(n_trials)]
    events = pd.DataFrame({"onset": onsets, "duration": 1.0, "trial_type": names})
    design = make_first_level_design_matrix(frames, events, hrf_model="glover", drift_model=None)
    betas = rng.normal(2.0, 1.0, (n_trials, 6))
    motion = np.cumsum(rng.standard_normal(n_scans))  # a random walk, like head position
    motion -= motion.mean()
    series = 100 + design[names].to_numpy() @ betas + 0.01 * rng.standard_normal((n_scans, 6))
    series += artifact * motion[:, None] * rng.uniform(0.5, 1.5, 6)
    for t in spikes:
        series[t] += 50.0
    events = events.assign(stimulus=[f"s{i % 4}" for i in range(n_trials)], trial_type="c")
    return series, events, betas, pd.DataFrame({"motion": motion})


@pytest.mark.parametrize("fit", [lsa_betas, lss_betas])
def test_confound_regressors_remove_an_artifact(fit):
    series, events, betas, confounds = _run(spacing=32.0, artifact=1.0)  # LSS: no overlap
    glm = {"drift_model": None}
    without = fit(series, TR, events, glm)
    with_confounds = fit(series, TR, events, glm, confounds)
    error = np.abs(with_confounds - betas).max()
    assert error < 0.1
    assert np.abs(without - betas).max() > 10 * error


@pytest.mark.parametrize("fit", [lsa_betas, lss_betas])
def test_scrubbing_drops_censored_volumes_from_data_and_design(fit):
    spikes = (30, 31, 70)
    series, events, betas, _ = _run(spacing=32.0, spikes=spikes)
    keep = np.setdiff1d(np.arange(series.shape[0]), spikes)
    glm = {"drift_model": None}
    assert np.abs(fit(series, TR, events, glm) - betas).max() > 1.0
    np.testing.assert_allclose(fit(series, TR, events, glm, None, keep), betas, atol=0.05)


def _write(tmp_path, series, events, confounds=None):
    img = nib.Nifti1Image(series.T.reshape(2, 3, 1, -1).astype("f4"), np.eye(4))
    img.header["pixdim"][4] = TR
    nib.save(img, tmp_path / "bold.nii.gz")
    events.to_csv(tmp_path / "events.tsv", sep="\t", index=False)
    if confounds is not None:
        confounds.to_csv(tmp_path / "confounds.tsv", sep="\t", index=False)
    return tmp_path / "bold.nii.gz", tmp_path / "events.tsv", tmp_path / "confounds.tsv"


def test_ingest_with_confound_columns_and_percent_signal_change(tmp_path):
    series, events, betas, confounds = _run(artifact=1.0)
    bold, ev, conf = _write(tmp_path, series, events, confounds.assign(unused=1.0))
    ds = ingest_fmri(
        plain_runs([bold], [ev], [conf]),
        tr=TR,
        regions={"mask": "background"},
        cleaning={"confounds": {"columns": ["motion"]}, "standardize": "psc"},
        glm={"drift_model": None},
    )
    validate(ds, "responses")
    assert ds.attrs["units"] == "beta (% signal change)"
    want = betas * 100 / series.mean(axis=0)
    np.testing.assert_allclose(ds["data"].values, want, atol=0.05)


def test_confound_errors_name_the_file_and_the_fix(tmp_path):
    series, events, _, confounds = _run()
    bold, _, conf = _write(tmp_path, series, events, confounds.iloc[:-3])
    n_scans = series.shape[0]
    with pytest.raises(ValueError, match=r"confounds\.tsv: .* rows of confounds but the run has"):
        run_confounds(bold, conf, {"columns": ["motion"]}, n_scans)
    with pytest.raises(ValueError, match=r"confound column\(s\) \['csf'\] not found"):
        run_confounds(bold, conf, {"columns": ["csf"]}, n_scans)
    with pytest.raises(ValueError, match=r"has no confounds TSV.*confound_files"):
        run_confounds(bold, None, {"columns": ["motion"]}, n_scans)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['moton'\]"):
        run_confounds(bold, conf, {"moton": "basic"}, n_scans)
    with pytest.raises(ValueError, match=r"load_confounds failed.*fMRIPrep desc-preproc BOLD"):
        run_confounds(bold, conf, {"strategy": ["motion"]}, n_scans)
    assert run_confounds(bold, conf, None, n_scans) == (None, None)


def test_scale():
    series = np.array([[99.0, 2.0], [101.0, 6.0]])
    np.testing.assert_allclose(scale(series, "psc", "x"), [[-1.0, -50.0], [1.0, 50.0]])
    z = scale(series, "zscore_sample", "x")
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1.0)
    with pytest.raises(ValueError, match="mean of zero"):
        scale(np.array([[1.0], [-1.0]]), "psc", "bold.nii")


def test_time_locked_average_follows_the_amplitudes(tmp_path):
    series, events, betas, _ = _run(spacing=16.0, spikes=(4 + 5,))  # a spike in trial 0's window
    bold, ev, _ = _write(tmp_path, series, events)
    ds = ingest_fmri(
        plain_runs([bold], [ev]),
        tr=TR,
        regions={"mask": "background"},
        cleaning={"detrend": True},
        response={"type": "average", "window": [4.0, 7.0], "baseline": [-2.0, 0.0]},
    )
    validate(ds, "responses")
    assert ds.attrs["estimator"] == "AVERAGE" and ds.sizes["trial"] == len(events)
    got = ds["data"].values
    # the peak of the Glover HRF for a 1 s event is about 0.2 x beta above baseline
    assert np.corrcoef(got[1:].ravel(), betas[1:].ravel())[0, 1] > 0.95
    assert got[0].mean() > 5 * got[1:].mean()  # the spike is not hidden: no scrubbing asked


def test_time_locked_average_window_must_hold_a_volume(tmp_path):
    series, events, _, _ = _run()
    bold, ev, _ = _write(tmp_path, series, events)
    with pytest.raises(ValueError, match=r"window \[4\.2, 4\.5\] s holds no volume.*widen"):
        ingest_fmri(
            plain_runs([bold], [ev]),
            tr=TR,
            regions={"mask": "background"},
            response={"type": "average", "window": [4.2, 4.5]},
        )
