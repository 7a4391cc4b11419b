"""Real recordings (../shared/data): every format into a store, and EEGBCI decoding."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from brainbridge.decode import band_power, decode_over_time
from brainbridge.ingest.meeg import ingest_dataset
from brainbridge.store import validate

pytestmark = pytest.mark.realdata

PRE = {"tmin": -0.1, "tmax": 0.3, "baseline": None, "reference": "none"}
MOTOR = {
    "T1": {"stimulus": "left", "condition": "left"},
    "T2": {"stimulus": "right", "condition": "right"},
}


@pytest.mark.parametrize(
    ("rel", "events", "trials", "sfreq", "n_channels"),
    [
        ("mne-testing/EEGLAB/test_raw.set", {"mapping": {"square": "square"}}, 80, 128.0, 32),
        ("mne-testing/MEG/test_elekta_3ch_raw.fif", {"from": "stim"}, 161, 1000.0, 3),
        ("mne-testing/BDF/test_bdf_stim_channel.bdf", {"from": "stim"}, 9, 500.0, 3),
        ("mne-testing/EDF2/test.edf", {}, 13, 512.0, 138),
        (
            "mne-testing/BrainVision-markers/test.vhdr",
            {"mapping": {"Stimulus/S253": "S253", "Stimulus/S255": "S255"}},
            7,
            1000.0,
            26,
        ),
    ],
)
def test_formats(shared_data, rel, events, trials, sfreq, n_channels):
    ds, _ = ingest_dataset(
        [shared_data / rel], {"events": events, "preprocessing": PRE, "qc_psd": False}
    )
    validate(ds, "epochs")
    assert ds.sizes["trial"] == trials and ds.attrs["sfreq"] == sfreq
    assert ds.sizes["channel"] == n_channels


def test_event_counts(shared_data):
    raw = mne.io.read_raw(shared_data / "mne-testing/MEG/test_elekta_3ch_raw.fif", verbose="error")
    assert len(mne.find_events(raw, shortest_event=1, verbose="error")) == 162


@pytest.mark.parametrize(
    "rel", ["mne-testing/KIT/MQKIT_125_2sec.con", "mne-testing/SSS/sample_audvis_trunc_raw_sss.fif"]
)
def test_continuous(shared_data, rel):
    ds, _ = ingest_dataset(
        [shared_data / rel],
        {"store": "continuous", "modality": "meg", "preprocessing": {"reference": "none"}},
    )
    validate(ds, "continuous")
    assert ds.sizes["time"] > 250 and "mag" in set(ds["ch_type"].values)


def test_evoked(shared_data):
    ds, _ = ingest_dataset(
        [shared_data / "mne-testing/MEG/test-ave.fif.gz"], {"source": "evoked", "modality": "meg"}
    )
    assert ds.sizes["trial"] == 4 and "Left Auditory" in ds["stimulus"].values
    files = sorted((shared_data / "erp-core/P3").glob("*_ave.fif"))
    ds, _ = ingest_dataset(
        files,
        {"source": "evoked", "evoked": {"conditions": ["target", "non-target", "difference"]}},
    )
    validate(ds, "epochs")
    assert ds.sizes["trial"] == 15 and ds.sizes["channel"] == 30 and ds.attrs["sfreq"] == 128.0


def _motor(shared_data, runs, pre):
    cfg = {
        "channels": {"standardize": "eegbci", "montage": "colin27_1005"},
        "events": {"mapping": MOTOR, "ignore": ["T0"]},
        "preprocessing": pre,
        "qc_psd": False,
    }
    files = [shared_data / f"eegbci/S001/S001R{r:02d}.edf" for r in runs]
    return ingest_dataset(files, cfg)


def test_eegbci_runs_concatenated(shared_data):
    ds, _ = _motor(
        shared_data,
        (4, 8, 12),
        {
            "tmin": -0.5,
            "tmax": 1.0,
            "baseline": None,
            "bads": {"detect": True},
            "l_freq": 1.0,
            "h_freq": 40.0,
            "resample": 80.0,
        },
    )
    assert ds.sizes["channel"] == 64 and "FC5" in ds["channel"].values
    assert ds.attrs["sfreq"] == 80.0 and set(ds["run"].values) == {"1", "2", "3"}
    assert set(ds["stimulus"].values) == {"left", "right"} and ds.sizes["trial"] == 45
    onsets = ds["onset"].values
    assert (onsets >= 0).all() and onsets.max() < 130  # per run, not cumulative
    assert np.isfinite(ds["position"].values).all() and np.abs(ds["position"].values).sum() > 0


@pytest.mark.parametrize("runs", [(4, 8, 12), (3, 7, 11)], ids=["imagery", "executed"])
def test_eegbci_left_right_decodes_above_chance(shared_data, runs):
    pre = {"l_freq": 7.0, "h_freq": 30.0, "tmin": -0.5, "tmax": 4.0, "baseline": None}
    ds, _ = _motor(shared_data, runs, pre)
    power, centres = band_power(ds["data"].values, ds.attrs["sfreq"], window=0.5, step=0.5)
    result = decode_over_time(
        power, ds["stimulus"].values, centres + float(ds["time"][0]), n_permutations=40, seed=0
    )
    print(
        f"runs {runs}: best AUC {result.best_score:.2f} at {result.best_time:.2f} s, "
        f"p = {result.p_value:.3f}"
    )
    assert result.best_score > 0.7 and result.p_value < 0.05
