"""ICA removes an ocular artifact identified through the EOG channel."""

from __future__ import annotations

import mne
import numpy as np

from brainbridge.ingest.meeg.preprocess import run_ica

CHANNELS = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]


def _raw_with_blinks(seed: int = 0) -> tuple[mne.io.RawArray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sfreq, n_times = 100.0, 12_000
    brain = rng.standard_normal((len(CHANNELS), n_times)) * 5e-6
    t = np.arange(n_times) / sfreq
    blinks = np.zeros(n_times)
    for onset in np.arange(2.0, t[-1] - 1, 3.0) + rng.uniform(-0.5, 0.5, 39):
        blinks += np.exp(-0.5 * ((t - onset) / 0.08) ** 2)
    frontal = np.array([1.0, 1.0, 0.6, 0.6, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05])[:, None]
    eeg = brain + 100e-6 * frontal * blinks
    eog = 150e-6 * blinks + 2e-6 * rng.standard_normal(n_times)
    info = mne.create_info([*CHANNELS, "EOG"], sfreq, ["eeg"] * len(CHANNELS) + ["eog"])
    raw = mne.io.RawArray(np.vstack([eeg, eog]), info, verbose="error")
    return raw, blinks


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def test_ica_removes_blinks_found_through_eog():
    raw, blinks = _raw_with_blinks()
    before = _corr(raw.get_data(picks="Fp1")[0], blinks)
    qc: dict = {}
    run_ica(raw, {"n_components": 0.999}, seed=0, qc=qc)
    after = _corr(raw.get_data(picks="Fp1")[0], blinks)
    assert before > 0.9 and abs(after) < 0.2
    assert qc["ica"]["excluded"]["eog"]  # the ocular component was found and removed


def test_ica_is_skipped_without_eog_or_ecg():
    raw, _ = _raw_with_blinks()
    raw.drop_channels(["EOG"])
    qc: dict = {}
    run_ica(raw, {}, seed=0, qc=qc)
    assert qc["ica"].startswith("skipped")
