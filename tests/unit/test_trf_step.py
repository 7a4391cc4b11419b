"""The trf step: a continuous store with events + a layer (or a feature file) -> a trf store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainbridge.encode.trf import TRFError, lag_matrix, lags_for
from brainbridge.encode.trf_features import event_series, read_feature_file
from brainbridge.report.trf import trf_section
from brainbridge.steps import get_step
from brainbridge.store import names as n
from brainbridge.store import open_store, write_store

SFREQ = 100.0
N_STIM, N_CH, N_FEAT = 30, 6, 12
CFG = {
    "tmin": -0.1,
    "tmax": 0.4,
    "alphas": [0.1, 10.0, 1000.0],
    "n_folds": 4,
    "scoring": "pearson",
    "n_components": 3,
    "duration": 0.0,
    "onset_feature": True,
}


def _planted(seed=0):
    """A continuous recording whose channels follow a layer's first two PCs at each onset."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"s{i:02d}" for i in range(N_STIM)])
    basis = rng.standard_normal((2, N_FEAT))
    layer = rng.standard_normal((N_STIM, 2)) * [3.0, 2.0] @ basis
    layer += 0.05 * rng.standard_normal(layer.shape)
    order = np.concatenate([rng.permutation(N_STIM) for _ in range(4)])
    onsets = 1.0 + np.cumsum(rng.uniform(0.5, 0.8, len(order)))
    n_times = int((onsets[-1] + 1.5) * SFREQ)
    lags = lags_for(CFG["tmin"], CFG["tmax"], SFREQ)
    t = lags / SFREQ
    kernels = np.stack([np.exp(-0.5 * ((t - c) / 0.04) ** 2) for c in (0.1, 0.25)], axis=1)
    mix = rng.standard_normal((2, N_CH))
    amps = layer @ np.linalg.pinv(basis)  # the planted PCs (up to scale), stimulus x 2
    x = event_series(onsets, amps[order], n_times=n_times, sfreq=SFREQ)
    signal = sum(lag_matrix(x[:, [k]], lags) @ kernels[:, [k]] * mix[k] for k in range(2))
    data = 1e-6 * (signal + 0.5 * signal.std() * rng.standard_normal(signal.shape))
    brain = xr.Dataset(
        {"data": ((n.CHANNEL, n.TIME), data.T.astype(np.float32))},
        coords={
            n.CHANNEL: np.array([f"E{i}" for i in range(N_CH)]),
            n.CH_TYPE: (n.CHANNEL, np.array(["eeg"] * N_CH)),
            n.TIME: np.arange(n_times) / SFREQ,
            n.STIMULUS: (n.EVENT, ids[order]),
            n.CONDITION: (n.EVENT, np.array(["a"] * len(order))),
            n.ONSET: (n.EVENT, onsets),
        },
        attrs={n.SFREQ: SFREQ, n.MODALITY: "eeg", "dataset": "cont"},
    )
    acts = xr.Dataset(
        {
            "good": ((n.STIMULUS, "feature:good"), layer),
            "noise": ((n.STIMULUS, "feature:noise"), rng.standard_normal((N_STIM, N_FEAT))),
        },
        coords={n.STIMULUS: ids},
        attrs={n.MODEL: "toy"},
    )
    return brain, acts


@pytest.fixture
def stores(tmp_path):
    brain, acts = _planted()
    write_store(brain, tmp_path / "brain.zarr", kind="continuous")
    write_store(acts, tmp_path / "acts.zarr", kind="activations")
    return tmp_path


def _run(tmp_path, inputs, **params):
    out = {k: str(tmp_path / f"out.{ext}") for k, ext in (("store", "zarr"), ("table", "tsv"))}
    out["figure"] = str(tmp_path / "out.png")
    base = {"dataset": "cont", "model": "toy", "trf": CFG, "seed": 0}
    get_step("trf")(inputs, out, {**base, **params})
    return out


def test_layer_at_onsets_recovers_the_planted_layer(stores):
    inputs = {"brain": str(stores / "brain.zarr"), "activations": str(stores / "acts.zarr")}
    out = _run(stores, inputs)
    ds = open_store(out["store"], "trf", load=True)
    assert ds["weight"].dims == (n.LAYER, n.LAG, n.FEATURE, n.CHANNEL)
    assert list(ds[n.FEATURE].values) == ["onset", "pc1", "pc2", "pc3"]
    good, noise = (float(ds["score"].sel(layer=k).mean()) for k in ("good", "noise"))
    assert good > 0.5 and good > noise + 0.3, (good, noise)
    assert ds.attrs["tmin"] == -0.1 and ds.attrs["n_folds"] == 4
    assert len(ds.attrs["blocks"]) == 4 and ds.attrs["blocks"][0][0] == 0
    table = pd.read_csv(out["table"], sep="\t")
    assert len(table) == 2 * N_CH and {"layer", "channel", "score", "alpha"} <= set(table)
    assert open(out["figure"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    section = trf_section([out["store"]])
    assert "cont × toy" in section.body and "<img" in section.body


def test_feature_file_route(stores, tmp_path):
    brain = open_store(stores / "brain.zarr", load=True)
    rng = np.random.default_rng(3)
    feats = rng.standard_normal(brain.sizes[n.TIME])
    np.save(tmp_path / "env.npy", feats)
    inputs = {"brain": str(stores / "brain.zarr"), "features": str(tmp_path / "env.npy")}
    out = _run(stores, inputs, model="env", features={"sfreq": SFREQ})
    ds = open_store(out["store"], "trf", load=True)
    assert list(ds[n.LAYER].values) == ["env"] and ds.sizes[n.FEATURE] == 1
    assert abs(float(ds["score"].mean())) < 0.1  # unrelated to the recording


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trf": {**CFG, "tmin": 0.0, "tmax": 30.0}}, r"trf\.tmin / trf\.tmax"),
        ({"trf": {**CFG, "n_folds": 200}}, r"lower trf\.n_folds"),
    ],
)
def test_bad_window_fails_before_writing(stores, change, message):
    inputs = {"brain": str(stores / "brain.zarr"), "activations": str(stores / "acts.zarr")}
    with pytest.raises(TRFError, match=message):
        _run(stores, inputs, **change)
    assert not list(stores.glob("out.*"))


def test_store_without_events_is_refused(stores, tmp_path):
    brain = open_store(stores / "brain.zarr", load=True)
    bare = brain.drop_vars([n.STIMULUS, n.CONDITION, n.ONSET])
    write_store(bare, tmp_path / "bare.zarr", kind="continuous")
    inputs = {"brain": str(tmp_path / "bare.zarr"), "activations": str(stores / "acts.zarr")}
    with pytest.raises(TRFError, match=r"no stimulus events.*'events'"):
        _run(stores, inputs)
    assert not list(stores.glob("out.*"))


def test_feature_file_errors(tmp_path):
    values = np.arange(200.0)
    np.save(tmp_path / "f.npy", values)
    kw = {"target_sfreq": 100.0, "n_times": 200, "key": "trf.features.env"}
    with pytest.raises(TRFError, match=r"50 Hz.*100 Hz.*trf\.features\.env\.resample: true"):
        read_feature_file(tmp_path / "f.npy", sfreq=50.0, **kw)
    resampled = read_feature_file(
        tmp_path / "f.npy", sfreq=50.0, resample=True, **{**kw, "n_times": 400}
    )
    assert resampled.attrs["resampled"] and resampled.values.shape == (400, 1)
    with pytest.raises(TRFError, match=r"gives 200 samples.*recording has 300"):
        read_feature_file(tmp_path / "f.npy", sfreq=100.0, **{**kw, "n_times": 300})
    values[7] = np.nan
    np.save(tmp_path / "nan.npy", values)
    with pytest.raises(TRFError, match=r"nan\.npy.*NaN/inf.*sample 7"):
        read_feature_file(tmp_path / "nan.npy", sfreq=100.0, **kw)
    pd.DataFrame({"env": np.ones(200), "word": ["a"] * 200}).to_csv(
        tmp_path / "f.tsv", sep="\t", index=False
    )
    with pytest.raises(TRFError, match="non-numeric"):
        read_feature_file(tmp_path / "f.tsv", sfreq=100.0, **kw)
    table = read_feature_file(tmp_path / "f.tsv", sfreq=100.0, columns=["env"], **kw)
    assert table.names == ["env"]


def test_config_checks_trf_datasets():
    from pathlib import Path

    import yaml

    from brainbridge.config import _trf_errors

    path = Path(__file__).parents[2] / "config" / "examples" / "simulation-trf.yaml"
    config = yaml.safe_load(path.read_text())
    assert _trf_errors(config, "c") == []
    config["trf"]["datasets"] = ["sim-eeg", "nope"]
    config["trf"]["features"] = {
        "simnet": {"dataset": "sim-eeg-continuous", "file": "env.npy", "sfreq": 100.0}
    }
    text = "\n".join(_trf_errors(config, "c"))
    assert "'trf.datasets.0': dataset 'sim-eeg' is not a continuous" in text
    assert "'trf.datasets.1': unknown dataset 'nope'" in text
    assert "'trf.features.simnet': a model has this name too" in text


def test_event_series_impulses_and_boxcars():
    rows = np.array([[1.0, 2.0], [3.0, -1.0]])
    impulses = event_series(np.array([0.1, 0.5]), rows, n_times=100, sfreq=SFREQ)
    assert np.flatnonzero(impulses[:, 0]).tolist() == [10, 50]
    np.testing.assert_array_equal(impulses[50], [3.0, -1.0])
    boxcars = event_series(np.array([0.1, 0.5]), rows, n_times=100, sfreq=SFREQ, duration=0.05)
    assert np.flatnonzero(boxcars[:, 0]).tolist() == [*range(10, 15), *range(50, 55)]
    with pytest.raises(TRFError, match=r"1 event onset\(s\) fall outside the recording"):
        event_series(np.array([0.1, 1.5]), rows, n_times=100, sfreq=SFREQ, where="rec")


def test_report_section_escapes_names(tmp_path):
    from brainbridge.report.trf import trf_section

    bad = "<script>x</script>"
    ds = xr.Dataset(
        {
            "weight": (("layer", "lag", "feature", "channel"), np.ones((1, 3, 2, 2))),
            "score": (("layer", "channel"), np.array([[0.1, 0.2]])),
            "fold_score": (("layer", "fold", "channel"), np.zeros((1, 2, 2))),
            "alpha": (("layer", "channel"), np.ones((1, 2))),
        },
        coords={
            "layer": [bad],
            "lag": [0.0, 0.01, 0.02],
            "feature": ["onset", bad],
            "channel": ["C1", bad],
            "fold": [0, 1],
        },
        attrs={"sfreq": 100.0, "scoring": "pearson", "n_folds": 2, "tmin": 0.0, "tmax": 0.02},
    )
    ds.attrs.update(dataset=bad, model="m")
    write_store(ds, tmp_path / "t.zarr", kind="trf")
    body = trf_section([tmp_path / "t.zarr"]).body
    assert "<script>" not in body and "&lt;script&gt;" in body
