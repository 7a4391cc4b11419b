"""Sensors of the sensor-aware tokenizer from ingested stores: MEG coil orientations (unit
normals, not zeros) and EEG positions from a montage file when the recording has none."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest
import torch
import yaml
from tokenizer_fixtures import TINY_SENSOR

from brainbridge.ingest.meeg import ingest_dataset
from brainbridge.ingest.meeg.epochs import raw_to_dataset
from brainbridge.ingest.meeg.errors import IngestError
from brainbridge.store import names as n
from brainbridge.store import write_store
from brainbridge.tokenize import TokenizerDataError, open_source, tokenize, train

torch.set_num_threads(1)


def _unit_normals(orientation: np.ndarray) -> bool:
    return np.allclose(np.linalg.norm(orientation, axis=1), 1.0)


def test_meg_orientations_are_unit_coil_normals(tmp_path):
    info = mne.create_info(["M1", "M2", "G1", "E1"], 100.0, ["mag", "mag", "grad", "eeg"])
    normals = np.array([[0.0, 0.0, 2.0], [0.0, 3.0, 4.0], [1.0, 0.0, 0.0]])
    for ch, normal in zip(info["chs"][:3], normals):
        ch["loc"][:3] = [0.0, 0.0, 0.12]
        ch["loc"][9:12] = normal
    info["chs"][3]["loc"][:3] = [0.05, 0.0, 0.08]
    raw = mne.io.RawArray(np.random.default_rng(0).normal(size=(4, 500)) * 1e-12, info)
    ds = raw_to_dataset(raw, modality="meg")
    orientation = ds[n.ORIENTATION].values
    assert np.allclose(orientation[:3], normals / np.linalg.norm(normals, axis=1)[:, None])
    assert np.array_equal(orientation[3], np.zeros(3))  # EEG: no orientation
    path = tmp_path / "meg.zarr"
    write_store(ds, path, kind="continuous")
    sensors = open_source(path, {**TINY_SENSOR, "kind": "sensor"}).sensors()
    assert _unit_normals(sensors.orientations[:3].numpy())


@pytest.mark.realdata
def test_elekta_meg_store_keeps_coil_normals(shared_data, tmp_path):
    raw_file = shared_data / "mne-testing" / "MEG" / "test_elekta_3ch_raw.fif"
    cfg = {"modality": "meg", "store": "continuous", "preprocessing": {"reference": "none"}}
    ds, _ = ingest_dataset([str(raw_file)], cfg)
    meg = np.isin(ds[n.CH_TYPE].values.astype(str), ["mag", "grad"])
    assert meg.any() and _unit_normals(ds[n.ORIENTATION].values[meg])
    info = mne.io.read_info(raw_file, verbose="error")
    for name, normal in zip(ds[n.CHANNEL].values[meg], ds[n.ORIENTATION].values[meg]):
        loc = info["chs"][info["ch_names"].index(str(name))]["loc"]
        assert np.allclose(normal, loc[9:12] / np.linalg.norm(loc[9:12]))


# How the EEGLAB test recording (channels EEG 000 ... EEG 031, no positions) is placed by its
# channel labels; the file says where the labels come from.
EEGLAB_CHANNELS = yaml.safe_load(
    (Path(__file__).parents[2] / "config/examples/channels/eeglab-test-raw.yaml").read_text()
)
EEGLAB_LABELS = list(EEGLAB_CHANNELS["rename"].values())
TEMPLATE = EEGLAB_CHANNELS["montage"]  # the EEGBCI store is placed with the same template
SMALL_SENSOR = {
    "kind": "sensor", "sfreq": 160.0, "segment": 160, "patch": 16, "dim": 16, "heads": 2,
    "codebook_size": 16, "codebook_dim": 4, "n_sources": 4, "levels": 2, "epochs": 1,
    "batch_size": 8, "max_windows": 32,
}  # fmt: skip


def _eeglab_channels(*, types: bool = True, montage: bool = True) -> dict:
    cfg: dict = {"rename": dict(EEGLAB_CHANNELS["rename"])}
    if types:
        cfg["types"] = dict(EEGLAB_CHANNELS["types"])
    if montage:
        cfg["montage"] = EEGLAB_CHANNELS["montage"]
    return cfg


def _ingest(files, cfg: dict, path):
    ds, _ = ingest_dataset([str(f) for f in files], cfg)
    write_store(ds, path, kind="continuous")
    return ds


@pytest.mark.realdata
def test_eegbci_tokenizer_codes_the_eeglab_cap_through_its_label_positions(shared_data, tmp_path):
    """A sensor tokenizer trained on the 64 EEGBCI channels codes the 32-channel EEGLAB
    recording, placed by its channel labels (EOG typed eog and left out), through positions:
    the same label gets the same position in both montages. Refused at the recording's own
    rate, without positions, with EOG left as EEG or with unknown channels, naming the fix."""
    eegbci = shared_data / "eegbci" / "S001" / "S001R04.edf"
    eeglab = shared_data / "mne-testing" / "EEGLAB" / "test_raw.set"
    ref = {"reference": "average"}
    fit = _ingest(
        [eegbci],
        {"modality": "eeg", "store": "continuous", "preprocessing": ref,
         "channels": {"standardize": "eegbci", "montage": TEMPLATE}},
        tmp_path / "eegbci.zarr",
    )  # fmt: skip
    trained = train([tmp_path / "eegbci.zarr"], SMALL_SENSOR, name="eegbci-sensor", seed=0)
    config = trained.meta["config"]
    assert trained.meta["scales"].keys() == {"eeg"} and fit.sizes[n.CHANNEL] == 64

    cfg = {"modality": "eeg", "store": "continuous", "preprocessing": {**ref, "resample": 160.0}}
    placed = _ingest([eeglab], {**cfg, "channels": _eeglab_channels()}, tmp_path / "cap.zarr")
    scalp = [c for c in EEGLAB_LABELS if not c.startswith("EOG")]
    assert list(placed[n.CHANNEL].values) == scalp  # EOG1 / EOG2 typed eog: not in the store
    assert set(placed[n.CH_TYPE].values) == {"eeg"}
    src = open_source(tmp_path / "cap.zarr", config, name="eegbci-sensor")
    # every label sits where the EEGBCI montage puts the same label (same template)
    where = {str(c).lower(): p for c, p in zip(fit[n.CHANNEL].values, fit[n.POSITION].values)}
    expected = np.array([where[c.lower()] for c in scalp])
    assert np.allclose(src.positions, expected, atol=1e-9)
    assert np.allclose(src.sensors().positions.numpy(), expected, atol=1e-6)
    assert len(np.unique(expected.round(6), axis=0)) == 30
    radius = np.linalg.norm(expected, axis=1)
    assert np.all((radius > 0.05) & (radius < 0.15))  # on a head, in metres
    tokens = tokenize(trained.model, trained.meta, src)
    assert tokens["codes"].dims == ("segment", "source", "token", "level")
    assert tokens["codes"].shape == (placed.sizes[n.TIME] // 160, 4, 10, 2)

    own_rate = tmp_path / "cap-128hz.zarr"
    _ingest([eeglab], {**cfg, "preprocessing": ref, "channels": _eeglab_channels()}, own_rate)
    with pytest.raises(TokenizerDataError, match=r"128 Hz.*preprocessing\.resample: 160") as err:
        open_source(own_rate, config, name="eegbci-sensor")
    assert str(own_rate) in str(err.value)
    bare = tmp_path / "cap-bare.zarr"
    _ingest([eeglab], {**cfg, "channels": _eeglab_channels(montage=False)}, bare)
    with pytest.raises(TokenizerDataError, match=r"no sensor position.*channels\.montage") as err:
        open_source(bare, config, name="eegbci-sensor")
    assert str(bare) in str(err.value) and "FPz" in str(err.value)

    with pytest.raises(IngestError, match=r"test_raw\.set.*EOG1.*channels\.types"):
        ingest_dataset([str(eeglab)], {**cfg, "channels": _eeglab_channels(types=False)})
    typo = {**_eeglab_channels(), "types": {"EOG1": "eog", "EOG3": "eog"}}
    with pytest.raises(IngestError, match=r"test_raw\.set.*unknown channel.*EOG3"):
        ingest_dataset([str(eeglab)], {**cfg, "channels": typo})
    missing = {**cfg, "channels": _eeglab_channels(montage=False)}
    missing["channels"]["montage"] = str(tmp_path / "nope.elc")
    with pytest.raises(IngestError, match=r"nope\.elc \(channels\.montage\) does not exist"):
        ingest_dataset([str(eeglab)], missing)
