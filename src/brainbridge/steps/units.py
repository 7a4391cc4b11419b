"""Brain "units" compared with layers: fMRI regions, or the whole scalp over time for M/EEG."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.align.rdm import RDMVectors
from brainbridge.atomic import write_table
from brainbridge.store import names as n
from brainbridge.store import open_store, provenance, write_store
from brainbridge.store.contract import check_stimuli
from brainbridge.store.join import layer_matrix, store_layers

SCALP = "scalp"


def brain_units(
    avg: xr.DataArray, modality: str, region: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Patterns per unit.

    fMRI: ``{region: (stimulus, voxel)}``; M/EEG: ``{scalp: (time, stimulus, channel)}``.
    """
    if modality == "fmri":
        return {str(r): avg.values[:, region == r] for r in dict.fromkeys(region.tolist())}
    return {SCALP: avg.transpose(n.TIME, n.STIMULUS, n.CHANNEL).values}


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


def as_list(value) -> list:
    """A step input that may be one path, a list of paths, or absent, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def has_time(modality: str) -> bool:
    return modality != "fmri"


def write_brain(
    ds: xr.Dataset, *, kind: str, step: str, inputs: dict, outputs: dict, params: dict
) -> None:
    """Label a brain store with its dataset name and write it with its provenance."""
    ds.attrs["dataset"] = params["name"]
    prov = provenance(inputs=inputs, config=params, seed=params.get("seed"), step=step)
    write_store(ds, outputs["store"], kind=kind, provenance=prov)


def write_result(
    ds: xr.Dataset,
    *,
    kind: str,
    step: str,
    inputs: dict,
    outputs: dict,
    params: dict,
    tidy: Callable[[xr.Dataset], pd.DataFrame],
    **attrs: object,
) -> None:
    """Label a result with its dataset and model, write its store and its tidy table."""
    ds.attrs.update(dataset=params["dataset"], model=params["model"], **attrs)
    prov = provenance(inputs=inputs, config=params, seed=params.get("seed"), step=step)
    write_store(ds, outputs["store"], kind=kind, provenance=prov)
    write_table(tidy(ds), outputs["table"])
