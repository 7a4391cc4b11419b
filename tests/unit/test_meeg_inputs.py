"""Bad M/EEG input is refused with a message naming the file or key and the fix."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from brainbridge.ingest.meeg import IngestError, ingest_runs

SFREQ = 100.0


def _raw_file(folder, *, events=True, names=("Fz", "Cz", "Pz", "Oz"), duplicate=False):
    rng = np.random.default_rng(0)
    info = mne.create_info(list(names), SFREQ, "eeg")
    raw = mne.io.RawArray(rng.normal(0, 1e-5, (len(names), 2000)), info, verbose="error")
    if events:
        onsets = [2.0, 5.0, 8.0, 11.0] + ([5.0] if duplicate else [])
        raw.set_annotations(
            mne.Annotations(onsets, 0.0, ["a", "b", "a", "b"][:4] + (["b"] if duplicate else []))
        )
    path = folder / "rec_raw.fif"
    raw.save(path, overwrite=True, verbose="error")
    return path


CFG = {
    "source": "raw",
    "qc_psd": False,
    "preprocessing": {"tmin": -0.1, "tmax": 0.3, "baseline": None, "reference": "none"},
}


def test_good_file_gives_labelled_epochs(tmp_path):
    ds, qc = ingest_runs([_raw_file(tmp_path)], {**CFG, "events": {"mapping": {"a": "x"}}})
    assert ds.sizes["trial"] == 2 and set(ds["stimulus"].values) == {"x"}
    assert qc["epochs"]["kept"] == 2


def test_truncated_file(tmp_path):
    path = _raw_file(tmp_path)
    cut = tmp_path / "cut_raw.fif"
    cut.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(IngestError, match=r"cut_raw\.fif.*truncated"):
        ingest_runs([cut], CFG)


def test_no_events(tmp_path):
    with pytest.raises(IngestError, match=r"rec_raw\.fif: no events.*continuous"):
        ingest_runs([_raw_file(tmp_path, events=False)], CFG)


def test_unknown_channel(tmp_path):
    cfg = {**CFG, "channels": {"types": {"EOG1": "eog"}}}
    with pytest.raises(IngestError, match=r"unknown channel name.*EOG1"):
        ingest_runs([_raw_file(tmp_path)], cfg)


def test_montage_that_does_not_fit(tmp_path):
    path = _raw_file(tmp_path, names=("Fz", "Cz", "Pz", "XX9"))
    cfg = {**CFG, "channels": {"montage": "colin27_1020"}}
    with pytest.raises(IngestError, match=r"does not fit.*XX9"):
        ingest_runs([path], cfg)


def test_duplicate_events(tmp_path):
    path = _raw_file(tmp_path, duplicate=True)
    with pytest.raises(IngestError, match=r"share a sample.*duplicates: drop"):
        ingest_runs([path], CFG)
    ds, _ = ingest_runs([path], {**CFG, "events": {"duplicates": "drop"}})
    assert ds.sizes["trial"] == 4


def test_stimulus_ids_that_match_nothing(tmp_path):
    cfg = {**CFG, "events": {"mapping": {"T9": "left"}}}
    with pytest.raises(IngestError, match=r"none of the event keys.*match the mapping"):
        ingest_runs([_raw_file(tmp_path)], cfg)


def test_no_partial_store(tmp_path):
    from brainbridge.steps.ingestion import ingest_recording

    out = tmp_path / "out.zarr"
    with pytest.raises(IngestError):
        ingest_recording(
            {"files": [str(_raw_file(tmp_path, events=False))]},
            {"store": str(out), "qc": str(tmp_path / "out.qc.json")},
            {**CFG, "name": "x"},
        )
    assert not out.exists() and not (tmp_path / "out.qc.json").exists()


def test_qc_record_reaches_the_report(tmp_path):
    """The QC record (bad channels, dropped epochs, PSD) is shown as a report section."""
    from brainbridge.ingest.meeg.qc import write_qc
    from brainbridge.report.qc import read_qc_records
    from brainbridge.steps.ingestion import qc_report

    cfg = {**CFG, "qc_psd": True, "events": {"mapping": {"a": "x", "b": "y"}}}
    _, qc = ingest_runs([_raw_file(tmp_path)], cfg)
    qc["dataset"] = "rec"
    write_qc(qc, tmp_path / "rec.qc.json")
    assert read_qc_records([tmp_path / "rec.qc.json"])["rec"]["epochs"]["kept"] == 4
    qc_report({"qc": [str(tmp_path / "rec.qc.json")]}, {"html": str(tmp_path / "qc.html")}, {})
    html = (tmp_path / "qc.html").read_text()
    assert "rec" in html and "data:image/png;base64," in html
