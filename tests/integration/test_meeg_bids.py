"""BIDS ingestion end to end on a real EEGBCI run written as a BIDS dataset with mne-bids.

The dataset is written once per module: run 4 of S001 as ``run-04`` (zero-padded, while the
config says ``runs: [4]``), one channel marked bad in channels.tsv, and events.tsv edited after
writing (trial types renamed, one trial removed) so that the test can tell events.tsv from the
EDF's own annotations.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.realdata

mne = pytest.importorskip("mne")
mne_bids = pytest.importorskip("mne_bids")

from brainbridge.ingest.meeg.bids import bids_paths  # noqa: E402
from brainbridge.steps.ingestion import ingest_recording  # noqa: E402
from brainbridge.store import open_store  # noqa: E402

BAD = "Fc5."  # EEGBCI name in the recording; ``standardize: eegbci`` makes it FC5
BAD_STD = "FC5"
RENAME = {"T1": "left_fist", "T2": "right_fist"}


@pytest.fixture(scope="module")
def bids_root(shared_data: Path, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    src = shared_data / "eegbci" / "S001" / "S001R04.edf"
    if not src.exists():
        pytest.skip(f"{src} absent")
    root = tmp_path_factory.mktemp("bids")
    raw = mne.io.read_raw(src, verbose="error")
    path = mne_bids.BIDSPath(subject="01", task="imagery", run="04", datatype="eeg", root=root)
    mne_bids.write_raw_bids(raw, path, overwrite=True, verbose="error")
    mne_bids.mark_channels(
        path, ch_names=[BAD], status="bad", descriptions=["test: marked bad"], verbose="error"
    )
    events_tsv = path.copy().update(suffix="events", extension=".tsv").fpath
    table = pd.read_csv(events_tsv, sep="\t", dtype={"trial_type": str})
    assert set(table["trial_type"]) == {"T0", "T1", "T2"}
    first_t1 = table.index[table["trial_type"] == "T1"][0]
    table = table.drop(index=first_t1).reset_index(drop=True)
    table["trial_type"] = table["trial_type"].replace(RENAME)
    table.to_csv(events_tsv, sep="\t", index=False, na_rep="n/a")
    return root, table


def _cfg(root: Path, *, interpolate: bool) -> dict:
    return {
        "name": "bids-eegbci",
        "modality": "eeg",
        "source": "bids",
        "bids": {"root": str(root), "subject": 1, "task": "imagery", "runs": [4]},
        "channels": {"standardize": "eegbci", "montage": "colin27_1005"},
        "events": {
            "mapping": {
                "left_fist": {"stimulus": "left", "condition": "imagery-left"},
                "right_fist": {"stimulus": "right", "condition": "imagery-right"},
            },
            "ignore": ["T0"],
        },
        "preprocessing": {
            "bads": {"detect": False, "interpolate": interpolate},
            "reference": "average",
            "tmin": 0.0,
            "tmax": 1.0,
            "baseline": None,
        },
        "qc_psd": False,
    }


def test_bids_paths_match_numeric_labels(bids_root):
    root, _ = bids_root
    paths = bids_paths({"root": str(root), "subject": 1, "task": "imagery", "runs": [4]})
    assert [p.fpath.name for p in paths] == ["sub-01_task-imagery_run-04_eeg.edf"]
    with pytest.raises(Exception, match="run 5"):
        bids_paths({"root": str(root), "subject": "01", "task": "imagery", "runs": [5]})


@pytest.mark.parametrize("interpolate", [True, False])
def test_bids_ingestion(bids_root, tmp_path, interpolate):
    root, table = bids_root
    out = {"store": tmp_path / "brain.zarr", "qc": tmp_path / "brain.qc.json"}
    ingest_recording({"files": []}, out, _cfg(root, interpolate=interpolate))
    ds = open_store(out["store"], "epochs", load=True, values=True)
    qc = json.loads(out["qc"].read_text())

    trials = table[table["trial_type"].isin(RENAME.values())].reset_index(drop=True)
    assert ds.sizes["trial"] == len(trials) == 14  # 15 in the EDF, one removed from events.tsv
    expected = trials["trial_type"].map({"left_fist": "left", "right_fist": "right"})
    np.testing.assert_array_equal(ds["stimulus"].values.astype(str), expected.to_numpy())
    np.testing.assert_array_equal(
        ds["condition"].values.astype(str), ("imagery-" + expected).to_numpy()
    )
    np.testing.assert_allclose(ds["onset"].values, trials["onset"].to_numpy(), atol=1e-2)
    assert set(ds["run"].values.astype(str)) == {"04"}
    assert ds.attrs["sfreq"] == 160.0
    assert ds.sizes["time"] == 161  # 0..1 s at 160 Hz

    (run,) = qc["runs"]
    assert run["sfreq"] == 160.0
    assert run["n_events"] == len(trials)
    assert BAD_STD in run["bad_channels"]
    channels = list(ds["channel"].values.astype(str))
    if interpolate:
        assert run["interpolated_channels"] == [BAD_STD]
        assert len(channels) == 64 and BAD_STD in channels
        assert np.isfinite(ds["data"].sel(channel=BAD_STD).values).all()
        assert float(ds["data"].sel(channel=BAD_STD).std()) > 0
    else:
        assert "interpolated_channels" not in run
        assert run["dropped_channels"] == {BAD_STD: "bad, dropped"}
        assert len(channels) == 63 and BAD_STD not in channels
    assert qc["epochs"]["kept"] == len(trials)
