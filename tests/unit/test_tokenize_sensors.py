"""Sensors of the sensor-aware tokenizer from ingested stores: MEG coil orientations (unit
normals, not zeros) and EEG positions from a montage file when the recording has none."""

from __future__ import annotations

import mne
import numpy as np
import pytest
import torch
from tokenizer_fixtures import TINY_SENSOR, epochs_store

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


# the 32 electrode labels of the EEGLAB tutorial cap, used here only to place the test file's
# channels (EEG 000 ... EEG 031, which carry no positions) on a head for the montage file
CAP = ["FPz", "EOG1", "F3", "Fz", "F4", "EOG2", "FC5", "FC1", "FC2", "FC6", "T7", "C3", "C4",
       "Cz", "T8", "CP5", "CP1", "CP2", "CP6", "P7", "P3", "Pz", "P4", "P8", "PO7", "PO3", "POz",
       "PO4", "PO8", "O1", "Oz", "O2"]  # fmt: skip


def _montage_file(path, names):
    standard = mne.channels.make_standard_montage("colin27_1005").get_positions()["ch_pos"]
    lower = {k.lower(): v for k, v in standard.items()}
    fallback = {"eog1": "fp1", "eog2": "fp2"}
    pos = {name: lower[fallback.get(c.lower(), c.lower())] for name, c in zip(names, CAP)}
    mne.channels.make_dig_montage(ch_pos=pos, coord_frame="head").save(path, verbose="error")
    return path


@pytest.mark.realdata
def test_eeglab_recording_tokenized_through_a_montage_file(shared_data, tmp_path):
    """The 32-channel EEGLAB file has no positions: refused without a montage; with
    ``channels.montage`` (a montage file for its channel names) a sensor tokenizer trained on
    another montage (4 channels) codes it through positions."""
    eeglab = str(shared_data / "mne-testing" / "EEGLAB" / "test_raw.set")
    pre = {"reference": "none", "resample": 100.0}
    cfg = {"modality": "eeg", "store": "continuous", "preprocessing": pre}
    trained = train([epochs_store(tmp_path / "fit.zarr")], TINY_SENSOR, name="s", seed=0)
    config = trained.meta["config"]

    names = [f"EEG {i:03d}" for i in range(32)]
    montage = _montage_file(tmp_path / "cap-dig.fif", names)
    placed, _ = ingest_dataset([eeglab], {**cfg, "channels": {"montage": str(montage)}})
    write_store(placed, tmp_path / "placed.zarr", kind="continuous")
    # what ingesting without a montage gives: no positions (zeros), refused
    bare = placed.assign_coords({n.POSITION: placed[n.POSITION] * 0})
    write_store(bare, tmp_path / "bare.zarr", kind="continuous")
    with pytest.raises(TokenizerDataError, match=r"no sensor position.*montage"):
        open_source(tmp_path / "bare.zarr", config, name="s")
    src = open_source(tmp_path / "placed.zarr", config, name="s")
    assert len(src.channels) == 32 and len(np.unique(src.positions.round(6), axis=0)) == 32
    tokens = tokenize(trained.model, trained.meta, src)
    assert tokens["codes"].dims == ("segment", "source", "token", "level")
    assert tokens["codes"].shape[1:] == (4, 5, 2) and tokens.sizes["segment"] > 400

    missing = {**cfg, "channels": {"montage": str(tmp_path / "nope.elc")}}
    with pytest.raises(IngestError, match=r"nope\.elc \(channels\.montage\) does not exist"):
        ingest_dataset([eeglab], missing)
