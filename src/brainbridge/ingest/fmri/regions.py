"""Which voxels to keep and which region each belongs to: masks, atlases and named ROIs.

A region spec (``datasets.NAME.regions``) combines, each optional:

- ``mask``: a NIfTI mask, ``mni152-brain`` / ``mni152-gm`` / ``mni152-wm`` (shipped with
  nilearn), or ``background`` (the default) / ``epi`` / ``nonzero`` (voxels never zero): computed
  from the first run;
- ``atlas``: an integer label image, or ``nilearn:FETCHER[:NAME]`` (an atlas fetched once into
  ``data_dir`` beforehand; nothing is downloaded at run time), with ``atlas_labels``: a TSV
  (columns ``index``, ``name``) or ``freesurfer`` (FreeSurfer's colour table, for ``aseg``);
- ``rois``: named ROI masks ``{name: path}`` (a voxel may belong to one ROI only);
- ``level``: ``voxel`` (default; one column per voxel) or ``parcel`` (the mean of each region).

Images on another grid than the BOLD runs are resampled to it (nearest neighbour) with a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn import datasets
from nilearn.image import resample_to_img
from nilearn.masking import compute_background_mask, compute_epi_mask

from brainbridge.integrity import read_table

from .images import load_nifti

LEVELS = ("voxel", "parcel")
SHIPPED_MASKS = {
    "mni152-brain": datasets.load_mni152_brain_mask,
    "mni152-gm": datasets.load_mni152_gm_mask,
    "mni152-wm": datasets.load_mni152_wm_mask,
}


def _nonzero_mask(img: nib.Nifti1Image) -> nib.Nifti1Image:
    data = np.asanyarray(img.dataobj)
    keep = np.isfinite(data).all(axis=-1) & (np.abs(data).min(axis=-1) > 0)
    return nib.Nifti1Image(keep.astype(np.int8), img.affine)


COMPUTED_MASKS = {
    "background": lambda img: compute_background_mask(img, opening=False),
    "epi": compute_epi_mask,
    "nonzero": _nonzero_mask,
}
WHOLE_MASK = "brain"  # region name of every voxel when only a mask is given


@dataclass(frozen=True)
class Regions:
    """Voxels kept (``mask`` on the BOLD grid) and the region name of each, in mask order."""

    mask: nib.Nifti1Image
    voxel_region: np.ndarray
    level: str

    @property
    def names(self) -> list[str]:
        """Region names in order of first appearance."""
        return list(dict.fromkeys(self.voxel_region.tolist()))


def _on_grid(img, reference, what: str, reference_path) -> nib.Nifti1Image:
    img = load_nifti(img, "region image")
    if img.shape[:3] == reference.shape[:3] and np.allclose(img.affine, reference.affine):
        return img
    warnings.warn(
        f"{what} ({img.shape[:3]}) is not on the grid of {reference_path} "
        f"({reference.shape[:3]}); resampled to it (nearest neighbour).",
        stacklevel=4,
    )
    return resample_to_img(
        img, reference, interpolation="nearest", force_resample=True, copy_header=True
    )


def _mask_image(value, reference, reference_path) -> nib.Nifti1Image:
    value = value or "background"
    if value in COMPUTED_MASKS:
        mask = COMPUTED_MASKS[value](reference)
        if not np.asarray(mask.dataobj).any():
            raise ValueError(
                f"the {value} mask computed from {reference_path} is empty; give regions.mask "
                "(a NIfTI mask), an atlas or ROIs."
            )
        return mask
    if value in SHIPPED_MASKS:
        return _on_grid(
            SHIPPED_MASKS[value](), reference, f"nilearn's {value} mask", reference_path
        )
    if not Path(value).exists():
        raise ValueError(
            f"regions.mask {value!r} is neither a file nor one of "
            f"{sorted(COMPUTED_MASKS) + sorted(SHIPPED_MASKS)}; give a NIfTI mask path."
        )
    return _on_grid(value, reference, f"mask {value}", reference_path)


def read_label_table(labels) -> dict[int, str]:
    """Label index -> name from a TSV (``index``, ``name``) or ``freesurfer`` (MNE's LUT)."""
    if labels == "freesurfer":
        import mne

        lut, _ = mne.read_freesurfer_lut()
        return {int(index): str(name) for name, index in lut.items()}
    table = read_table(labels, "atlas labels")
    missing = {"index", "name"} - set(table.columns)
    if missing:
        raise ValueError(
            f"atlas labels {labels} lack column(s) {sorted(missing)}; "
            "give a TSV with columns index and name (or atlas_labels: freesurfer)."
        )
    return dict(zip(table["index"].astype(int), table["name"].astype(str)))


def fetch_nilearn_atlas(spec: str, data_dir: str | None) -> tuple[nib.Nifti1Image, dict[int, str]]:
    """``nilearn:FETCHER[:NAME]`` (e.g. ``nilearn:harvard_oxford:cort-maxprob-thr25-2mm``).

    nilearn finds the atlas in ``data_dir`` (or ``$NILEARN_DATA``) where it was fetched before.
    """
    _, fetcher, *name = spec.split(":", 2)
    fetch = getattr(datasets, f"fetch_atlas_{fetcher}", None)
    if fetch is None:
        known = sorted(
            a[len("fetch_atlas_") :] for a in dir(datasets) if a.startswith("fetch_atlas_")
        )
        raise ValueError(
            f"regions.atlas {spec!r}: nilearn has no atlas {fetcher!r}; one of {known}."
        )
    try:
        bunch = fetch(*name, data_dir=data_dir) if name else fetch(data_dir=data_dir)
    except OSError as err:  # no network here: the atlas must have been fetched beforehand
        raise ValueError(
            f"regions.atlas {spec!r}: nilearn could not load it from {data_dir or 'its data dir'} "
            f"({err}); fetch it once on a machine with network and set regions.data_dir."
        ) from err
    atlas = load_nifti(bunch["maps"], f"regions.atlas {spec!r}: image")
    if atlas.ndim != 3:
        raise ValueError(f"regions.atlas {spec!r} is probabilistic (4D); choose a maxprob atlas.")
    lut = bunch.get("lut")
    if lut is not None:  # nilearn >= 0.11: a table of index and name
        return atlas, dict(zip(lut["index"].astype(int), lut["name"].astype(str)))
    return atlas, dict(enumerate(map(str, bunch["labels"])))  # labels[v] names value v


def _atlas(spec: dict, reference, reference_path) -> tuple[np.ndarray, dict[int, str]] | None:
    atlas_spec = spec.get("atlas")
    if atlas_spec is None:
        return None
    if str(atlas_spec).startswith("nilearn:"):
        img, names = fetch_nilearn_atlas(str(atlas_spec), spec.get("data_dir"))
        what = f"nilearn atlas {atlas_spec}"
    else:
        if not Path(atlas_spec).exists():
            raise ValueError(f"regions.atlas {atlas_spec} does not exist; give a label image.")
        img = atlas_spec
        labels = spec.get("atlas_labels")
        names = read_label_table(labels) if labels else {}
        what = f"atlas {atlas_spec}"
    data = np.asarray(_on_grid(img, reference, what, reference_path).dataobj)
    if data.ndim != 3 or not np.allclose(data, np.round(data)):
        raise ValueError(f"{what} must be a 3D image of integer labels.")
    if not (data > 0).any():
        raise ValueError(
            f"{what} has no labelled voxel on the grid of {reference_path}; check that the "
            "atlas and the BOLD runs are in the same space."
        )
    return data.astype(int), names


def _rois(rois: dict, reference, reference_path) -> np.ndarray | None:
    """ROI index per voxel (0 = none, k = the k-th ROI)."""
    if not rois:
        return None
    index = np.zeros(reference.shape[:3], dtype=int)
    for k, (name, roi_path) in enumerate(rois.items(), start=1):
        roi = (
            np.asarray(
                _on_grid(roi_path, reference, f"ROI {name} ({roi_path})", reference_path).dataobj
            )
            > 0
        )
        if not roi.any():
            raise ValueError(
                f"ROI {name} ({roi_path}) holds no voxel on the grid of {reference_path}."
            )
        overlap = roi & (index > 0)
        if overlap.any():
            other = list(rois)[int(index[overlap][0]) - 1]
            raise ValueError(
                f"ROIs {other} and {name} ({roi_path}) share {int(overlap.sum())} voxel(s); "
                "a voxel belongs to one region: make the ROI masks disjoint."
            )
        index[roi] = k
    return index


def build_regions(spec: dict | None, reference: nib.Nifti1Image, reference_path) -> Regions:
    """The voxels to keep and their region names, on the grid of ``reference`` (a BOLD run)."""
    spec = dict(spec or {})
    level = spec.get("level", "voxel")
    if level not in LEVELS:
        raise ValueError(f"regions.level must be one of {LEVELS}, not {level!r}.")
    explicit = "mask" in spec
    keep = np.asarray(_mask_image(spec.get("mask"), reference, reference_path).dataobj) > 0
    atlas = _atlas(spec, reference, reference_path)
    rois = _rois(spec.get("rois", {}), reference, reference_path)
    if atlas is not None:
        keep = (keep & (atlas[0] > 0)) if explicit else atlas[0] > 0
    if rois is not None:
        keep = keep & (rois > 0) if (explicit or atlas is not None) else rois > 0
    if not keep.any():
        raise ValueError(
            f"the regions {_describe(spec)} hold no voxel on the grid of {reference_path}; "
            "check that the mask / atlas / ROIs and the BOLD runs are in the same space."
        )
    region = np.full(int(keep.sum()), WHOLE_MASK, dtype=object)
    if atlas is not None:
        values, index = np.unique(atlas[0][keep], return_inverse=True)
        region = np.array([atlas[1].get(int(v), f"label{v}") for v in values], dtype=object)[index]
    if rois is not None:
        roi_names = np.array([WHOLE_MASK, *spec["rois"]], dtype=object)[rois[keep]]
        region = roi_names if atlas is None else region + "/" + roi_names
    mask = nib.Nifti1Image(keep.astype(np.int8), reference.affine)
    return Regions(mask=mask, voxel_region=region.astype(str), level=level)


def _describe(spec: dict) -> str:
    parts = [f"{k}={spec[k]}" for k in ("mask", "atlas") if k in spec]
    parts += [f"roi {name}" for name in spec.get("rois", {})]
    return ", ".join(parts) or "mask=background (computed)"


def voxel_positions(mask: nib.Nifti1Image) -> np.ndarray:
    """World coordinates (mm) of the mask's voxels, in mask order (C order of the grid)."""
    return nib.affines.apply_affine(mask.affine, np.argwhere(np.asarray(mask.dataobj) > 0))


def parcel_means(data: np.ndarray, regions: Regions) -> tuple[np.ndarray, list[str]]:
    """Mean over the voxels of each region (``... x voxel`` -> ``... x parcel``)."""
    names = regions.names
    index = pd.Index(names).get_indexer(regions.voxel_region)
    weights = np.zeros((len(index), len(names)))
    weights[np.arange(len(index)), index] = 1.0
    weights /= weights.sum(axis=0, keepdims=True)
    return data @ weights, names
