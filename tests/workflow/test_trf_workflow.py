"""The trf rule end to end on real data: EEGBCI run 4 kept continuous, a feature file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from brainbridge.store import open_store

pytestmark = [pytest.mark.workflow, pytest.mark.realdata]


def test_trf_from_a_feature_file(root, tmp_path, shared_data, snakemake):
    """No network: ingestion, the QC report and one TRF of a file of 125 s at 80 Hz, resampled
    (as asked) to the recording's 160 Hz."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "env.npy", rng.standard_normal(10_000))
    config = {
        "output_dir": "results",
        "seed": 0,
        "paths": {"data": str(shared_data)},
        "models": {},
    }
    config["datasets"] = {
        "bci-run4": {
            "modality": "eeg",
            "source": "raw",
            "store": "continuous",
            "files": ["{data}/eegbci/S001/S001R04.edf"],
            "channels": {"standardize": "eegbci", "montage": "colin27_1005"},
            "events": {"mapping": {"T1": "left", "T2": "right"}, "ignore": ["T0"]},
            "preprocessing": {"l_freq": 1.0, "h_freq": 30.0, "reference": "average"},
        }
    }
    config["trf"] = {
        "tmin": 0.0,
        "tmax": 0.3,
        "alphas": [1.0, 100.0, 10000.0],
        "n_folds": 4,
        "features": {
            "env": {
                "dataset": "bci-run4",
                "file": str(tmp_path / "env.npy"),
                "sfreq": 80.0,
                "resample": True,
            }
        },
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "results" / "trf"
    ds = open_store(out / "bci-run4__env.zarr", "trf", load=True)
    assert ds.sizes["channel"] == 64 and ds.sizes["lag"] == 49  # 0..0.3 s at 160 Hz
    assert ds.attrs["features"]["env"]["resampled"] is True
    assert abs(float(ds["score"].mean())) < 0.05  # a random series predicts nothing
    table = pd.read_csv(out / "bci-run4__env.tsv", sep="\t")
    assert len(table) == 64 and set(table["layer"]) == {"env"}
    assert (out / "bci-run4__env.png").stat().st_size > 1000
    html = (tmp_path / "results" / "qc_report.html").read_text()
    assert "Temporal response functions" in html and "bci-run4 × env" in html
