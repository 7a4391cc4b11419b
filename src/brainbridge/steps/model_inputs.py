"""What a model store offers an alignment step: layer features, or precomputed layer RDMs.

Kept apart from :mod:`brainbridge.steps.units` so that steps which never compare RDMs do not
depend on the alignment package (and are not rerun when it changes).
"""

from __future__ import annotations

import fnmatch

import numpy as np
import xarray as xr

from brainbridge.align.rdm import RDMVectors
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.contract import check_stimuli
from brainbridge.store.join import layer_matrix, store_layers


def model_inputs(
    store: xr.Dataset, layers: list[str] | None, stimuli: np.ndarray, *, source: str
) -> dict[str, np.ndarray | RDMVectors]:
    """Per layer: features (stimulus x feature) of an activation store, or the RDM (as
    :class:`RDMVectors`) of a model store of precomputed RDMs (kind ``rdms``, one region per
    layer), both in the order of ``stimuli``."""
    if store.attrs.get(n.KIND) != "rdms":
        chosen = store_layers(store, layers)
        return {k: layer_matrix(store, k, stimuli, source=source) for k in chosen}
    available = [str(r) for r in store[n.REGION].values]
    chosen = [k for k in available if not layers or any(fnmatch.fnmatchcase(k, p) for p in layers)]
    if not chosen:
        raise ValueError(f"layer(s) {layers} match no RDM of model {store.attrs.get(n.MODEL)!r}")
    check_stimuli(
        stimuli,
        store[n.STIMULUS].values,
        wanted_from=source,
        available_from=f"model RDM store of {store.attrs.get(n.MODEL)!r}",
    )
    ids = {n.STIMULUS: stimuli, n.STIMULUS2: stimuli}
    rdms = store["rdm"].isel({n.REPLICATE: 0}).sel(ids)
    return {k: RDMVectors.from_square(rdms.sel({n.REGION: k}).values) for k in chosen}


def open_model_store(path) -> xr.Dataset:
    """A model's store: activations (extracted) or ``rdms`` (precomputed model RDMs)."""
    store = open_store(path, load=True)
    if store.attrs.get(n.KIND) not in ("activations", "rdms"):
        raise ValueError(
            f"{path} is a {store.attrs.get(n.KIND)!r} store; a model store holds activations "
            "or precomputed RDMs (kind 'rdms')."
        )
    return store


def is_rdm_model(inputs: dict) -> bool:
    """Whether every model input is a precomputed RDM (only RSA metrics apply)."""
    return all(isinstance(v, RDMVectors) for v in inputs.values())
