"""Regions of fMRI stores: masks, atlases (files, FreeSurfer names, nilearn), ROIs, parcels."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from brainbridge.ingest.fmri import build_regions, ingest_fmri, plain_runs
from brainbridge.ingest.fmri.regions import parcel_means, voxel_positions
from brainbridge.store import validate

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _img(data, affine=AFFINE):
    return nib.Nifti1Image(np.asarray(data), affine)


@pytest.fixture
def bold():
    rng = np.random.default_rng(0)
    data = 100 + rng.standard_normal((4, 4, 2, 30)).astype("f4")
    data[0] = 0.0  # background: one slab of zeros
    img = _img(data)
    img.header["pixdim"][4] = 1.0
    return img


def _save(tmp_path, name, data, affine=AFFINE):
    path = tmp_path / name
    nib.save(_img(np.asarray(data, "i2"), affine), path)
    return path


def test_default_mask_drops_the_background():
    data = np.zeros((6, 6, 4, 10), "f4")
    data[1:-1, 1:-1] = 100 + np.random.default_rng(0).standard_normal((4, 4, 4, 10))
    regions = build_regions(None, _img(data), "bold.nii")
    assert regions.voxel_region.tolist() == ["brain"] * (4 * 4 * 4)
    assert regions.level == "voxel"


def test_atlas_with_a_label_table(bold, tmp_path):
    labels = np.zeros((4, 4, 2))
    labels[1:3] = 1
    labels[3] = 2
    atlas = _save(tmp_path, "atlas.nii.gz", labels)
    table = tmp_path / "labels.tsv"
    pd.DataFrame({"index": [1, 2], "name": ["V1", "IT"]}).to_csv(table, sep="\t", index=False)
    regions = build_regions({"atlas": atlas, "atlas_labels": table}, bold, "bold.nii")
    assert regions.names == ["V1", "IT"]
    assert (regions.voxel_region == "V1").sum() == 16 and (regions.voxel_region == "IT").sum() == 8


def test_freesurfer_names(bold, tmp_path):
    labels = np.zeros((4, 4, 2))
    labels[1:] = 17  # Left-Hippocampus in FreeSurfer's colour table
    atlas = _save(tmp_path, "aseg.nii.gz", labels)
    regions = build_regions({"atlas": atlas, "atlas_labels": "freesurfer"}, bold, "bold.nii")
    assert set(regions.voxel_region) == {"Left-Hippocampus"}


def test_explicit_mask_intersects_the_atlas(bold, tmp_path):
    atlas = _save(tmp_path, "atlas.nii.gz", np.ones((4, 4, 2)))
    mask = np.zeros((4, 4, 2))
    mask[2, 2, 1] = 1
    regions = build_regions(
        {"atlas": atlas, "mask": _save(tmp_path, "mask.nii.gz", mask)}, bold, "bold.nii"
    )
    assert regions.voxel_region.tolist() == ["label1"]
    np.testing.assert_allclose(voxel_positions(regions.mask), [[4.0, 4.0, 2.0]])


def test_named_rois_and_their_overlap(bold, tmp_path):
    a, b = np.zeros((4, 4, 2)), np.zeros((4, 4, 2))
    a[1, :2] = 1
    b[2:, 3] = 1
    rois = {"FFA": _save(tmp_path, "ffa.nii.gz", a), "PPA": _save(tmp_path, "ppa.nii.gz", b)}
    regions = build_regions({"rois": rois}, bold, "bold.nii")
    assert sorted(regions.names) == ["FFA", "PPA"]
    assert (regions.voxel_region == "FFA").sum() == 4 and (regions.voxel_region == "PPA").sum() == 4
    b[1, 0] = 1
    rois["PPA"] = _save(tmp_path, "ppa.nii.gz", b)
    with pytest.raises(ValueError, match=r"ROIs FFA and PPA .* share 2 voxel\(s\).*disjoint"):
        build_regions({"rois": rois}, bold, "bold.nii")


def test_empty_regions_fail_clearly(bold, tmp_path):
    roi = _save(tmp_path, "empty.nii.gz", np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match=r"ROI X .*empty\.nii\.gz. holds no voxel"):
        build_regions({"rois": {"X": roi}}, bold, "bold.nii")
    with pytest.raises(ValueError, match="neither a file nor one of"):
        build_regions({"mask": "mni999"}, bold, "bold.nii")


def test_shipped_mni_mask_is_resampled_with_a_warning(bold):
    mni_grid = _img(np.zeros((4, 4, 2, 3), "f4"), np.diag([4.0, 4.0, 4.0, 1.0]))
    with pytest.warns(UserWarning, match="mni152-gm mask .* resampled"):
        regions = build_regions({"mask": "mni152-gm"}, mni_grid, "bold.nii")
    assert regions.mask.shape == (4, 4, 2)


def test_nilearn_atlas_from_its_data_dir(bold, monkeypatch):
    labels = np.zeros((4, 4, 2))
    labels[1:] = 3
    calls = {}

    def fake_fetch(name, data_dir=None):
        calls.update(name=name, data_dir=data_dir)
        return Bunch(maps=_img(labels.astype("i2")), labels=["Background", "A", "B", "C"])

    monkeypatch.setattr("nilearn.datasets.fetch_atlas_harvard_oxford", fake_fetch)
    spec = {"atlas": "nilearn:harvard_oxford:cort-maxprob-thr25-2mm", "data_dir": "/atlases"}
    regions = build_regions(spec, bold, "bold.nii")
    assert calls == {"name": "cort-maxprob-thr25-2mm", "data_dir": "/atlases"}
    assert set(regions.voxel_region) == {"C"}
    with pytest.raises(ValueError, match="nilearn has no atlas 'nope'"):
        build_regions({"atlas": "nilearn:nope"}, bold, "bold.nii")


def test_parcel_means_average_each_region():
    data = np.arange(12, dtype=float).reshape(2, 6)
    regions = type("R", (), {"names": ["a", "b"], "voxel_region": np.array(list("aabbba"))})
    means, names = parcel_means(data, regions)
    assert names == ["a", "b"]
    np.testing.assert_allclose(means, [[(0 + 1 + 5) / 3, 3.0], [(6 + 7 + 11) / 3, 9.0]])


def test_parcel_level_store(bold, tmp_path):
    nib.save(bold, tmp_path / "bold.nii.gz")
    pd.DataFrame({"onset": [5.0, 15.0], "duration": 1.0, "stimulus": ["a", "b"]}).to_csv(
        tmp_path / "events.tsv", sep="\t", index=False
    )
    labels = np.zeros((4, 4, 2))
    labels[1:3], labels[3] = 1, 2
    atlas = _save(tmp_path, "atlas.nii.gz", labels)
    ds = ingest_fmri(
        plain_runs([tmp_path / "bold.nii.gz"], [tmp_path / "events.tsv"]),
        tr=1.0,
        regions={"atlas": atlas, "level": "parcel"},
        glm={"drift_model": None},
    )
    validate(ds, "responses")
    assert ds["data"].dims == ("trial", "parcel") and ds.sizes["parcel"] == 2
    assert ds["region"].values.tolist() == ["label1", "label2"]
    np.testing.assert_allclose(ds["position"].values[1], [6.0, 3.0, 1.0])  # centroid in mm


def test_rois_within_an_atlas_are_named_by_both(bold, tmp_path):
    labels = np.zeros((4, 4, 2))
    labels[1:3], labels[3] = 1, 2
    roi = np.zeros((4, 4, 2))
    roi[2:, 0] = 1  # two voxels in label 1, two in label 2
    spec = {
        "atlas": _save(tmp_path, "atlas.nii.gz", labels),
        "rois": {"FFA": _save(tmp_path, "ffa.nii.gz", roi)},
    }
    regions = build_regions(spec, bold, "bold.nii")
    assert sorted(regions.voxel_region.tolist()) == ["label1/FFA"] * 2 + ["label2/FFA"] * 2
