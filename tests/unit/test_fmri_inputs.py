"""Bad fMRI inputs: clear errors naming the file and the fix, and no partial store."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brainbridge.ingest.fmri import ingest_fmri, plain_runs
from brainbridge.steps.ingestion import ingest_fmri as ingest_step


def _files(folder, *, header_tr=1.0, affine=None, nan=False, atlas_values=(1, 1, 2, 2)):
    rng = np.random.default_rng(0)
    n_scans = 60
    data = 100 + rng.standard_normal((2, 2, 1, n_scans)).astype("f4")
    if nan:
        data[0, 0, 0, 5] = np.nan
    img = nib.Nifti1Image(data, np.eye(4))
    img.header["pixdim"][4] = header_tr
    nib.save(img, folder / "bold.nii.gz")
    pd.DataFrame({"onset": [5.0, 25.0], "duration": 1.0, "stimulus": ["a", "b"]}).to_csv(
        folder / "events.tsv", sep="\t", index=False
    )
    atlas = np.array(atlas_values, "i2").reshape(2, 2, 1)
    nib.save(
        nib.Nifti1Image(atlas, np.eye(4) if affine is None else affine), folder / "atlas.nii.gz"
    )
    pd.DataFrame({"index": [1, 2], "name": ["A", "B"]}).to_csv(
        folder / "labels.tsv", sep="\t", index=False
    )
    return {
        "bold": [folder / "bold.nii.gz"],
        "events": [folder / "events.tsv"],
        "atlas": folder / "atlas.nii.gz",
        "atlas_labels": folder / "labels.tsv",
    }


def _step(inputs, folder):
    out = folder / "out.zarr"
    try:
        ingest_step(inputs, {"store": out}, {"name": "x", "tr": 1.0})
    finally:
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith((".out", "out"))]
    return out, leftovers


def _fails(inputs, folder, match):
    with pytest.raises(ValueError, match=match):
        _step(inputs, folder)
    assert not any(p.name.startswith((".out", "out")) for p in folder.iterdir())  # no partial store


def test_tr_mismatch_names_the_file(tmp_path):
    _fails(
        _files(tmp_path, header_tr=2.0),
        tmp_path,
        r"bold\.nii\.gz: header TR 2\.0 s differs.*fix the config",
    )


def test_events_past_the_end(tmp_path):
    inputs = _files(tmp_path)
    pd.DataFrame({"onset": [5.0, 59.5], "duration": 4.0, "stimulus": ["a", "b"]}).to_csv(
        tmp_path / "events.tsv", sep="\t", index=False
    )
    _fails(inputs, tmp_path, r"events\.tsv: 1 event\(s\) start or end after the end.*check the TR")


def test_empty_mask(tmp_path):
    _fails(
        _files(tmp_path, atlas_values=(0, 0, 0, 0)),
        tmp_path,
        r"atlas\.nii\.gz has no labelled voxel",
    )


def test_nan_voxels(tmp_path):
    _fails(
        _files(tmp_path, nan=True),
        tmp_path,
        r"bold\.nii\.gz: 1 voxel\(s\) in the mask hold NaN.*mask them out",
    )


def test_missing_events(tmp_path):
    inputs = _files(tmp_path)
    inputs.pop("events")
    _fails(inputs, tmp_path, "no events given")


def test_atlas_on_another_grid_is_resampled_with_a_warning(tmp_path):
    affine = np.diag([0.5, 0.5, 1.0, 1.0])  # half-size voxels: a 1 x 1 mm corner of the BOLD grid
    inputs = _files(tmp_path, affine=affine)
    atlas = np.ones((4, 4, 1), "i2")
    atlas[2:] = 2
    nib.save(nib.Nifti1Image(atlas, affine), tmp_path / "atlas.nii.gz")
    with pytest.warns(UserWarning, match=r"atlas\.nii\.gz .* not on the grid .*resampled"):
        ds = ingest_fmri(
            plain_runs(inputs["bold"], inputs["events"]),
            regions={"atlas": inputs["atlas"], "atlas_labels": inputs["atlas_labels"]},
            tr=1.0,
        )
    assert ds["data"].shape[0] == 2 and set(ds["region"].values) <= {"A", "B"}


def test_step_writes_a_store(tmp_path):
    out, _ = _step(_files(tmp_path), tmp_path)
    assert out.exists()
