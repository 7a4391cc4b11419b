"""The searchlight step (stores and maps) and the report's searchlight maps, RDM images, MDS
and methods paragraphs."""

from __future__ import annotations

import mne
import nibabel as nib
import numpy as np
import pytest
import xarray as xr

from brainbridge.report import build_report
from brainbridge.report.rdms import classical_mds
from brainbridge.simulate.eeg import _montage_name
from brainbridge.steps.alignment import align
from brainbridge.steps.searchlight import safe_name, searchlight
from brainbridge.store import open_store, write_store

N = 16
IDS = [f"img{i:02d}" for i in range(N)]


@pytest.fixture()
def stores(tmp_path):
    """A model store, an fMRI responses store on a 6x6x4 grid (3 mm voxels) whose corner
    voxels follow the model, and an EEG epochs store whose occipital channels follow it at
    100-140 ms."""
    rng = np.random.default_rng(0)
    model = rng.normal(size=(N, 12))
    acts = xr.Dataset(
        {"deep": (("stimulus", "feature:deep"), model.astype(np.float32))},
        coords={"stimulus": IDS},
        attrs={"model": "net"},
    )
    write_store(acts, tmp_path / "net.zarr", kind="activations")
    trials = np.tile(np.arange(N), 2)
    ijk = np.argwhere(np.ones((6, 6, 4), bool))
    data = rng.normal(size=(2 * N, len(ijk)))
    corner = np.linalg.norm(ijk, axis=1) <= 2
    data[:, corner] += 2 * (model @ rng.normal(size=(12, int(corner.sum()))))[trials]
    fmri = xr.Dataset(
        {"data": (("trial", "voxel"), data)},
        coords={
            "stimulus": ("trial", np.array(IDS)[trials]),
            "onset": ("trial", np.arange(2.0 * N)),
            "region": ("voxel", np.where(corner, "corner", "rest")),
            "position": (("voxel", "space"), ijk * 3.0 + [-9.0, 4.0, 2.0]),
        },
        attrs={"modality": "fmri", "dataset": "toy-fmri"},
    )
    write_store(fmri, tmp_path / "fmri.zarr", kind="responses")
    names = ["Fz", "Cz", "Pz", "Oz", "O1", "O2", "C3", "C4", "F3", "F4", "P3", "P4"]
    pos = mne.channels.make_standard_montage(_montage_name()).get_positions()["ch_pos"]
    times = np.round(np.arange(-0.05, 0.25, 0.01), 3)
    eeg = rng.normal(size=(2 * N, len(names), len(times)))
    occipital = [names.index(c) for c in ("Oz", "O1", "O2")]
    window = (times >= 0.1) & (times <= 0.14)
    signal = (model @ rng.normal(size=(12, 3)))[trials]
    eeg[:, occipital] += 2 * signal[:, :, None] * window
    epochs = xr.Dataset(
        {"data": (("trial", "channel", "time"), eeg)},
        coords={
            "stimulus": ("trial", np.array(IDS)[trials]),
            "onset": ("trial", np.arange(2.0 * N)),
            "channel": names,
            "ch_type": ("channel", ["eeg"] * len(names)),
            "position": (("channel", "space"), np.array([pos[c] for c in names])),
            "time": times,
        },
        attrs={"modality": "eeg", "sfreq": 100.0, "dataset": "toy-eeg"},
    )
    write_store(epochs, tmp_path / "eeg.zarr", kind="epochs")
    return tmp_path


def _run(stores, brain, **cfg):
    params = {
        "dataset": f"toy-{brain}",
        "model": "net",
        "seed": 0,
        "searchlight": {"radius": 4.0, "window": 0.02, "n_permutations": 50, **cfg},
    }
    inputs = {"brain": str(stores / f"{brain}.zarr"), "activations": str(stores / "net.zarr")}
    outputs = {"store": stores / f"sl-{brain}.zarr", "maps": stores / f"sl-{brain}.maps"}
    searchlight(inputs, outputs, params)
    return open_store(outputs["store"], "searchlight", load=True), outputs["maps"]


def test_fmri_searchlight_store_and_nifti(stores):
    ds, maps = _run(stores, "fmri")
    score = ds["score"].sel(layer="deep").values[0]
    corner = ds["region"].values == "corner"
    assert score[corner].mean() > 0.3 > np.abs(score[~corner & (score == score)]).mean()
    assert ds["p_value"].sel(layer="deep").values[0][corner].max() < 0.1
    assert ds.attrs["radius_mm"] == 4.0 and ds.attrs["features_per_centre"][1] == 7
    img = nib.load(maps / "deep.nii.gz")
    assert img.shape == (6, 6, 4)
    np.testing.assert_allclose(np.diag(img.affine), [3.0, 3.0, 3.0, 1.0])
    ijk = np.round((ds["position"].values - img.affine[:3, 3]) / 3.0).astype(int)
    np.testing.assert_allclose(np.asarray(img.dataobj)[tuple(ijk.T)], score, rtol=1e-6)


def test_eeg_searchlight_store_and_topomaps(stores):
    ds, maps = _run(stores, "eeg", step=2)
    score = ds["score"].sel(layer="deep").isel(metric=0)
    assert score.dims == ("channel", "time") and score.sizes["time"] == 15
    channel, time = np.unravel_index(int(np.nanargmax(score.values)), score.shape)
    assert 0.09 <= float(score["time"].values[time]) <= 0.15
    assert str(score["channel"].values[channel]) in {"Oz", "O1", "O2", "Pz", "P3", "P4"}
    assert (maps / "deep.png").read_bytes().startswith(b"\x89PNG")


def test_report_has_searchlight_rdms_mds_and_methods(stores):
    _run(stores, "fmri")
    _run(stores, "eeg", step=3)
    params = {
        "dataset": "toy-fmri",
        "model": "net",
        "seed": 0,
        "alignment": {
            "metrics": ["rsa-rdm=correlation-compare=spearman"],
            "n_permutations": 50,
            "n_bootstrap": 20,
            "ci": 0.95,
        },
    }
    inputs = {"brain": str(stores / "fmri.zarr"), "activations": str(stores / "net.zarr")}
    align(inputs, {"store": stores / "al.zarr", "table": stores / "al.tsv"}, params)
    ali = open_store(stores / "al.zarr", "alignment", load=True)
    assert ali["brain_rdm"].shape == (2, N, N) and ali["model_rdm"].shape == (1, N, N)
    out = build_report(
        encoding=[],
        alignment=[stores / "al.zarr"],
        searchlight=[stores / "sl-fmri.zarr", stores / "sl-eeg.zarr"],
        out=stores / "report.html",
    )
    html = out.read_text()
    assert "Searchlight maps" in html and html.count("searchlight toy-") == 2
    assert "RDMs and MDS" in html
    assert "32 trials of toy-fmri averaged per stimulus (16 stimuli, each shown 2 times)" in html
    assert "50 relabellings" in html and "split-half" in html


def test_classical_mds_recovers_a_planar_configuration():
    xy = np.random.default_rng(1).normal(size=(10, 2))
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    got = classical_mds(d)
    np.testing.assert_allclose(np.linalg.norm(got[:, None] - got[None], axis=-1), d, atol=1e-10)


def test_safe_name_keeps_files_inside_the_folder():
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("layer1.0.conv1") == "layer1.0.conv1"
    assert "/" not in safe_name("a/b c")


def test_methods_text_escapes_user_names():
    from brainbridge.report.methods import alignment_methods

    ds = xr.Dataset(
        {"score": (("metric", "region", "layer"), np.zeros((1, 1, 1)))},
        coords={"metric": ["<b>m</b>"], "region": ["r"], "layer": ["l"]},
        attrs={"dataset": "<script>x</script>", "model": "a&b", "n_trials": "<i>"},
    )
    text = alignment_methods(ds)
    assert "<script>" not in text and "&lt;script&gt;" in text and "<b>" not in text
    assert "a&amp;b" in text and "<i>" not in text
