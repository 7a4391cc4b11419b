"""Real fMRI: Haxby 2001 subject 1 (12 runs, block betas), decoding, category RDMs; the
precomputed hIT RDMs of Kriegeskorte et al. (2008); a 4D run without events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainbridge.align import RDMVectors
from brainbridge.align.categories import category_rdm
from brainbridge.decode import decode_categories
from brainbridge.ingest.fmri import (
    ingest_fmri,
    plain_runs,
    read_rdm_mat,
    write_rdm_npz,
)
from brainbridge.steps.ingestion import ingest_fmri as ingest_step
from brainbridge.store import open_store, validate

pytestmark = pytest.mark.realdata

CATEGORIES = {"bottle", "cat", "chair", "face", "house", "scissors", "scrambledpix", "shoe"}


@pytest.fixture(scope="module")
def haxby(shared_data, tmp_path_factory):
    root = shared_data / "fmri" / "haxby2001" / "sub001"
    runs = [root / f"run{r:02d}" for r in range(1, 13)]
    out = tmp_path_factory.mktemp("haxby") / "haxby.zarr"
    inputs = {
        "bold": [r / "bold_1slice.nii.gz" for r in runs],
        "events": [r / "bold_events.tsv" for r in runs],
    }
    params = {"name": "haxby-sub001", "tr": 2.5, "glm": {"estimator": "lsa", "high_pass": 0.008}}
    ingest_step(inputs, {"store": out}, params)
    return open_store(out, "responses")


def test_haxby_block_betas(haxby):
    validate(haxby, "responses")
    assert haxby["data"].shape[0] == 12 * 8  # one beta per 22.5 s block
    assert set(haxby["condition"].values) == CATEGORIES
    assert sorted(set(haxby["run"].values), key=int) == [str(r) for r in range(1, 13)]
    assert np.isfinite(haxby["data"].values).all()


def test_haxby_category_decoding_above_chance(haxby):
    result = decode_categories(haxby, n_permutations=50, seed=0)
    print(f"haxby LORO decoding: {result}")
    assert result["accuracy"] > result["chance"] + 0.1
    assert result["p_value"] < 0.05


def test_haxby_category_rdm(haxby, tmp_path):
    rdm, labels = category_rdm(haxby)
    assert rdm.shape == (8, 8) and set(labels) == CATEGORIES
    np.testing.assert_allclose(rdm, rdm.T)
    assert np.all(np.diag(rdm) == 0) and np.all(rdm[~np.eye(8, dtype=bool)] > 0)
    path = write_rdm_npz(tmp_path / "haxby.rdm.npz", rdm, labels)
    with np.load(path) as saved:
        vectors = RDMVectors.from_square(saved["rdms"])
        assert vectors.n_stimuli == 8 and saved["labels"].tolist() == labels.tolist()


def test_haxby_lss_betas_decode_categories(shared_data):
    root = shared_data / "fmri" / "haxby2001" / "sub001"
    runs = [root / f"run{r:02d}" for r in range(1, 13)]
    ds = ingest_fmri(
        plain_runs([r / "bold_1slice.nii.gz" for r in runs], [r / "bold_events.tsv" for r in runs]),
        tr=2.5,
        regions={"mask": "nonzero"},  # one slice: nilearn's background mask keeps it all
        glm={"estimator": "lss", "high_pass": 0.008},
        cleaning={"standardize": "psc"},
    )
    assert ds.attrs["estimator"] == "LSS" and ds["data"].shape[0] == 12 * 8
    result = decode_categories(ds, n_permutations=50, seed=0)
    print(f"haxby LSS LORO decoding: {result}")
    assert result["accuracy"] > result["chance"] + 0.1 and result["p_value"] < 0.05


def test_functional_without_events_says_events_are_needed(shared_data, tmp_path):
    out = tmp_path / "functional.zarr"
    with pytest.raises(ValueError, match=r"no events given.*one events TSV per run"):
        ingest_step(
            {"bold": [shared_data / "fmri" / "functional.nii.gz"]},
            {"store": out},
            {"name": "functional", "tr": 2.0},
        )
    assert not out.exists()


def test_functional_crop_with_fsaverage_aseg_parcels(shared_data, tmp_path):
    """A real 4D crop (TR 2 s, 20 volumes) with made-up blocks: aseg parcels, averages."""
    events = tmp_path / "events.tsv"
    pd.DataFrame(
        {"onset": [0.0, 10.0, 20.0, 30.0], "duration": 4.0, "trial_type": ["a", "b", "a", "b"]}
    ).to_csv(events, sep="\t", index=False)
    with pytest.warns(UserWarning, match=r"aseg\.mgz .* resampled"):
        ds = ingest_fmri(
            plain_runs([shared_data / "fmri" / "functional.nii.gz"], [events]),
            tr=2.0,
            regions={
                "atlas": shared_data / "atlas" / "fsaverage" / "aseg.mgz",
                "atlas_labels": "freesurfer",
                "level": "parcel",
            },
            cleaning={"smoothing_fwhm": 6.0, "standardize": "psc", "detrend": True},
            response={"type": "average", "window": [4.0, 8.0]},
        )
    validate(ds, "responses")
    assert ds["data"].dims == ("trial", "parcel") and ds.sizes["trial"] == 4
    regions = set(ds["region"].values.tolist())
    assert {"Left-Thalamus-Proper", "Right-Putamen", "Left-Lateral-Ventricle"} <= regions
    assert ds.attrs["units"] == "mean BOLD (% signal change)"
    assert np.all(np.abs(ds["data"].values) < 20)  # percent signal change of real BOLD


def test_precomputed_hit_rdms(shared_data):
    rdms, names = read_rdm_mat(shared_data / "rsa92" / "92_brainRDMs.mat")
    assert rdms.shape == (4, 2, 92, 92) and names.shape == (4, 2)
    assert names[0, 1].startswith("hIT") and "Session: 2" in names[0, 1]
    np.testing.assert_allclose(rdms, np.swapaxes(rdms, -1, -2))
    assert np.all(np.diagonal(rdms, axis1=-2, axis2=-1) == 0)
    vectors = RDMVectors.from_square(rdms)
    assert vectors.vectors.shape == (4, 2, 92 * 91 // 2) and vectors.n_stimuli == 92
