"""The partition step: store, tidy table and report section; bad layers stop it before writing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainbridge.report.partition import partition_section
from brainbridge.steps.partition import partition
from brainbridge.store import open_store, write_store

N = 60
IDS = [f"img{i:02d}" for i in range(N)]
SETTINGS = {"alphas": [0.1, 10.0, 1000.0], "n_candidates": 4, "n_folds": 3, "inner_folds": 3}


@pytest.fixture()
def stores(tmp_path):
    """Layers a and b share one source; voxels of region 'A' read a's own source, of 'B'
    b's own, of 'AB' the shared one. EEG channels read a's own source after 100 ms."""
    rng = np.random.default_rng(0)
    own_a, own_b, shared = (rng.normal(size=(N, 3)) for _ in range(3))
    layers = {
        "a": np.hstack([own_a, shared]) @ rng.normal(size=(6, 10)),
        "b": np.hstack([own_b, shared]) @ rng.normal(size=(6, 10)),
        "flat": np.ones((N, 4)),
    }
    acts = xr.Dataset(
        {k: (("stimulus", f"feature:{k}"), v.astype(np.float32)) for k, v in layers.items()},
        coords={"stimulus": IDS},
        attrs={"model": "net"},
    )
    write_store(acts, tmp_path / "net.zarr", kind="activations")
    trials = np.tile(np.arange(N), 2)
    sources = {"A": own_a, "B": own_b, "AB": shared}
    region = np.repeat(list(sources), 4)
    data = rng.normal(size=(2 * N, region.size)) * 0.5
    for name, z in sources.items():
        cols = region == name
        data[:, cols] += (z @ rng.normal(size=(3, int(cols.sum()))))[trials]
    fmri = xr.Dataset(
        {"data": (("trial", "voxel"), data)},
        coords={"stimulus": ("trial", np.array(IDS)[trials]), "region": ("voxel", region)},
        attrs={"modality": "fmri", "dataset": "toy-fmri"},
    )
    write_store(fmri, tmp_path / "fmri.zarr", kind="responses")
    times = np.round(np.arange(0.0, 0.2, 0.05), 3)
    eeg = rng.normal(size=(2 * N, 3, times.size)) * 0.5
    eeg[:, :, times >= 0.1] += (own_a @ rng.normal(size=(3, 3)))[trials][:, :, None]
    epochs = xr.Dataset(
        {"data": (("trial", "channel", "time"), eeg)},
        coords={
            "stimulus": ("trial", np.array(IDS)[trials]),
            "channel": ["Cz", "Pz", "Oz"],
            "ch_type": ("channel", ["eeg"] * 3),
            "time": times,
        },
        attrs={"modality": "eeg", "sfreq": 20.0, "dataset": "toy-eeg"},
    )
    write_store(epochs, tmp_path / "eeg.zarr", kind="epochs")
    return tmp_path


def _run(root, brain, spaces, name="out"):
    outputs = {"store": root / f"{name}.zarr", "table": root / f"{name}.tsv"}
    params = {
        "dataset": f"toy-{brain}",
        "model": "net",
        "spaces": spaces,
        "partition": {**SETTINGS, "backend": "numpy"},
        "seed": 0,
    }
    inputs = {"brain": root / f"{brain}.zarr", "activations": root / "net.zarr"}
    partition(inputs, outputs, params)
    return outputs


def test_fmri_regions_get_their_planted_component(stores):
    out = _run(stores, "fmri", ["a", "b"])
    ds = open_store(out["store"], "partition", load=True)
    assert ds.attrs["spaces"] == ["a", "b"] and ds["value"].dims == ("component", "voxel")
    assert (ds.attrs["backend"], ds.attrs["device"], ds.attrs["dtype"]) == (
        "numpy",
        "cpu",
        "float64",
    )
    s = ds["summary"].to_pandas()  # component x region
    assert s.loc["unique:a", "A"] > 0.3 > s.loc["unique:b", "A"]
    assert s.loc["unique:b", "B"] > 0.3 > s.loc["unique:a", "B"]
    assert s.loc["shared:a+b", "AB"] > 0.3 > max(s.loc["unique:a", "AB"], s.loc["unique:b", "AB"])
    table = pd.read_csv(out["table"], sep="\t")
    assert set(table["kind"]) == {"r2", "unique", "shared"} and set(table["spaces"]) == {"a+b"}
    assert len(table) == 6 * 3  # components x regions
    section = partition_section([out["store"]])
    assert "Variance partitioning" in section.title and "unique:a" in section.body


def test_eeg_partition_over_time(stores):
    out = _run(stores, "eeg", ["a", "b"])
    ds = open_store(out["store"], "partition", load=True)
    unique_a = ds["summary"].sel(component="unique:a", region="scalp").values
    assert unique_a[2:].mean() > 0.3 > unique_a[:2].mean()  # signal after 100 ms only
    assert "<img" in partition_section([out["store"]]).body


@pytest.mark.parametrize(
    ("spaces", "match"),
    [
        (["a", "flat"], r"'flat' has no variance .*drop it"),
        (["a", "nope"], r"partition.spaces: layer\(s\) \['nope'\] are not in the activation"),
    ],
)
def test_bad_layers_stop_before_writing(stores, spaces, match):
    with pytest.raises(ValueError, match=match):
        _run(stores, "fmri", spaces, name="bad")
    assert not list(stores.glob("bad*"))


@pytest.mark.parametrize(
    ("partition_cfg", "match"),
    [
        ({"enabled": True, "spaces": [["conv2", "conv9"]]}, r"'partition.spaces.0': no model"),
        ({"enabled": True, "spaces": []}, r"'partition.spaces' is empty"),
        ({"enabled": True, "spaces": [["conv1", "conv2", "conv3", "fc"]]}, r"partition.spaces"),
    ],
)
def test_config_names_the_partition_key(partition_cfg, match):
    from pathlib import Path

    import yaml

    from brainbridge.config import ConfigError, check_config

    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["partition"] = partition_cfg
    with pytest.raises(ConfigError, match=match):
        check_config(config)
