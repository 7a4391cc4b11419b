"""The ``rdms`` store kind (region x replicate x stimulus x stimulus2): build and check one.

Shared by the readers of precomputed RDM files (:mod:`brainbridge.ingest.fmri.rdms`) and the
category RDMs computed from responses (:mod:`brainbridge.align.categories`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from brainbridge.store import names as n
from brainbridge.store.contract import validate


def check_rdms(ds: xr.Dataset, source: str | None = None) -> None:
    """Validate an ``rdms`` Dataset, values included (square, symmetric, zero diagonal, finite).

    Raises :class:`~brainbridge.store.StoreError` naming the store, the field and the fix.
    """
    validate(ds, "rdms", source=source)


def rdms_dataset(
    rdms: np.ndarray,
    *,
    regions: Sequence[str],
    replicates: Sequence[str],
    stimuli: Sequence[str],
    modality: str = "fmri",
    dissimilarity: str = "unknown (precomputed)",
    source: str | None = None,
    **attrs: object,
) -> xr.Dataset:
    """An ``rdms`` Dataset from square RDMs (region, replicate, n, n), checked (check_rdms)."""
    rdms = np.asarray(rdms, dtype=np.float64)
    stimuli = np.asarray([str(s) for s in stimuli], dtype=str)
    ds = xr.Dataset(
        {"rdm": ((n.REGION, n.REPLICATE, n.STIMULUS, n.STIMULUS2), rdms)},
        coords={
            n.REGION: np.asarray([str(r) for r in regions], dtype=str),
            n.REPLICATE: np.asarray([str(r) for r in replicates], dtype=str),
            n.STIMULUS: stimuli,
            n.STIMULUS2: stimuli,
        },
        attrs={n.KIND: "rdms", n.MODALITY: modality, n.DISSIMILARITY: dissimilarity, **attrs},
    )
    check_rdms(ds, source)
    return ds
