"""Model inputs: the image resize setting, precomputed model RDMs as a model source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image

from brainbridge.align import compute_rdms
from brainbridge.extract.run import Inputs, extract_to_store
from brainbridge.extract.stimuli import read_manifest, resize_image
from brainbridge.steps.alignment import align
from brainbridge.steps.model_rdms import ingest_model_rdm
from brainbridge.store import open_store, write_store

SPEARMAN = "rsa-rdm=correlation-compare=spearman"
CKA = "cka-kernel=linear-hsic=unbiased"


# ---------------------------------------------------------------- resize


def _triangle_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) antialiased bilinear weights: a triangle filter of half-width
    max(1, scale) around each output pixel's centre, normalized (Pillow / torch antialias)."""
    scale = n_in / n_out
    support = max(1.0, scale)
    centre = (np.arange(n_out) + 0.5) * scale
    position = np.arange(n_in) + 0.5
    w = np.clip(1.0 - np.abs(position[None, :] - centre[:, None]) / support, 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def _image(seed=0, shape=(45, 60)) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


@pytest.mark.parametrize(("shape", "size"), [((45, 60), 16), ((20, 20), 32), ((33, 17), 24)])
def test_bilinear_antialias_is_the_triangle_filter(shape, size):
    img = _image(1, shape)
    x = np.asarray(img, dtype=np.float64) / 255.0
    rows, cols = _triangle_weights(shape[0], size), _triangle_weights(shape[1], size)
    reference = np.einsum("ih,hwc,jw->ijc", rows, x, cols)
    got = resize_image(img, size, "bilinear-antialias")
    assert got.shape == (size, size, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, reference, atol=1e-5)
    # Pillow's bilinear filter (torchvision's PIL path) agrees up to its 8-bit rounding
    pil = np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float64)
    assert np.abs(got * 255.0 - pil).max() <= 1.0


@pytest.mark.parametrize(("method", "pil"), [("lanczos", "LANCZOS"), ("bicubic", "BICUBIC")])
def test_pil_filters_and_errors(method, pil):
    img = _image(2)
    ref = np.asarray(img.resize((16, 16), getattr(Image.Resampling, pil)), np.float32) / 255
    np.testing.assert_array_equal(resize_image(img, 16, method), ref)
    assert np.abs(resize_image(img, 16, method) - resize_image(img, 16)).max() > 0.01
    with pytest.raises(ValueError, match="bilinear-antialias"):
        resize_image(img, 16, "nearest")


def test_resize_is_recorded_in_the_activation_store(tmp_path):
    import torch

    folder = tmp_path / "stim"
    folder.mkdir()
    for i in range(3):
        _image(i, (40, 30)).save(folder / f"im{i}.png")
    manifest = read_manifest(folder)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4)).eval()
    stores = {}
    for method in ("bilinear-antialias", "lanczos"):
        image = {"size": 8, "mean": [0.5] * 3, "std": [0.5] * 3, "resize": method}
        path = tmp_path / f"{method}.zarr"
        extract_to_store(net, manifest, path, layers=["1"], inputs=Inputs(image=image))
        stores[method] = open_store(path, "activations", load=True)
        assert stores[method].attrs["image_resize"] == method
        assert stores[method].attrs["image_size"] == 8
    assert not np.allclose(stores["lanczos"]["1"].values, stores["bilinear-antialias"]["1"].values)


# ---------------------------------------------------------------- model RDMs


@pytest.fixture()
def rdm_model(tmp_path):
    """Model RDM files of two layers over 20 stimuli (manifest in another order than the
    brain store), and an fMRI responses store whose region `A` follows layer `deep`."""
    rng = np.random.default_rng(3)
    n = 20
    ids = [f"img{i:02d}" for i in range(n)]
    deep, shallow = rng.normal(size=(n, 30)), rng.normal(size=(n, 30))
    np.savez(tmp_path / "deep.npz", arr_0=compute_rdms(deep))
    np.save(tmp_path / "shallow.npy", compute_rdms(shallow))
    pd.DataFrame({"stimulus": ids, "text": ids}).to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    trials = np.repeat(np.arange(n), 2)[::-1]
    data = np.concatenate([deep[:, :8], rng.normal(size=(n, 8))], axis=1)[trials]
    data = data + 0.3 * rng.normal(size=data.shape)
    brain = xr.Dataset(
        {"data": (("trial", "voxel"), data)},
        coords={
            "stimulus": ("trial", np.array(ids)[trials]),
            "onset": ("trial", np.arange(2.0 * n)),
            "region": ("voxel", np.repeat(["A", "B"], 8)),
            "position": (("voxel", "space"), rng.normal(size=(16, 3))),
        },
        attrs={"modality": "fmri", "dataset": "toy"},
    )
    write_store(brain, tmp_path / "brain.zarr", kind="responses")
    return tmp_path


def test_model_rdms_align_with_responses(rdm_model, caplog):
    cfg = {
        "source": "rdm",
        "rdms": [{"layer": "shallow", "file": "x"}, {"layer": "deep", "file": "y"}],
        "dissimilarity": "correlation distance",
    }
    inputs = {"rdms": [str(rdm_model / "shallow.npy"), str(rdm_model / "deep.npz")]}
    inputs["manifest"] = str(rdm_model / "m.tsv")
    ingest_model_rdm(inputs, {"store": rdm_model / "net.zarr"}, {"name": "net", "model": cfg})
    model = open_store(rdm_model / "net.zarr", "rdms", load=True)
    assert model["region"].values.tolist() == ["shallow", "deep"]
    assert model.attrs["model"] == "net" and model.attrs["modality"] == "model"

    params = {
        "dataset": "toy",
        "model": "net",
        "alignment": {"metrics": [SPEARMAN, CKA], "n_permutations": 100, "n_bootstrap": 50},
        "seed": 0,
    }
    params["alignment"]["ci"] = 0.95
    out = {"store": rdm_model / "al.zarr", "table": rdm_model / "al.tsv"}
    align(
        {"brain": str(rdm_model / "brain.zarr"), "activations": str(rdm_model / "net.zarr")},
        out,
        params,
    )
    assert "skipping ['cka-kernel=linear-hsic=unbiased']" in caplog.text
    ds = open_store(out["store"], "alignment", load=True)
    score = ds["score"].sel(metric=SPEARMAN)
    assert float(score.sel(region="A", layer="deep")) > 0.3
    assert float(ds["p_value"].sel(metric=SPEARMAN, region="A", layer="deep")) < 0.02
    assert abs(float(score.sel(region="B", layer="deep"))) < 0.2
    # the RDMs kept for the report: the model's own RDM, the region's RDM in brain-store order
    stimuli = ds["stimulus"].values
    deep_rdm = model["rdm"].sel(region="deep", replicate=model["replicate"].values[0])
    np.testing.assert_allclose(
        ds["model_rdm"].sel(layer="deep").values,
        deep_rdm.sel(stimulus=stimuli, stimulus2=stimuli).values,
    )
    assert ds.attrs["n_trials"] == 40 and ds.attrs["repetitions_min"] == 2


def test_model_rdm_files_must_hold_one_rdm(rdm_model):
    np.save(rdm_model / "two.npy", np.stack([compute_rdms(np.eye(20))] * 2))
    cfg = {"source": "rdm", "rdms": [{"layer": "l", "file": "x"}]}
    with pytest.raises(ValueError, match="one RDM per layer"):
        ingest_model_rdm(
            {"rdms": [str(rdm_model / "two.npy")], "manifest": str(rdm_model / "m.tsv")},
            {"store": rdm_model / "bad.zarr"},
            {"name": "net", "model": cfg},
        )
    assert not (rdm_model / "bad.zarr").exists()


def test_config_keys_of_rdm_models_and_searchlight():
    from brainbridge.config import ConfigError, check_config

    config = {
        "output_dir": "out",
        "models": {"net": {"source": "rdm", "stimuli": "m.tsv"}},
        "datasets": {},
        "alignment": {"metrics": [SPEARMAN], "searchlight": {"enabled": True, "radius": 6}},
    }
    with pytest.raises(ConfigError, match=r"models\.net.*'rdms' is a required property"):
        check_config(config)
    config["models"]["net"]["rdms"] = [{"layer": "l1", "file": "l1.npz"}]
    check_config(config)
    config["alignment"]["searchlight"]["window"] = -1
    with pytest.raises(ConfigError, match=r"alignment\.searchlight\.window"):
        check_config(config)
    del config["alignment"]["searchlight"]["window"]
    config["models"]["cnn"] = {"source": "simnet", "stimuli": "m.tsv"}  # networks need more
    with pytest.raises(ConfigError, match=r"models\.cnn.*'checkpoint' is a required property"):
        check_config(config)
