"""LSA and LSS single-trial betas: known amplitudes, and LSS == a loop of nilearn fits."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.glm.first_level import FirstLevelModel, make_first_level_design_matrix

from brainbridge.ingest.fmri import ingest_fmri, lsa_betas, lss_betas, plain_runs
from brainbridge.store import validate


def _simulate(n_trials=16, tr=1.0, spacing=8.0, noise=0.002, seed=1, hrf="glover"):
    rng = np.random.default_rng(seed)
    onsets = 4.0 + spacing * np.arange(n_trials)
    n_scans = int((onsets[-1] + 24) / tr)
    frames = np.arange(n_scans) * tr
    names = [f"t{i:03d}" for i in range(n_trials)]
    events = pd.DataFrame({"onset": onsets, "duration": 1.0, "trial_type": names})
    design = make_first_level_design_matrix(frames, events, hrf_model=hrf, drift_model=None)
    betas = rng.normal(1.0, 0.5, (n_trials, 6))
    series = 100 + design[names].to_numpy() @ betas + noise * rng.standard_normal((n_scans, 6))
    stimuli = [f"s{i % 4}" for i in range(n_trials)]  # repeated presentations
    trial_type = [f"c{i % 2}" for i in range(n_trials)]
    events = events.assign(stimulus=stimuli, trial_type=trial_type)
    return series, events, betas


@pytest.mark.parametrize("hrf", ["glover", "spm"])
@pytest.mark.parametrize("estimator", ["lsa", "lss"])
def test_estimators_recover_known_betas(estimator, hrf):
    series, events, betas = _simulate(hrf=hrf, spacing=32.0)  # LSS assumes no overlap
    glm = {"hrf_model": hrf, "drift_model": None}
    fit = lsa_betas if estimator == "lsa" else lss_betas
    got = fit(series, 1.0, events, glm)
    assert got.shape == betas.shape
    np.testing.assert_allclose(got, betas, atol=0.05)


def test_lss_condition_mode_recovers_betas():
    series, events, betas = _simulate(spacing=32.0)
    got = lss_betas(series, 1.0, events, {"drift_model": None}, others="condition")
    np.testing.assert_allclose(got, betas, atol=0.05)


def _loop_of_fits(series, events, tr, *, others):
    """One nilearn FirstLevelModel per trial (the reference LSS)."""
    img = nib.Nifti1Image(series.T.reshape(2, 3, 1, -1).astype("f8"), np.eye(4))
    mask = nib.Nifti1Image(np.ones((2, 3, 1), "i1"), np.eye(4))
    out = []
    for j in range(len(events)):
        if others == "all":
            label = np.where(np.arange(len(events)) == j, "target", "other")
        else:
            label = np.where(
                np.arange(len(events)) == j, "target", "other_" + events["trial_type"].to_numpy()
            )
        ev = events[["onset", "duration"]].assign(trial_type=label)
        model = FirstLevelModel(
            t_r=tr, hrf_model="glover", drift_model="cosine", high_pass=0.01,
            mask_img=mask, signal_scaling=False, noise_model="ols", minimize_memory=True,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(img, events=ev)
            beta = model.compute_contrast("target", output_type="effect_size")
        out.append(beta.get_fdata().reshape(-1))
    return np.array(out)


@pytest.mark.parametrize("others", ["all", "condition"])
def test_lss_equals_a_loop_of_first_level_models(others):
    series, events, _ = _simulate(n_trials=10, noise=0.5, seed=3)
    glm = {"hrf_model": "glover", "drift_model": "cosine", "high_pass": 0.01}
    got = lss_betas(series, 1.0, events, glm, others=others)
    want = _loop_of_fits(series, events, 1.0, others=others)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-6)


def test_lss_rejects_ar1():
    series, events, _ = _simulate(n_trials=4)
    with pytest.raises(ValueError, match="noise_model: ols"):
        lss_betas(series, 1.0, events, {"noise_model": "ar1"})


def _write_run(folder, run, series, events):
    img = nib.Nifti1Image(series.T.reshape(2, 3, 1, -1).astype("f4"), np.eye(4))
    img.header["pixdim"][4] = 1.0
    nib.save(img, folder / f"run{run}_bold.nii.gz")
    events.to_csv(folder / f"run{run}_events.tsv", sep="\t", index=False)


@pytest.mark.parametrize("estimator", ["lsa", "lss"])
def test_ingest_several_runs(tmp_path, estimator):
    runs = [_simulate(seed=s, spacing=32.0) for s in (1, 2)]
    for r, (series, events, _) in enumerate(runs, start=1):
        _write_run(tmp_path, r, series, events)
    atlas = nib.Nifti1Image(np.array([1, 1, 1, 2, 2, 2], "i2").reshape(2, 3, 1), np.eye(4))
    nib.save(atlas, tmp_path / "atlas.nii.gz")
    pd.DataFrame({"index": [1, 2], "name": ["A", "B"]}).to_csv(
        tmp_path / "labels.tsv", sep="\t", index=False
    )
    ds = ingest_fmri(
        plain_runs(
            [tmp_path / "run1_bold.nii.gz", tmp_path / "run2_bold.nii.gz"],
            [tmp_path / "run1_events.tsv", tmp_path / "run2_events.tsv"],
        ),
        regions={"atlas": tmp_path / "atlas.nii.gz", "atlas_labels": tmp_path / "labels.tsv"},
        tr=1.0,
        glm={"estimator": estimator, "drift_model": None},
    )
    validate(ds, "responses")
    assert ds.attrs["estimator"] == estimator.upper()
    assert ds["run"].values.tolist() == ["1"] * 16 + ["2"] * 16
    assert ds["stimulus"].values.tolist()[:5] == ["s0", "s1", "s2", "s3", "s0"]
    want = np.vstack([b for _, _, b in runs])
    np.testing.assert_allclose(ds["data"].values, want, atol=0.05)
