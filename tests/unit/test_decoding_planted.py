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

    from brainbridge.steps import STEPS
    from brainbridge.store import open_store

    out = {"store": stores / "dec.zarr", "table": stores / "dec.tsv"}
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "acts.zarr"}
    STEPS["decode-identity"](inputs, out, _params())
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
    from brainbridge.steps import STEPS

    out = {"store": stores / "dec.zarr", "table": stores / "dec.tsv"}
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "acts.zarr"}
    with pytest.raises(ValueError, match=message):
        STEPS["decode-identity"](inputs, out, {**_params(), **change})
    assert not out["store"].exists() and not out["table"].exists()


def test_stimuli_without_activations_are_named(stores, planted):
    from brainbridge.steps import STEPS
    from brainbridge.store import StoreError, open_store, write_store

    acts = open_store(stores / "acts.zarr", "activations", load=True)
    write_store(acts.isel(stimulus=slice(0, -2)), stores / "short.zarr", kind="activations")
    out = {"store": stores / "dec.zarr", "table": stores / "dec.tsv"}
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "short.zarr"}
    with pytest.raises(StoreError, match=r"2 stimulus id\(s\).*absent"):
        STEPS["decode-identity"](inputs, out, _params())
    assert not out["store"].exists()


def test_decoding_step_saves_the_best_contrastive_checkpoint(stores):
    import json

    from brainbridge.decode.contrastive import sidecar
    from brainbridge.steps import STEPS

    params = _params(decoders=["contrastive"])
    params["decoding"]["contrastive"] = {**CFG["contrastive"], "epochs": 3}
    out = {
        "store": stores / "dec.zarr",
        "table": stores / "dec.tsv",
        "checkpoint": stores / "dec.safetensors",
    }
    inputs = {"brain": stores / "brain.zarr", "activations": stores / "acts.zarr"}
    STEPS["decode-identity"](inputs, out, params)
    meta = json.loads(sidecar(out["checkpoint"]).read_text())
    assert meta["info"]["layer"] == "conv1" and meta["info"]["unit"] in {"R1", "R2", "R3"}
    decoder = load_decoder(out["checkpoint"])
    assert decoder.arch_.kind == "fmri" and decoder.arch_.n_inputs == 10
