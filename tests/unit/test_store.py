"""The store contract: round trips, provenance, atomic writes and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from brainbridge.store import StoreError, feature_dim, open_store, provenance, validate, write_store
from brainbridge.store.contract import check_stimuli
from brainbridge.store.join import layer_matrix, split_half_average, stimulus_average


def epochs(n_trials: int = 6) -> xr.Dataset:
    rng = np.random.default_rng(0)
    stimuli = np.array(["a", "b", "c"] * (n_trials // 3))
    return xr.Dataset(
        {"data": (("trial", "channel", "time"), rng.normal(size=(n_trials, 3, 5)).astype("f4"))},
        coords={
            "stimulus": ("trial", stimuli),
            "onset": ("trial", np.arange(n_trials, dtype=float)),
            "channel": ["Fz", "Cz", "Pz"],
            "ch_type": ("channel", ["eeg"] * 3),
            "time": np.linspace(-0.1, 0.3, 5),
        },
        attrs={"sfreq": 10.0, "modality": "eeg"},
    )


def activations() -> xr.Dataset:
    x = np.arange(12, dtype="f4").reshape(3, 4)
    return xr.Dataset(
        {"conv1": (("stimulus", feature_dim("conv1")), x)},
        coords={"stimulus": ["c", "a", "b"]},
        attrs={"model": "m"},
    )


def test_round_trip_keeps_values_coords_and_provenance(tmp_path):
    ds = epochs()
    prov = provenance(inputs={"self": __file__}, config={"l_freq": 1.0}, seed=3, step="test")
    write_store(ds, tmp_path / "e.zarr", kind="epochs", provenance=prov)
    back = open_store(tmp_path / "e.zarr", "epochs", load=True, values=True)
    np.testing.assert_array_equal(back["data"].values, ds["data"].values)
    assert back["stimulus"].values.tolist() == ds["stimulus"].values.tolist()
    assert back.attrs["kind"] == "epochs"
    p = back.attrs["provenance"]
    assert p["seed"] == 3 and p["config"] == {"l_freq": 1.0}
    assert len(p["inputs"]["self"]["sha256"]) == 64
    assert "numpy" in p["packages"] and p["code_version"].startswith("0.")


def test_chunks_follow_the_kind(tmp_path):
    ds = epochs(n_trials=150)
    write_store(ds, tmp_path / "e.zarr", kind="epochs")
    enc = open_store(tmp_path / "e.zarr")["data"].encoding
    assert tuple(enc["chunks"]) == (64, 3, 5)  # trial chunks, full channel x time per trial


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ds: ds.drop_vars("stimulus"), "coord 'stimulus' missing"),
        (lambda ds: ds.drop_vars("ch_type"), "coord 'ch_type' missing"),
        (lambda ds: ds.assign(data=ds["data"].where(ds["data"] > 0)), "NaN/inf"),
        (lambda ds: ds.assign(data=ds["data"].astype("i4")), "expected a floating type"),
        (lambda ds: ds.transpose("channel", "trial", "time"), "expected one of"),
        (lambda ds: ds.assign_coords(stimulus=("trial", ["a", "", "c"] * 2)), "non-empty strings"),
        (lambda ds: ds.assign_attrs(sfreq=-1.0), "attr 'sfreq'"),
        (lambda ds: ds.assign_attrs(modality="pet"), "attr 'modality'"),
    ],
)
def test_bad_epochs_are_rejected_with_a_clear_message(tmp_path, mutate, message):
    target = tmp_path / "bad.zarr"
    with pytest.raises(StoreError, match=message) as err:
        write_store(mutate(epochs()), target, kind="epochs")
    assert str(target) in str(err.value)  # the message names the store
    assert not target.exists()
    assert not list(tmp_path.iterdir())  # no partial or temporary store left behind


def test_duplicate_stimuli_in_activations_are_rejected(tmp_path):
    ds = activations().assign_coords(stimulus=["a", "a", "b"])
    with pytest.raises(StoreError, match="must be unique"):
        write_store(ds, tmp_path / "a.zarr", kind="activations")


def test_activation_layer_dims_are_checked():
    ds = activations().rename({feature_dim("conv1"): "feature"})
    with pytest.raises(StoreError, match="feature:conv1"):
        validate(ds, "activations")


def test_failed_write_keeps_the_previous_store(tmp_path, monkeypatch):
    target = tmp_path / "e.zarr"
    write_store(epochs(), target, kind="epochs")
    before = open_store(target, load=True)["data"].values.copy()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_zarr", boom)
    changed = epochs().assign(data=epochs()["data"] + 1)
    with pytest.raises(OSError, match="disk full"):
        write_store(changed, target, kind="epochs")
    np.testing.assert_array_equal(open_store(target, load=True)["data"].values, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.zarr"]


def test_overwrite_replaces_the_store(tmp_path):
    target = tmp_path / "e.zarr"
    write_store(epochs(), target, kind="epochs")
    write_store(epochs().assign(data=epochs()["data"] * 0 + 1), target, kind="epochs")
    assert float(open_store(target, load=True)["data"].mean()) == 1.0


def test_open_rejects_missing_partial_and_wrong_kind(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "none.zarr")
    (tmp_path / "partial.zarr").mkdir()
    with pytest.raises(StoreError, match="not a Zarr v3 store"):
        open_store(tmp_path / "partial.zarr")
    write_store(epochs(), tmp_path / "e.zarr", kind="epochs")
    with pytest.raises(StoreError, match="needs a 'activations' store"):
        open_store(tmp_path / "e.zarr", "activations")


def test_unknown_kind():
    with pytest.raises(StoreError, match="unknown store kind"):
        validate(epochs(), "spikes")


def test_join_is_by_stimulus_id_not_position():
    brain = epochs()
    avg = stimulus_average(brain)
    x = layer_matrix(activations(), "conv1", avg["stimulus"].values, source="test")
    order = list(activations()["stimulus"].values)
    for row, stim in zip(x, avg["stimulus"].values, strict=True):
        np.testing.assert_array_equal(row, activations()["conv1"].values[order.index(stim)])
    np.testing.assert_allclose(
        avg.sel(stimulus="a").values, brain["data"].values[[0, 3]].mean(axis=0), rtol=1e-6
    )


def test_stimulus_ids_that_match_nothing_are_named():
    with pytest.raises(StoreError, match=r"absent from .*\['zebra'\]"):
        check_stimuli(["a", "zebra"], ["a", "b"], wanted_from="brain", available_from="model")
    with pytest.raises(StoreError, match="zebra"):
        layer_matrix(activations(), "conv1", np.array(["a", "zebra"]), source="brain store")


def test_split_half_uses_alternate_presentations():
    brain = epochs(n_trials=6)  # a b c a b c, onsets 0..5
    first, second = split_half_average(brain)
    np.testing.assert_allclose(first.sel(stimulus="b").values, brain["data"].values[1])
    np.testing.assert_allclose(second.sel(stimulus="b").values, brain["data"].values[4])
    assert split_half_average(epochs(n_trials=3)) is None
