"""Tokenizers end to end on tiny stores: training, determinism, resume, tokens, cross-montage."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizer_fixtures import TINY_SENSOR, TINY_TFM, continuous_store, epochs_store

from brainbridge.store import open_store, write_store
from brainbridge.store.contract import StoreError
from brainbridge.store.provenance import checksum
from brainbridge.tokenize import build, load_model, open_source, resolve, tokenize, train
from brainbridge.tokenize.checkpoint import CheckpointError, save_model
from brainbridge.tokenize.tokens import as_brain, token_histograms
from brainbridge.tokenize.train import write_trained

torch.set_num_threads(1)


def _tokens(trained, store, name="tiny"):
    src = open_source(store, trained.meta["config"], name=name)
    return tokenize(trained.model, trained.meta, src)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return epochs_store(tmp_path_factory.mktemp("tok") / "eeg.zarr")


@pytest.fixture(scope="module")
def tfm(store):
    return train([store], TINY_TFM, name="tiny", seed=3)


def test_tfm_trains_tokenizes_and_writes_a_tokens_store(tfm, store, tmp_path):
    health = tfm.health
    assert list(health["epoch"]) == [1, 2]
    assert health["utilisation"].between(0, 1).all() and (health["perplexity"] >= 1).all()
    assert (health["dead_codes"] == 16 - np.round(health["utilisation"] * 16)).all()
    assert health["loss"].iloc[-1] < health["loss"].iloc[0]
    tokens = _tokens(tfm, store)
    # 12 trials x 4 channels x (2 windows of 50 samples x 5 tokens) x 1 level
    assert tokens["codes"].shape == (12, 4, 10, 1)
    assert tokens["codebook"].shape == (1, 16, 4)
    times = tokens["token_time"].values
    assert np.all(np.diff(times) > 0) and -0.2 < times[0] < times[-1] < 0.8
    assert list(tokens["condition"].values[:2]) == ["left", "right"]
    weights, config = tmp_path / "model.safetensors", tmp_path / "config.json"
    write_trained(tfm, weights, config)
    tokens.attrs["checkpoint_sha256"] = checksum(weights)
    write_store(tokens, tmp_path / "tokens.zarr", kind="tokens")
    back = open_store(tmp_path / "tokens.zarr", "tokens", load=True, values=True)
    assert back["codes"].dtype.kind == "i"
    model, meta = load_model(weights, config)
    again = tokenize(model, meta, open_source(store, meta["config"], name="tiny"))
    assert np.array_equal(again["codes"].values, tokens["codes"].values)


def test_tokens_store_rejects_codes_outside_the_codebook(tfm, store, tmp_path):
    tokens = _tokens(tfm, store)
    tokens.attrs["checkpoint_sha256"] = "0" * 64
    tokens["codes"].values[0, 0, 0, 0] = 99
    with pytest.raises(StoreError, match=r"outside \[0, 16\)"):
        write_store(tokens, tmp_path / "bad.zarr", kind="tokens")
    assert not (tmp_path / "bad.zarr").exists()
    tokens["codes"].values[0, 0, 0, 0] = 0
    tokens.attrs["checkpoint_sha256"] = "not-a-hash"
    with pytest.raises(StoreError, match="checkpoint_sha256"):
        write_store(tokens, tmp_path / "bad.zarr", kind="tokens")


def test_training_is_deterministic_for_a_seed(tfm, store):
    again = train([store], TINY_TFM, name="tiny", seed=3)
    a, b = _tokens(tfm, store)["codes"].values, _tokens(again, store)["codes"].values
    assert a.tobytes() == b.tobytes()
    other = train([store], TINY_TFM, name="tiny", seed=4)
    assert not torch.equal(other.model.to_code[0].weight, tfm.model.to_code[0].weight)


def test_resume_after_a_kill_gives_the_uninterrupted_result(tfm, store, tmp_path):
    resume = tmp_path / "resume"
    train([store], {**TINY_TFM, "epochs": 1}, name="tiny", seed=3, resume=resume)  # "killed"
    assert len(list(resume.glob("epoch-0001"))) == 1
    resumed = train([store], TINY_TFM, name="tiny", seed=3, resume=resume)
    assert list(resumed.health["epoch"]) == [1, 2]
    for (k, v), w in zip(tfm.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(v, w), k
    with pytest.raises(CheckpointError, match="codebook_size"):
        train([store], {**TINY_TFM, "codebook_size": 8}, name="tiny", seed=3, resume=resume)


def test_masked_patch_objective_trains(store):
    trained = train([store], {**TINY_TFM, "mask_ratio": 0.3, "epochs": 1}, name="m", seed=0)
    assert np.isfinite(trained.health["loss"]).all()


def test_complex_spectrum_keeps_the_sign_of_evoked_responses(tmp_path):
    """Amplitude tokens code a response and its negative alike (so they cannot follow the
    sign of an evoked pattern across stimuli); complex-spectrum tokens tell them apart."""
    rows = torch.randn(6, 50)
    amplitude = build(resolve(TINY_TFM))
    complex_ = build(resolve({**TINY_TFM, "spectrum": "complex"}))
    assert torch.equal(amplitude.spectra(rows), amplitude.spectra(-rows))
    spec = complex_.spectra(rows)
    assert spec.shape[-1] == 2 * amplitude.spectra(rows).shape[-1]
    assert torch.allclose(complex_.spectra(-rows), -spec)
    assert torch.allclose(complex_.log_amplitude(spec), amplitude.spectra(rows), atol=1e-5)
    # trials in pairs of opposite sign: an evoked bump of stimulus-specific sign plus noise
    rng = np.random.default_rng(0)
    t = np.arange(100) / 100.0
    half = np.exp(-0.5 * ((t - 0.3) / 0.03) ** 2) * rng.choice([-1, 1], (6, 4, 1))
    half = 1e-5 * (half + 0.2 * rng.normal(size=(6, 4, 100)))
    data = np.stack([half, -half], axis=1).reshape(12, 4, 100)
    path = epochs_store(tmp_path / "signed.zarr", data=data)
    codes = {}
    for spectrum in ("amplitude", "complex"):
        cfg = {**TINY_TFM, "spectrum": spectrum, "epochs": 1}
        codes[spectrum] = _tokens(train([path], cfg, name="s", seed=0), path)["codes"].values
    assert np.array_equal(codes["amplitude"][0::2], codes["amplitude"][1::2])
    assert not np.array_equal(codes["complex"][0::2], codes["complex"][1::2])


def test_continuous_store_gives_segments(tmp_path):
    path = continuous_store(tmp_path / "raw.zarr", n_times=1030)
    trained = train([path], {**TINY_TFM, "epochs": 1}, name="c", seed=0)
    tokens = tokenize(trained.model, trained.meta, open_source(path, trained.meta["config"]))
    assert tokens["codes"].dims[0] == "segment" and tokens.sizes["segment"] == 20
    assert np.allclose(np.diff(tokens["onset"].values), 0.5)


def test_sensor_tokenizer_crosses_montages(store, tmp_path):
    trained = train([store], TINY_SENSOR, name="s", seed=0)
    assert list(trained.health["level"]) == [0, 1, 0, 1]
    other = epochs_store(tmp_path / "other.zarr", n_ch=7, seed=5)  # another montage
    tokens = tokenize(trained.model, trained.meta, open_source(other, trained.meta["config"]))
    assert tokens["codes"].shape == (12, 4, 10, 2)  # trials x sources x tokens x levels
    assert tokens.sizes["level"] == 2 and tokens["codebook"].shape == (2, 16, 4)
    mixed = epochs_store(tmp_path / "meg.zarr", n_ch=5, seed=6, ch_type="mag")
    both = train([store, mixed], {**TINY_SENSOR, "epochs": 1}, name="s", seed=0)
    assert set(both.meta["scales"]) == {"eeg", "mag"}
    for path in (store, mixed):
        out = tokenize(both.model, both.meta, open_source(path, both.meta["config"]))
        assert out["codes"].shape[1] == 4


def test_token_histograms_and_brain_view(tfm, store):
    tokens = _tokens(tfm, store)
    hist = token_histograms(tokens)
    assert hist.shape == (12, 16) and np.allclose(hist.sum(1), 1)
    assert token_histograms(tokens, per_unit=True).shape == (12, 64)
    brain = as_brain(tokens)
    assert brain["data"].shape == (12, 4 * 4, 10)
    book = tokens["codebook"].values[0]
    assert np.allclose(brain["data"].values[0, :4, 0], book[tokens["codes"].values[0, 0, 0, 0]])


def test_checkpoint_files_must_match(tfm, tmp_path):
    weights, config = tmp_path / "model.safetensors", tmp_path / "config.json"
    write_trained(tfm, weights, config)
    other = build(resolve({**TINY_TFM, "codebook_size": 8}))
    save_model(other, tfm.meta, weights, tmp_path / "unused.json")
    with pytest.raises(CheckpointError, match="does not fit the settings"):
        load_model(weights, config)
    config.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(weights, config)
