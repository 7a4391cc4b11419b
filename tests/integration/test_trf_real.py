"""EEGBCI S001 run 4 kept continuous with its cue events: a TRF from the event onsets."""

from __future__ import annotations

import numpy as np
import pytest

from brainbridge.encode.trf import cross_validated_trf
from brainbridge.encode.trf_features import event_series
from brainbridge.ingest.meeg import ingest_dataset
from brainbridge.store import names as n
from brainbridge.store import validate

pytestmark = pytest.mark.realdata

CFG = {
    "store": "continuous",
    "channels": {"standardize": "eegbci", "montage": "colin27_1005"},
    "events": {
        "mapping": {"T1": {"stimulus": "left"}, "T2": {"stimulus": "right"}},
        "ignore": ["T0"],
    },
    "preprocessing": {"l_freq": 1.0, "h_freq": 30.0, "reference": "average", "resample": 80.0},
    "qc_psd": False,
}


def test_trf_from_cue_onsets(shared_data):
    ds, _ = ingest_dataset([shared_data / "eegbci/S001/S001R04.edf"], CFG)
    validate(ds, "continuous")
    assert ds.sizes[n.EVENT] == 15 and set(ds[n.STIMULUS].values) == {"left", "right"}
    sfreq, n_times = ds.attrs[n.SFREQ], ds.sizes[n.TIME]
    y = ds["data"].values.T
    alphas = np.logspace(-1, 5, 7)

    def fit(onsets):
        x = event_series(onsets, np.ones((len(onsets), 1)), n_times=n_times, sfreq=sfreq)
        return cross_validated_trf(x, y, sfreq, -0.1, 0.6, alphas, n_folds=5).scores

    real = fit(ds[n.ONSET].values)
    rng = np.random.default_rng(0)
    control = fit(np.sort(rng.uniform(1.0, n_times / sfreq - 2.0, ds.sizes[n.EVENT])))
    # the cue-evoked response predicts held-out EEG; random onsets do not
    assert real.mean() > 0.04 and np.sort(real)[-10:].mean() > 0.1, real
    assert real.mean() > control.mean() + 0.05, (real.mean(), control.mean())
