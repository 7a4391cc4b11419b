"""Precomputed model RDMs (e.g. Net2Brain's per-layer RDMs) -> a model store of kind ``rdms``.

A model with ``source: rdm`` has no network to run: each layer is one RDM file (``rdms:
[{layer, file, variable?}]``) over the stimuli of a manifest or image folder (``stimuli``, in
the RDM's row order). The store has the layers as its ``region`` dim and one replicate; the
alignment step compares it with brain data by the RSA metrics, joining stimuli by id.
"""

from __future__ import annotations

import logging

from brainbridge.ingest.fmri.rdms import read_rdms
from brainbridge.steps.contract import declare
from brainbridge.steps.units import as_list
from brainbridge.store import names as n
from brainbridge.store import provenance, write_store

log = logging.getLogger(__name__)

MODEL_MODALITY = "model"


@declare(
    inputs={"rdms": "one RDM file per layer", "manifest": "stimulus manifest or image folder"},
    outputs={"store": "model store of kind rdms"},
    params={"name": "model name", "model": "models.NAME (source rdm: rdms, dissimilarity)"},
    optional_params={"seed": "random seed"},
)
def ingest_model_rdm(inputs: dict, outputs: dict, params: dict) -> None:
    """RDM files (``inputs['rdms']``, one per layer in the order of ``params['model']['rdms']``)
    and the stimulus manifest (``inputs['manifest']``) -> model ``rdms`` store."""
    cfg = params["model"]
    files = as_list(inputs["rdms"])
    entries = [{"region": e["layer"], "variable": e.get("variable")} for e in cfg["rdms"]]
    ds = read_rdms(
        entries,
        files,
        inputs["manifest"],
        columns=cfg.get("columns"),
        modality=MODEL_MODALITY,
        dissimilarity=cfg.get("dissimilarity", "unknown (precomputed)"),
    )
    if ds.sizes[n.REPLICATE] != 1:
        raise ValueError(
            f"model {params['name']!r}: each RDM file of a model holds one RDM per layer; "
            f"{files[0]} holds {ds.sizes[n.REPLICATE]}. Give one (n, n) array per layer."
        )
    ds.attrs[n.MODEL] = params["name"]
    ds.attrs["layers"] = [str(e["layer"]) for e in cfg["rdms"]]
    log.info("%s: %d layer RDM(s) over %d stimuli", params["name"], *ds["rdm"].shape[::2][:2])
    prov = provenance(inputs=inputs, config=params, seed=params.get("seed"), step="model-rdms")
    write_store(ds, outputs["store"], kind="rdms", provenance=prov)
