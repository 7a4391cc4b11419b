"""The store contract: labelled xarray Datasets in Zarr v3 stores shared by every stage."""

from brainbridge.store.contract import (
    KINDS,
    StoreError,
    StoreKind,
    feature_dim,
    validate,
)
from brainbridge.store.io import StoreStream, open_store, write_store
from brainbridge.store.provenance import provenance

__all__ = [
    "KINDS",
    "StoreError",
    "StoreKind",
    "StoreStream",
    "feature_dim",
    "open_store",
    "provenance",
    "validate",
    "write_store",
]
