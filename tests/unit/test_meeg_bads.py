"""Bad-channel detection finds exactly the planted flat, noisy and uncorrelated channels."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from brainbridge.ingest.meeg.preprocess import detect_bads, handle_bads

NAMES = [f"E{i:02d}" for i in range(16)]
FLAT, NOISY, LOOSE = "E03", "E07", "E11"


def _raw(rng) -> mne.io.RawArray:
    """16 EEG channels sharing 3 sources (neighbours correlate), 10 s at 200 Hz, with a flat
    channel, a channel 30 times too large and one of independent noise at the usual scale."""
    sources = rng.normal(size=(3, 2000))
    mixing = rng.uniform(0.5, 1.5, size=(16, 3))
    data = 1e-5 * (mixing @ sources + 0.2 * rng.normal(size=(16, 2000)))
    index = {name: i for i, name in enumerate(NAMES)}
    scale = np.median(data.std(axis=1))
    data[index[FLAT]] = 0.0
    data[index[NOISY]] += 30 * data[index[NOISY]].std() * rng.normal(size=2000)
    data[index[LOOSE]] = scale * rng.normal(size=2000)
    info = mne.create_info(NAMES, 200.0, "eeg")
    return mne.io.RawArray(data, info, verbose="error")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detect_bads_finds_the_planted_channels(seed):
    bads = detect_bads(_raw(np.random.default_rng(seed)), {})
    assert sorted(bads) == [FLAT, NOISY, LOOSE]
    assert bads[FLAT] == "flat"
    assert bads[NOISY].startswith("noisy (robust z")
    assert bads[LOOSE].startswith("uncorrelated (90th pct |r|")


def test_thresholds_decide_and_clean_data_has_no_bads():
    rng = np.random.default_rng(3)
    raw = _raw(rng)
    assert sorted(detect_bads(raw, {"z": 1000.0, "min_correlation": 0.0})) == [FLAT]
    clean = raw.copy().drop_channels([FLAT, NOISY, LOOSE])
    assert detect_bads(clean, {}) == {}


def test_bads_without_positions_are_dropped_and_recorded():
    raw = _raw(np.random.default_rng(4))
    qc: dict = {}
    handle_bads(raw, {}, "planted.fif", qc)
    assert sorted(qc["bad_channels"]) == [FLAT, NOISY, LOOSE]
    assert set(qc["dropped_channels"]) == {FLAT, NOISY, LOOSE}
    assert raw.ch_names == [c for c in NAMES if c not in (FLAT, NOISY, LOOSE)]
