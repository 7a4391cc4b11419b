"""Trained CIFAR ResNets on the real stimulus sets (rsa92: 92 images, algonauts78: 78 images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainbridge.extract.architectures.cifar_resnet import CIFAR10_CLASSES
from brainbridge.extract.models import load
from brainbridge.extract.run import Inputs, extract_to_store
from brainbridge.extract.stimuli import read_manifest
from brainbridge.store import open_store

pytestmark = pytest.mark.realdata

CIFAR = Inputs(image={"size": 32, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]})
ANIMALS = [CIFAR10_CLASSES.index(c) for c in ("bird", "cat", "deer", "dog", "frog", "horse")]
WEIGHTS = {"resnet20": "resnet20-12fca82f.th", "resnet56": "resnet56-4bfd9763.th"}


@pytest.fixture(scope="module", params=sorted(WEIGHTS))
def resnet(request, shared_data):
    arch = request.param
    path = shared_data / "weights" / WEIGHTS[arch]
    loaded = load("cifar-resnet", path, arch=arch)
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    model_state = loaded.module.state_dict()
    assert {k.removeprefix("module.") for k in state} == set(model_state) - {
        k for k in model_state if k.endswith("num_batches_tracked")
    }
    for key, value in state.items():  # every weight of the file is in the model, as saved
        assert torch.equal(model_state[key.removeprefix("module.")], value), key
    return arch, loaded


def test_rsa92_animals_fall_into_cifar_animal_classes(resnet, shared_data, tmp_path):
    arch, loaded = resnet
    manifest = read_manifest(shared_data / "rsa92" / "stimuli.tsv")
    assert len(manifest) == 92
    store = tmp_path / f"{arch}.zarr"
    layers = ["layer1", "layer2", "layer3", "linear"]
    extract_to_store(loaded, manifest, store, layers=layers, inputs=CIFAR, batch_size=32)
    ds = open_store(store, "activations", load=True, values=True)
    assert ds["layer3"].shape == (92, 64 * 8 * 8) and ds["linear"].shape == (92, 10)
    predicted = ds["linear"].values.argmax(axis=1)
    animate = manifest["animal"].astype(int).to_numpy() == 1
    rate_animate = np.isin(predicted[animate], ANIMALS).mean()
    rate_inanimate = np.isin(predicted[~animate], ANIMALS).mean()
    # chance (uniform over 10 classes) is 0.6; the trained networks are far above
    assert rate_animate >= 0.8, (arch, rate_animate)
    assert rate_animate > rate_inanimate + 0.3, (arch, rate_animate, rate_inanimate)
    # deterministic: a second extraction gives identical predictions and activations
    again = tmp_path / f"{arch}-again.zarr"
    extract_to_store(loaded, manifest, again, layers=["linear"], inputs=CIFAR, batch_size=16)
    np.testing.assert_allclose(
        open_store(again, load=True)["linear"].values, ds["linear"].values, rtol=1e-5, atol=1e-5
    )


def test_algonauts78_folder_of_images(resnet, shared_data, tmp_path):
    _, loaded = resnet
    manifest = read_manifest(shared_data / "algonauts78" / "images")
    assert len(manifest) == 78 and manifest["stimulus"].iloc[0] == "image_01"
    store = tmp_path / "algo.zarr"
    extract_to_store(
        loaded,
        manifest,
        store,
        layers=["layer3", "linear"],
        inputs=CIFAR,
        batch_size=26,
        dtype="float16",
        reduction={"method": "pca", "n_components": 20},
    )
    ds = open_store(store, load=True, values=True)
    assert ds["layer3"].dtype == np.float16 and ds["layer3"].shape == (78, 20)
    assert ds["layer3"].attrs["reduction"] == "pca"
    assert 0.3 < ds["layer3"].attrs["reduction_explained_variance"] <= 1.0
    assert ds["linear"].shape == (78, 10)  # never more components than features
