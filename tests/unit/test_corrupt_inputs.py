"""Damaged input files are refused (or reported), never ingested in part: truncated EDF / BDF /
FIF / NIfTI files, gzip streams failing their CRC, impossible event onsets, unmapped event
codes, truncated stimulus images. Every message names the file."""

from __future__ import annotations

import gzip
import logging
import re

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from brainbridge.extract.stimuli import load_images
from brainbridge.ingest.fmri import ingest_fmri, plain_runs
from brainbridge.ingest.fmri.images import load_nifti
from brainbridge.ingest.fmri.rdms import read_rdm_file, write_rdm_npz
from brainbridge.ingest.meeg import IngestError, ingest_dataset, ingest_runs, read_raw
from brainbridge.integrity import CorruptFileError, gzip_length

CFG = {
    "source": "raw",
    "qc_psd": False,
    "preprocessing": {"tmin": -0.1, "tmax": 0.3, "baseline": None, "reference": "none"},
}


def _cut(src, dst, fraction):
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def _flip(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _named(path) -> str:
    return re.escape(str(path))


# ---------------------------------------------------------------- M/EEG recordings


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("rel", "fraction"),
    [("eegbci/S001/S001R04.edf", 1 / 3), ("mne-testing/BDF/test_bdf_stim_channel.bdf", 0.9)],
)
def test_truncated_edf_and_bdf_are_refused(shared_data, tmp_path, rel, fraction):
    src = shared_data / rel
    cut = _cut(src, tmp_path / f"cut{src.suffix}", fraction)
    with pytest.raises(IngestError, match=rf"{_named(cut)} is truncated: its header promises"):
        read_raw(cut)
    assert len(read_raw(src).times) > 0  # the whole file reads


def _fif(folder, name="rec_raw.fif"):
    rng = np.random.default_rng(0)
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz"], 100.0, "eeg")
    raw = mne.io.RawArray(rng.normal(0, 1e-5, (4, 3000)), info, verbose="error")
    raw.set_annotations(mne.Annotations([2.0, 5.0, 8.0], 0.0, ["a", "b", "a"]))
    raw.save(folder / name, overwrite=True, verbose="error")
    return folder / name


@pytest.mark.parametrize("fraction", [0.4, 0.999])
def test_truncated_fif_is_refused(tmp_path, fraction):
    cut = _cut(_fif(tmp_path), tmp_path / "cut_raw.fif", fraction)
    with pytest.raises(IngestError, match=rf"{_named(cut)} is truncated"):
        ingest_runs([cut], CFG)


def test_fif_cut_at_a_tag_boundary_is_refused(tmp_path):
    """A file cut between two tags has no overrunning tag, but its blocks stay open."""
    src = _fif(tmp_path)
    data, pos = src.read_bytes(), 0
    while pos < len(data) // 2:  # walk the tags to one that starts past the middle
        pos += 16 + int.from_bytes(data[pos + 8 : pos + 12], "big", signed=True)
    cut = tmp_path / "cut_raw.fif"
    cut.write_bytes(data[:pos])
    with pytest.raises(IngestError, match=rf"{_named(cut)} is truncated: .*never closed"):
        read_raw(cut)


def test_gzip_with_a_bad_crc_is_refused(tmp_path):
    src = _fif(tmp_path)
    packed = tmp_path / "rec_raw.fif.gz"
    packed.write_bytes(gzip.compress(src.read_bytes(), mtime=0))
    assert len(read_raw(packed).times) == 3000
    _flip(packed, packed.stat().st_size // 2)
    with pytest.raises(IngestError, match=rf"{_named(packed)}: gzip member 1 is damaged"):
        read_raw(packed)


def test_gzip_check_counts_members_and_catches_an_early_end(tmp_path):
    two = tmp_path / "two.gz"
    two.write_bytes(gzip.compress(b"abc") + gzip.compress(b"defg") + b"\0\0")
    assert gzip_length(two) == 7
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(bytes(range(256)) * 64)[:-20])
    with pytest.raises(CorruptFileError, match=rf"{_named(cut)}: the gzip stream ends early"):
        gzip_length(cut)


def test_event_before_the_recording_is_refused(tmp_path):
    src = _fif(tmp_path)
    raw = mne.io.read_raw(src, verbose="error")
    eve = tmp_path / "bad-eve.fif"
    first = raw.first_samp
    mne.write_events(eve, np.array([[first + 200, 0, 1], [first - 50, 0, 2]]), verbose="error")
    with pytest.raises(ValueError, match=rf"event file {_named(eve)} .*negative.*onset"):
        ingest_runs([src], {**CFG, "events": {"file": str(eve)}})
    cut = _cut(eve, tmp_path / "cut-eve.fif", 0.5)
    with pytest.raises(IngestError, match=rf"event file {_named(cut)} is truncated"):
        ingest_runs([src], {**CFG, "events": {"file": str(cut)}})


def test_unmapped_event_codes_are_counted_in_a_warning(tmp_path, caplog):
    src = _fif(tmp_path)
    cfg = {**CFG, "events": {"mapping": {"a": "x"}}}
    with caplog.at_level(logging.WARNING, logger="brainbridge.ingest.meeg.events"):
        ds, qc = ingest_runs([src], cfg)
    assert ds.sizes["trial"] == 2
    assert qc["runs"][0]["events_unmapped"] == {"b": 1}
    (message,) = [r.getMessage() for r in caplog.records]
    assert str(src) in message and "1 event(s) dropped" in message and "'b' x1" in message
    assert "events.ignore" in message
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="brainbridge.ingest.meeg.events"):
        _, qc = ingest_runs([src], {**CFG, "events": {"mapping": {"a": "x"}, "ignore": ["b"]}})
    assert not caplog.records and "events_unmapped" not in qc["runs"][0]


def test_negative_onset_in_bids_events_is_refused(tmp_path):
    """MNE would drop an annotation before the recording without a word; it is refused."""
    mne_bids = pytest.importorskip("mne_bids")
    rng = np.random.default_rng(0)
    info = mne.create_info(["M1", "M2", "M3", "M4"], 100.0, "mag")
    raw = mne.io.RawArray(rng.normal(0, 1e-12, (4, 3000)), info, verbose="error")
    raw.set_annotations(mne.Annotations([2.0, 5.0, 8.0], 0.0, ["a", "b", "a"]))
    raw.save(tmp_path / "rec_raw.fif", verbose="error")
    raw = mne.io.read_raw(tmp_path / "rec_raw.fif", verbose="error")
    path = mne_bids.BIDSPath(subject="01", task="x", root=tmp_path / "bids", datatype="meg")
    mne_bids.write_raw_bids(raw, path, format="FIF", verbose="error")
    bids = {"root": str(tmp_path / "bids"), "subject": 1, "task": "x", "datatype": "meg"}
    cfg = {**CFG, "source": "bids", "bids": bids}
    assert ingest_dataset([], cfg)[0].sizes["trial"] == 3
    events = next((tmp_path / "bids").rglob("*_events.tsv"))
    table = pd.read_csv(events, sep="\t")
    table.loc[1, "onset"] = -1.0
    table.to_csv(events, sep="\t", index=False)
    with pytest.raises(ValueError, match=rf"BIDS events {_named(events)}: 1 event.*row\(s\) \[1\]"):
        ingest_dataset([], cfg)


# ---------------------------------------------------------------- fMRI images and events


def _bold(folder, name="bold.nii"):
    rng = np.random.default_rng(1)
    img = nib.Nifti1Image((100 + rng.normal(size=(3, 3, 2, 40))).astype("f4"), np.eye(4))
    img.header["pixdim"][4] = 2.0
    nib.save(img, folder / name)
    pd.DataFrame(
        {"onset": [4.0, 20.0, 40.0], "duration": 2.0, "trial_type": ["a", "b", "a"]}
    ).to_csv(folder / "events.tsv", sep="\t", index=False)
    return folder / name


def test_truncated_nifti_is_refused(tmp_path):
    bold = _bold(tmp_path)
    cut = _cut(bold, tmp_path / "cut.nii", 0.6)
    with pytest.raises(ValueError, match=rf"BOLD run {_named(cut)} is truncated: its header"):
        ingest_fmri(plain_runs([cut], [tmp_path / "events.tsv"]), tr=2.0)
    stub = tmp_path / "stub.nii"
    stub.write_bytes(bold.read_bytes()[:100])  # not even a whole header
    with pytest.raises(ValueError, match=rf"BOLD run {_named(stub)} could not be read"):
        load_nifti(stub, "BOLD run")


def test_nii_gz_with_a_bad_crc_is_refused(tmp_path):
    bold = _bold(tmp_path, "bold.nii.gz")
    good = ingest_fmri(plain_runs([bold], [tmp_path / "events.tsv"]), tr=2.0)
    assert good.sizes["trial"] == 3
    _flip(bold, bold.stat().st_size // 2)
    with pytest.raises(ValueError, match=rf"BOLD run {_named(bold)}: gzip member 1 is damaged"):
        ingest_fmri(plain_runs([bold], [tmp_path / "events.tsv"]), tr=2.0)


@pytest.mark.parametrize("onset", ["-2.0", "n/a", "inf"])
def test_negative_or_missing_fmri_onsets_are_refused(tmp_path, onset):
    bold = _bold(tmp_path)
    events = tmp_path / "events.tsv"
    events.write_text(f"onset\tduration\ttrial_type\n4.0\t2.0\ta\n{onset}\t2.0\tb\n")
    with pytest.raises(ValueError, match=rf"events {_named(events)}: 1 event.*onset \(row"):
        ingest_fmri(plain_runs([bold], [events]), tr=2.0)


# ---------------------------------------------------------------- stimulus images


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_stimulus_image_is_named(tmp_path, suffix):
    rng = np.random.default_rng(2)
    path = tmp_path / f"stim{suffix}"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    cut = _cut(path, tmp_path / f"cut{suffix}", 0.5)
    norm = {"size": 32, "mean": [0.5] * 3, "std": [0.5] * 3}
    assert load_images([str(path)], **norm).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match=rf"image stimulus {_named(cut)} could not be read"):
        load_images([str(cut)], **norm)


# ---------------------------------------------------------------- tables and RDM files


def test_unparsable_tables_are_named(tmp_path):
    bold = _bold(tmp_path)
    events = tmp_path / "events.tsv"
    events.write_text('onset\tduration\ttrial_type\n4.0\t2.0\t"a\n')
    with pytest.raises(ValueError, match=rf"events {_named(events)} is not a readable tab-sep"):
        ingest_fmri(plain_runs([bold], [events]), tr=2.0)
    events.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"events {_named(events)} is not a readable"):
        ingest_fmri(plain_runs([bold], [events]), tr=2.0)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_rdm_npz_is_named(tmp_path, damage):
    rdms = np.abs(np.random.default_rng(5).normal(size=(3, 8, 8)))
    path = write_rdm_npz(tmp_path / "rdms.npz", rdms + rdms.transpose(0, 2, 1), list("abcdefgh"))
    assert read_rdm_file(path)[0].shape == (3, 8, 8)
    if damage == "truncate":
        path = _cut(path, tmp_path / "cut.npz", 0.5)
    else:  # a byte of the RDM values: the zip member fails its CRC-32
        _flip(path, 200)
    with pytest.raises(ValueError, match=rf"RDM file {_named(path)} could not be read"):
        read_rdm_file(path)
