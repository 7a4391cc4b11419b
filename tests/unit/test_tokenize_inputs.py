"""Bad input to tokenizers: each a clear error naming the key or file and the fix, before
anything is written."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizer_fixtures import TINY_SENSOR, TINY_TFM, epochs_store

from brainbridge.tokenize import TokenizerConfigError, TokenizerDataError, resolve, train

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"codebook_size": 0}, r"tokenizers\.t\.codebook_size is 0.*at least one code"),
        ({"hop": 20}, r"tokenizers\.t\.hop \(20\) is larger than tokenizers\.t\.stft_window"),
        ({"stft_window": 80}, r"stft_window \(80\) is longer than tokenizers\.t\.segment"),
        ({"sfreq": None}, r"tokenizers\.t\.sfreq is missing"),
        ({"kind": "vqvae"}, r"tokenizers\.t\.kind is 'vqvae'"),
        ({"levels": 2}, r"unknown key\(s\) \['levels'\]"),
        ({"spectrum": "power"}, r"tokenizers\.t\.spectrum is 'power'; choose one of"),
    ],
)
def test_config_errors_name_the_key(change, match):
    with pytest.raises(TokenizerConfigError, match=match):
        resolve({**TINY_TFM, **change}, "t")


def test_sensor_config_errors():
    with pytest.raises(TokenizerConfigError, match="n_sources"):
        resolve({**TINY_SENSOR, "n_sources": 0}, "s")


def _fails(tmp_path, store, cfg, match):
    resume = tmp_path / "resume"
    with pytest.raises(TokenizerDataError, match=match):
        train([store], cfg, name="t", resume=resume)
    assert not resume.exists()  # nothing written


def test_recording_shorter_than_a_window(tmp_path):
    store = epochs_store(tmp_path / "short.zarr", n_times=40)
    _fails(tmp_path, store, TINY_TFM, r"short\.zarr: each trial has 40 samples.*segment: 50")


def test_sampling_rate_mismatch(tmp_path):
    store = epochs_store(tmp_path / "e.zarr", sfreq=250.0)
    _fails(tmp_path, store, TINY_TFM, r"250 Hz but tokenizer 't' works at 100 Hz.*resample")


def test_nan_and_flat_channels(tmp_path):
    data = np.random.default_rng(0).normal(size=(4, 3, 100)) * 1e-5
    data[:, 1] = 0.0
    store = epochs_store(tmp_path / "flat.zarr", n_trials=4, n_ch=3, data=data)
    _fails(tmp_path, store, TINY_TFM, r"flat\.zarr: channel\(s\) \['C1'\] are flat")
    path = tmp_path / "nan.zarr"
    data[:, 1] = 1e-5
    store = epochs_store(path, n_trials=4, n_ch=3, data=data)
    # NaN cannot enter a store through the contract: write the values behind its back
    import zarr

    arr = zarr.open_group(str(path), mode="r+")["data"]
    block = arr[:]
    block[0, 2, 5] = np.nan
    arr[:] = block
    from brainbridge.store.checksum import seal

    seal(path)  # and record the edited content as if written so, past the checksum check
    _fails(tmp_path, store, TINY_TFM, r"nan\.zarr: channel\(s\) \['C2'\] hold NaN")


def test_sensor_tokenizer_needs_positions_and_known_types(tmp_path):
    pos = np.full((3, 3), 0.05)
    pos[2] = 0.0
    store = epochs_store(tmp_path / "nopos.zarr", n_ch=3, positions=pos)
    _fails(tmp_path, store, TINY_SENSOR, r"1 channel\(s\) have no sensor position \(\['C2'\]\)")
    store = epochs_store(tmp_path / "ecg.zarr", n_ch=3, ch_type="ecg")
    _fails(tmp_path, store, TINY_SENSOR, r"channel type\(s\) \['ecg'\].*unknown")
    # the single-channel tokenizer needs no positions
    assert train([tmp_path / "nopos.zarr"], {**TINY_TFM, "epochs": 1}, name="t").health.size


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        ({"datasets": ["nope"]}, r"tokenizers\.sim-tfm\.datasets': unknown dataset 'nope'"),
        ({"tokenize": ["sim-fmri"]}, r"tokenizers\.sim-tfm\.tokenize': dataset 'sim-fmri' is not"),
        ({"hop": 32}, r"tokenizers\.sim-tfm\.hop \(32\) is larger"),
        ({"codebook_size": 0}, r"tokenizers\.sim-tfm\.codebook_size': 0 is less than"),
        ({"colour": "red"}, r"tokenizers\.sim-tfm\.colour': unknown key"),
        (
            {"probe": {"datasets": ["sim-fmri"]}},
            r"tokenizers\.sim-tfm\.probe\.datasets': 'sim-fmri' is not tokenized by 'sim-tfm'",
        ),
        ({"probe": {"folds": 3}}, r"tokenizers\.sim-tfm\.probe\.folds': unknown key"),
    ],
)
def test_config_check_names_the_tokenizer_key(root, edit, match):
    import copy

    import yaml

    from brainbridge.config import ConfigError, check_config

    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    check_config(copy.deepcopy(config))
    config["tokenizers"]["sim-tfm"].update(edit)
    with pytest.raises(ConfigError, match=match):
        check_config(config)
