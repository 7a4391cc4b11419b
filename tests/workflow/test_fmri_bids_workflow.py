"""Snakemake on a simulated fMRIPrep-style BIDS dataset: the BIDS path with known truth."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from brainbridge.simulate.fmri_bids import read_truth, simulate_bids_fmri
from brainbridge.store import open_store

pytestmark = pytest.mark.workflow
SPACE = "MNI152NLin2009cAsym"


def test_bids_dataset_through_the_workflow(root, tmp_path, snakemake):
    bids = tmp_path / "bids"
    sim = simulate_bids_fmri(bids, runs=2, seed=1)
    config = {
        "output_dir": "out",
        "paths": {"bids": str(bids)},
        "models": {},
        "datasets": {
            "sim-bids": {
                "modality": "fmri",
                "source": "bids",
                "bids": {
                    "root": "{bids}",
                    "subject": 1,
                    "task": "sim",
                    "derivatives": "{bids}/derivatives/fmriprep",
                    "space": SPACE,
                },
                "regions": {
                    "atlas": str(sim.atlas).replace(str(bids), "{bids}"),
                    "atlas_labels": str(sim.atlas_labels).replace(str(bids), "{bids}"),
                },
                "cleaning": {
                    "confounds": {
                        "strategy": ["motion", "wm_csf", "scrub"],
                        "motion": "basic",
                        "scrub": 0,
                        "fd_threshold": 0.5,
                        "std_dvars_threshold": 100.0,
                    },
                    "standardize": "psc",
                },
                "glm": {"estimator": "lss"},
            }
        },
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--configfile", str(tmp_path / "config.yaml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ds = open_store(tmp_path / "out" / "brain" / "sim-bids.zarr", "responses")
    assert ds.attrs["tr"] == 1.0 and ds.attrs["estimator"] == "LSS"
    assert ds["run"].values.tolist() == ["1"] * 24 + ["2"] * 24
    truth = read_truth(bids)
    want = np.vstack([truth.runs[r].amplitudes[:, truth.region != ""] for r in ("1", "2")])
    r = np.corrcoef(ds["data"].values.ravel(), want.ravel())[0, 1]
    assert r > 0.7, f"betas vs planted single-trial amplitudes: r = {r:.3f}"
    provenance = ds.attrs["provenance"]
    assert any("confounds_timeseries" in str(p) for p in provenance["inputs"].values())
