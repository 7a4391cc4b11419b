"""The BIDS path end to end on a simulated fMRIPrep-style dataset with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from brainbridge.ingest.fmri import find_bids_runs, ingest_fmri
from brainbridge.simulate.fmri_bids import read_truth, simulate_bids_fmri
from brainbridge.store import validate

SPACE = "MNI152NLin2009cAsym"
CONFOUNDS = {
    "strategy": ["motion", "wm_csf", "scrub"],
    "motion": "basic",
    "scrub": 0,
    "fd_threshold": 0.5,
    "std_dvars_threshold": 100.0,
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim") / "bids"
    sim = simulate_bids_fmri(root, runs=2, seed=3)
    return root, sim, read_truth(root)


def _ingest(simulated, *, confounds, estimator="lsa", derivatives=True):
    root, sim, _ = simulated
    runs = find_bids_runs(
        root,
        1,
        task="sim",
        space=SPACE if derivatives else None,
        derivatives=sim.derivatives if derivatives else None,
    )
    cleaning = {"standardize": "psc", **({"confounds": confounds} if confounds else {})}
    return ingest_fmri(
        runs,
        regions={"atlas": sim.atlas, "atlas_labels": sim.atlas_labels},
        cleaning=cleaning,
        glm={"estimator": estimator},
    )


def _recovery(ds, truth) -> float:
    """Correlation of the betas with the planted single-trial amplitudes (atlas voxels)."""
    inside = truth.region != ""
    want = np.vstack([truth.runs[label].amplitudes[:, inside] for label in ("1", "2")])
    return float(np.corrcoef(ds["data"].values.ravel(), want.ravel())[0, 1])


@pytest.mark.parametrize("estimator", ["lsa", "lss"])
def test_confounds_and_scrubbing_recover_the_planted_betas(simulated, estimator):
    _, _, truth = simulated
    cleaned = _ingest(simulated, confounds=CONFOUNDS, estimator=estimator)
    raw = _ingest(simulated, confounds=None, estimator=estimator)
    validate(cleaned, "responses")
    r_clean, r_raw = _recovery(cleaned, truth), _recovery(raw, truth)
    print(f"{estimator}: r = {r_clean:.3f} with confounds + scrubbing, {r_raw:.3f} without")
    assert r_clean > 0.8 and r_clean > r_raw + 0.05
    assert cleaned["run"].values.tolist() == ["1"] * 24 + ["2"] * 24
    # each stimulus is shown once per run: repetitions stay separate trials
    assert sorted(set(cleaned["stimulus"].values)) == sorted(truth.stimuli.tolist())
    assert set(cleaned["region"].values) == set(truth.region[truth.region != ""])


def test_raw_bids_reads_the_sidecar_tr(simulated):
    root, _, _ = simulated
    runs = find_bids_runs(root, "01", task="sim")
    assert [r.tr for r in runs] == [1.0, 1.0] and all(r.confounds is None for r in runs)
    with pytest.raises(ValueError, match=r"RepetitionTime 1\.0 s .* differs from the configured"):
        ingest_fmri(runs, tr=2.0)
    ds = ingest_fmri(runs, regions={"mask": "background"})
    assert ds.attrs["tr"] == 1.0


def test_average_responses_follow_the_planted_patterns(simulated):
    root, sim, truth = simulated
    runs = find_bids_runs(root, 1, space=SPACE, derivatives=sim.derivatives)
    ds = ingest_fmri(
        runs,
        regions={"atlas": sim.atlas, "atlas_labels": sim.atlas_labels},
        cleaning={"confounds": CONFOUNDS, "standardize": "psc"},
        response={"type": "average", "window": [4.0, 7.0]},  # SOA 5-8 s: no clean baseline
    )
    validate(ds, "responses")
    assert ds.attrs["estimator"] == "AVERAGE"
    avg = ds["data"].groupby(ds["stimulus"]).mean().sel(stimulus=truth.stimuli).values
    planted = truth.patterns[:, truth.region != ""]
    # stimulus-specific patterns: centre each voxel over stimuli, then compare
    r = np.corrcoef((avg - avg.mean(0)).ravel(), (planted - planted.mean(0)).ravel())[0, 1]
    print(f"time-locked averages vs planted patterns: r = {r:.3f}")
    assert r > 0.6
