"""Category RDMs of single-trial responses: correlation distance of condition means, one RDM per
region (``region`` coord of the voxels / parcels) and replicate (e.g. run), as an ``rdms``
store Dataset."""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbridge.align.rdm import compute_rdms
from brainbridge.store import names as n
from brainbridge.store.rdms import rdms_dataset

CATEGORY_DISSIMILARITY = "correlation distance (1 - Pearson r) of condition-mean responses"


def _regions(ds: xr.Dataset) -> np.ndarray:
    """Region label of every feature (voxel / parcel); ``all`` without a region coord."""
    feature = ds["data"].dims[1]
    if n.REGION in ds.coords and ds[n.REGION].dims == (feature,):
        return ds[n.REGION].values.astype(str)
    return np.full(ds.sizes[feature], "all")


def _averaging_weights(labels: np.ndarray, groups: np.ndarray, categories, replicates, source):
    """(replicate, category, trial) weights whose product with the data gives the means."""
    onehot_cat = labels[None, :] == np.asarray(categories)[:, None]  # (category, trial)
    onehot_rep = groups[None, :] == np.asarray(replicates)[:, None]  # (replicate, trial)
    weights = (onehot_rep[:, None, :] & onehot_cat[None, :, :]).astype(np.float64)
    counts = weights.sum(axis=-1)
    if (counts == 0).any():
        rep, cat = np.argwhere(counts == 0)[0]
        raise ValueError(
            f"{source}: category {str(categories[cat])!r} has no trial in replicate "
            f"{replicates[rep]!r}; RDMs per replicate need every category in every replicate "
            "(set rdm.replicate_by: null for one RDM over all trials)."
        )
    return weights / counts[..., None]


def category_rdms(
    responses: xr.Dataset,
    by: str = n.CONDITION,
    replicate_by: str | None = n.RUN,
    *,
    source: str = "responses store",
) -> xr.Dataset:
    """Correlation-distance RDMs of condition-mean responses, per region and replicate.

    One RDM per region (``region`` coord of the voxels / parcels) and per value of
    ``replicate_by`` (e.g. per run: independent estimates for the noise ceiling); ``None``
    gives one RDM over all trials. The stimulus ids of the store are the categories (sorted).
    """
    for coord in (by, replicate_by):
        if coord is not None and coord not in responses.coords:
            raise ValueError(
                f"{source} has no trial coord {coord!r} (coords: "
                f"{sorted(map(str, responses.coords))}); set rdm.by / rdm.replicate_by to one "
                "of them."
            )
    labels = responses[by].values.astype(str)
    categories = np.unique(labels)
    if replicate_by is None:
        groups = np.full(len(labels), "all")
    else:
        groups = responses[replicate_by].values.astype(str)
    replicates = list(dict.fromkeys(groups.tolist()))
    if replicate_by == n.RUN:
        replicates = sorted(replicates, key=lambda r: (len(r), r))  # "2" before "10"
    weights = _averaging_weights(labels, groups, categories, replicates, source)
    data = np.asarray(responses["data"].values, dtype=np.float64)
    region = _regions(responses)
    names = list(dict.fromkeys(region.tolist()))
    rdms = []
    for name in names:
        columns = region == name
        if columns.sum() < 2:
            raise ValueError(
                f"{source}: region {name!r} has {int(columns.sum())} voxel/parcel; correlation "
                "distance needs >= 2 per region."
            )
        means = weights @ data[:, columns]  # (replicate, category, feature)
        rdms.append(compute_rdms(means, "correlation"))
    return rdms_dataset(
        np.stack(rdms),
        regions=names,
        replicates=replicates,
        stimuli=categories,
        modality=str(responses.attrs.get(n.MODALITY, "fmri")),
        dissimilarity=CATEGORY_DISSIMILARITY + (f" per {replicate_by}" if replicate_by else ""),
        source=source,
        by=by,
        replicate_by=str(replicate_by),
    )


def category_rdm(ds: xr.Dataset, by: str = n.CONDITION) -> tuple[np.ndarray, np.ndarray]:
    """Correlation-distance RDM (categories x categories) of the betas averaged per category,
    over all trials and all voxels."""
    labels = ds[by].values.astype(str)
    categories = np.unique(labels)
    weights = _averaging_weights(labels, np.full(len(labels), "all"), categories, ["all"], by)
    means = weights[0] @ np.asarray(ds["data"].values, dtype=np.float64)
    return compute_rdms(means, "correlation"), categories
