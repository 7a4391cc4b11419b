"""Planted truth for both decoders (ridge, contrastive): time windows / regions driven by known
layers are identified above chance (p < 0.05), best for their own layer; contrastive
checkpoints and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from brainbridge.decode.contrastive import (
    Architecture,
    ContrastiveConfig,
    ContrastiveDecoder,
    load_decoder,
)
from brainbridge.decode.identity import decode_identity

N_STIM, REPS, N_CH = 40, 2, 12
LAYERS = ("conv1", "conv2", "conv3")
CFG = {
    "n_folds": 2,
    "pca": 6,
    "top_k": [1, 5],
    "n_permutations": 199,
    "window": 0.05,
    "step": 0.05,
    "alphas": [1.0, 10.0, 100.0, 1000.0],
    "backend": "numpy",
    "contrastive": {
        "epochs": 12,
        "batch_size": 16,
        "hidden": 16,
        "blocks": 1,
        "patience": 8,
        "every": 1,
        "learning_rate": 0.01,
    },
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def planted():
    """Three independent layers; EEG window k and fMRI region k driven by layer k."""
    rng = np.random.default_rng(0)
    layers = {name: rng.standard_normal((N_STIM, 8)) for name in LAYERS}
    stim = np.tile(np.arange(N_STIM), REPS)
    ids = np.array([f"s{i:02d}" for i in range(N_STIM)])
    times = np.arange(15) / 100.0  # three 50 ms windows
    eeg = 1.0 * rng.standard_normal((len(stim), N_CH, len(times)))
    voxels, region = [], []
    for k, name in enumerate(LAYERS):
        signal = layers[name][stim] @ rng.standard_normal((8, N_CH))  # trial x channel
        eeg[:, :, 5 * k : 5 * k + 5] += 0.5 * signal[:, :, None]
        voxels.append(0.7 * layers[name][stim] @ rng.standard_normal((8, 10)))
        region += [f"R{k + 1}"] * 10
    fmri = np.concatenate(voxels, 1) + rng.standard_normal((len(stim), 30))
    coords = {"stimulus": ("trial", ids[stim]), "run": ("trial", np.repeat(["1", "2"], N_STIM))}
    eeg_ds = xr.Dataset(
        {"data": (("trial", "channel", "time"), eeg)},
        coords={**coords, "time": times, "position": (("channel", "space"), rng.random((N_CH, 3)))},
        attrs={"modality": "eeg", "sfreq": 100.0},
    )
    fmri_ds = xr.Dataset(
        {"data": (("trial", "voxel"), fmri)},
        coords={**coords, "region": ("voxel", np.array(region))},
        attrs={"modality": "fmri"},
    )
    return layers, ids, eeg_ds, fmri_ds


@pytest.mark.parametrize("modality", ["eeg", "fmri"])
def test_both_decoders_recover_the_planted_layer(planted, modality):
    layers, ids, eeg, fmri = planted
    brain = eeg if modality == "eeg" else fmri
    ds = decode_identity(brain, layers, ids, CFG, decoders=["ridge", "contrastive"], seed=0)
    assert ds.attrs["grouping"] == "stimulus"  # every stimulus in both runs
    unit = "time" if modality == "eeg" else "region"
    sel = {"metric": "correlation", "level": "trial"}
    for decoder in ("ridge", "contrastive"):
        res = ds.sel(decoder=decoder, **sel)
        for k, layer in enumerate(LAYERS):
            at = {unit: ds[unit].values[k]}
            top1 = float(res["score"].sel(layer=layer, **at))
            chance = float(res["chance"].sel(layer=layer, k=1, **at))
            assert top1 > 2 * chance, (decoder, layer, top1, chance)
            assert float(res["p_value"].sel(layer=layer, **at)) < 0.05
            ranks = res["mean_rank"].sel(**at)
            assert str(ranks.idxmin("layer").values) == layer, (decoder, ranks.values)


def test_contrastive_training_is_seeded_and_checkpoints_round_trip(planted, tmp_path):
    layers, _, eeg, _ = planted
    x = eeg["data"].values[:, :, :5]
    y = layers["conv1"][np.tile(np.arange(N_STIM), REPS)]
    stim = eeg["stimulus"].values
    conf = ContrastiveConfig(epochs=3, batch_size=16, hidden=8, blocks=1)
    pos = eeg["position"].values
    a = ContrastiveDecoder(conf, positions=pos, seed=3).fit(x, y, stim)
    b = ContrastiveDecoder(conf, positions=pos, seed=3).fit(x, y, stim)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    path = a.save(tmp_path / "decoder.safetensors")
    loaded = load_decoder(path, expected=a.arch_)
    np.testing.assert_allclose(loaded.predict(x), a.predict(x), atol=1e-6)
    # a montage with other sensors reuses the front end (spatial attention over positions)
    other = ContrastiveDecoder(conf, positions=pos[:8], seed=3).fit(x[:, :8], y, stim)
    assert other.predict(x[:, :8]).shape == (len(x), 8)
    wrong = Architecture(**{**a.arch_.__dict__, "hidden": 4})
    with pytest.raises(ValueError, match=r"another architecture.*retrain"):
        load_decoder(path, expected=wrong)


def test_bad_contrastive_and_top_k_settings_fail_before_fitting(planted):
    layers, ids, _, fmri = planted
    big = {**CFG, "contrastive": {**CFG["contrastive"], "batch_size": 500}}
    with pytest.raises(ValueError, match=r"decoding\.contrastive\.batch_size=500"):
        decode_identity(fmri, layers, ids, big, decoders=["contrastive"])
    with pytest.raises(ValueError, match=r"decoding\.top_k.*lower"):
        decode_identity(fmri, layers, ids, {**CFG, "top_k": [1, 50]})
    with pytest.raises(KeyError):
        decode_identity(fmri, layers, ids[:-1], CFG)  # a stimulus without features


@pytest.fixture
def stores(planted, tmp_path):
    """The planted fMRI responses and layers as a brain store and an activation store."""
    from brainbridge.store import write_store

    layers, ids, _, fmri = planted
    acts = xr.Dataset(
        {name: (("stimulus", f"feature:{name}"), value) for name, value in layers.items()},
        coords={"stimulus": ids},
        attrs={"model": "toy"},
    )
    brain = fmri.assign_coords(condition=("trial", np.array(["a", "b"] * N_STIM)))
    write_store(acts, tmp_path / "acts.zarr", kind="activations")
    write_store(brain, tmp_path / "brain.zarr", kind="responses")
    return tmp_path


def _params(**decoding):
    cfg = {**CFG, "decoders": ["ridge"], "n_permutations": 19, **decoding}
    return {"dataset": "toy-fmri", "model": "toy", "layers": ["conv1"], "decoding": cfg}


def test_decoding_step_writes_a_valid_store_and_tidy_table(stores):
    import pandas as pd

    from brainbridge.steps import get_step
    from brainbridge.store import open_store

    out = {"store": stores / "dec.zarr", "table": stores / "dec.tsv"}
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "acts.zarr"}
    get_step("decode-identity")(inputs, out, _params())
    ds = open_store(out["store"], "decoding", load=True)
    assert ds["score"].dims == ("decoder", "metric", "layer", "region", "level")
    table = pd.read_csv(out["table"], sep="\t")
    assert len(table) == 2 * 3 * 2  # metric x region x level
    assert {"top1", "top5", "chance_top1", "chance_top5", "p_value"} <= set(table.columns)
    best = table[(table.metric == "correlation") & (table.level == "trial")]
    assert best.loc[best["top1"].idxmax(), "region"] == "R1"  # conv1 drives R1
    from brainbridge.report.decoding import decoding_section

    section = decoding_section([out["store"]])
    assert section.title == "Decoding" and "conv1" in section.body and "R1" in section.body


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layers": ["conv9"]}, r"conv9.*models\.toy\.layers"),
        ({"decoding": {**CFG, "top_k": [1, 40]}}, r"decoding\.top_k"),
        ({"decoding": {**CFG, "decoders": ["lasso"]}}, r"decoding\.decoders"),
    ],
)
def test_bad_decoding_input_fails_before_writing(stores, change, message):
    from brainbridge.steps import get_step

    out = {"store": stores / "dec.zarr", "table": stores / "dec.tsv"}
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "acts.zarr"}
    with pytest.raises(ValueError, match=message):
        get_step("decode-identity")(inputs, out, {**_params(), **change})
    assert not out["store"].exists() and not out["table"].exists()


def test_stimuli_without_activations_are_named(stores, planted):
    from brainbridge.steps import get_step
    from brainbridge.store import StoreError, open_store, write_store

    acts = open_store(stores / "acts.zarr", "activations", load=True)
    write_store(acts.isel(stimulus=slice(0, -2)), stores / "short.zarr", kind="activations")
    out = {"store": stores / "dec.zarr", "table": stores / "dec.tsv"}
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "short.zarr"}
    with pytest.raises(StoreError, match=r"2 stimulus id\(s\).*absent"):
        get_step("decode-identity")(inputs, out, _params())
    assert not out["store"].exists()


def test_decoding_step_saves_the_best_contrastive_checkpoint(stores):
    import json

    from brainbridge.decode.contrastive import sidecar
    from brainbridge.steps import get_step

    params = _params(decoders=["contrastive"])
    params["decoding"]["contrastive"] = {**CFG["contrastive"], "epochs": 3}
    out = {
        "store": stores / "dec.zarr",
        "table": stores / "dec.tsv",
        "checkpoint": stores / "dec.safetensors",
    }
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "acts.zarr"}
    get_step("decode-identity")(inputs, out, params)
    meta = json.loads(sidecar(out["checkpoint"]).read_text())
    assert meta["info"]["layer"] == "conv1" and meta["info"]["unit"] in {"R1", "R2", "R3"}
    decoder = load_decoder(out["checkpoint"])
    assert decoder.arch_.kind == "fmri" and decoder.arch_.n_inputs == 10


@pytest.mark.parametrize("kind", ["fmri", "meeg"])
def test_linear_encoder_is_linear_and_deep_is_not(kind):
    """encoder=linear (the default for comparing layers) is an affine map of the brain pattern;
    encoder=deep (residual temporal convs / MLP) is not."""
    from brainbridge.decode.contrastive import build_model

    torch.manual_seed(0)
    shape = (4, 6, 5) if kind == "meeg" else (4, 30)
    a, b = torch.randn(shape), torch.randn(shape)
    pos = torch.rand(6, 2)
    for encoder, affine in (("linear", True), ("deep", False)):
        arch = Architecture(kind, shape[1], shape[2] if kind == "meeg" else 1, 3, 8, 1, 2)
        model = build_model(Architecture(**{**arch.__dict__, "encoder": encoder})).eval()
        with torch.no_grad():
            zero = model(torch.zeros_like(a), pos)
            fa, fb, fab = (model(x, pos) - zero for x in (a, b, 2 * a - b))
            gap = float((fab - (2 * fa - fb)).abs().max())
        assert (gap < 1e-4) == affine, (encoder, gap)


def test_predictions_are_in_the_units_of_the_targets():
    """With the MSE term alone, a noiseless linear fMRI region is decoded to its targets' scale
    (the decoder trains on unit-RMS targets and scales its output back)."""
    rng = np.random.default_rng(1)
    y = 50.0 * rng.standard_normal((120, 4))  # targets far from unit scale
    x = y @ rng.standard_normal((4, 20)) + 0.01 * rng.standard_normal((120, 20))
    conf = ContrastiveConfig(mse_weight=1.0, epochs=150, learning_rate=0.03, dropout=0.0)
    dec = ContrastiveDecoder(conf, seed=0).fit(x, y, np.arange(120))
    assert dec.arch_.encoder == "linear" and abs(dec.target_scale_ / 50.0 - 1) < 0.2
    pred = dec.predict(x)
    r2 = 1 - ((pred - y) ** 2).sum() / ((y - y.mean(0)) ** 2).sum()
    assert r2 > 0.9, r2


def test_bad_encoder_settings_and_old_checkpoints(planted, tmp_path):
    import json

    from brainbridge.decode.contrastive import sidecar

    with pytest.raises(ValueError, match=r"decoding\.contrastive\.encoder.*'linear', 'deep'"):
        ContrastiveConfig.from_dict({"encoder": "transformer"})
    with pytest.raises(ValueError, match=r"decoding\.contrastive\.mse_weight=1\.5"):
        ContrastiveConfig.from_dict({"mse_weight": 1.5})
    # a checkpoint whose sidecar predates `encoder` (no such key) loads as deep
    layers, _, _, fmri = planted
    x, y = fmri["data"].values[:, :10], layers["conv1"][np.tile(np.arange(N_STIM), REPS)]
    conf = ContrastiveConfig(encoder="deep", epochs=2, batch_size=16, hidden=8)
    dec = ContrastiveDecoder(conf, seed=0).fit(x, y, fmri["stimulus"].values)
    path = dec.save(tmp_path / "old.safetensors")
    meta = json.loads(sidecar(path).read_text())
    del meta["architecture"]["encoder"], meta["config"]["encoder"]
    sidecar(path).write_text(json.dumps(meta))
    old = load_decoder(path)
    assert old.arch_.encoder == "deep"
    np.testing.assert_allclose(old.predict(x), dec.predict(x), rtol=1e-5, atol=1e-5)
