"""Steps of brain RDM datasets: precomputed RDM files -> rdms store; fMRI responses -> category
RDMs per region and run; leave-one-run-out category decoding of fMRI responses."""

from __future__ import annotations

import logging

import pandas as pd

from brainbridge.align.categories import category_rdms
from brainbridge.align.replicates import with_replicate_groups
from brainbridge.atomic import write_table
from brainbridge.decode import decode_categories
from brainbridge.ingest.fmri.rdms import read_rdms
from brainbridge.steps.contract import declare
from brainbridge.steps.units import as_list, write_brain
from brainbridge.store import open_store

log = logging.getLogger(__name__)

DECODING_COLUMNS = (
    "dataset",
    "by",
    "accuracy",
    "chance",
    "p_value",
    "null_mean",
    "n_permutations",
    "n_folds",
)


@declare(
    inputs={"rdms": "RDM files, one per region (.mat/.npz)", "stimuli": "manifest or image folder"},
    outputs={"store": "rdms store"},
    params={"name": "dataset name", "rdms": "datasets.NAME.rdms (region, file, key)"},
    extra_params="the dataset's settings (datasets.NAME, paths expanded)",
)
def ingest_rdm(inputs: dict, outputs: dict, params: dict) -> None:
    """RDM files (one per region, ``inputs['rdms']`` in the order of ``params['rdms']``) and a
    stimulus manifest or image folder (``inputs['stimuli']``) -> ``rdms`` store."""
    files = as_list(inputs["rdms"])
    ds = read_rdms(
        params["rdms"],
        files,
        inputs["stimuli"],
        columns=params.get("columns"),
        modality=params.get("modality", "fmri"),
        dissimilarity=params.get("dissimilarity", "unknown (precomputed)"),
    )
    ds = with_replicate_groups(ds, params.get("replicates"), f"datasets.{params['name']}")
    log.info(
        "%s: %d region(s) x %d replicate(s) x %d stimuli",
        params["name"],
        *(ds.sizes[d] for d in ("region", "replicate", "stimulus")),
    )
    write_brain(ds, kind="rdms", step="ingest-rdm", inputs=inputs, outputs=outputs, params=params)


@declare(
    inputs={"brain": "fMRI responses store"},
    outputs={"store": "rdms store"},
    params={"name": "dataset name", "rdm": "datasets.NAME.rdm (by, replicate_by, replicates)"},
    optional_params={"seed": "random seed"},
)
def brain_rdms(inputs: dict, outputs: dict, params: dict) -> None:
    """fMRI responses store -> category RDMs per region and replicate (``params['rdm']``)."""
    cfg = params.get("rdm") or {}
    responses = open_store(inputs["brain"], "responses", load=True)
    ds = category_rdms(
        responses,
        by=cfg.get("by", "condition"),
        replicate_by=cfg.get("replicate_by", "run"),
        source=str(inputs["brain"]),
    )
    # replicate groups (subject / session of each run's RDM), as for brain RDM datasets
    ds = with_replicate_groups(ds, cfg.get("replicates"), f"datasets.{params['name']}.rdm")
    _log_noise_ceiling(ds, params["name"])
    write_brain(ds, kind="rdms", step="brain-rdms", inputs=inputs, outputs=outputs, params=params)


def _log_noise_ceiling(ds, name: str) -> None:
    """Log the Spearman noise ceiling of each region's RDMs (leave one subject out when the
    replicates are grouped by subject, else one replicate)."""
    from brainbridge.align import RDMVectors
    from brainbridge.align.replicates import noise_ceiling_leave_one_out

    groups = ds["subject"].values.astype(str) if "subject" in ds.coords else None
    left_out = "subject" if groups is not None else "replicate"
    for region in ds["region"].values:
        vectors = RDMVectors.from_square(ds["rdm"].sel(region=region).values)
        nc = noise_ceiling_leave_one_out(vectors, "rsa-rdm=correlation-compare=spearman", groups)
        log.info(
            "%s %s: Spearman noise ceiling %.3f-%.3f (leave one %s out)",
            name,
            region,
            nc.lower,
            nc.upper,
            left_out,
        )


@declare(
    inputs={"brain": "fMRI responses store"},
    outputs={"table": "decoding TSV"},
    params={"name": "dataset name", "decode": "datasets.NAME.decode (by, n_permutations)"},
    optional_params={"seed": "random seed"},
)
def decode(inputs: dict, outputs: dict, params: dict) -> None:
    """Leave-one-run-out decoding of ``params['decode']['by']`` with a permutation test."""
    cfg = params.get("decode") or {}
    responses = open_store(inputs["brain"], "responses", load=True)
    by = cfg.get("by", "condition")
    result = decode_categories(
        responses,
        by=by,
        n_permutations=int(cfg.get("n_permutations", 100)),
        seed=int(params.get("seed", 0)),
    )
    log.info("%s: decoding %s %s", params["name"], by, result)
    row = {"dataset": params["name"], "by": by, **result}
    write_table(pd.DataFrame([row], columns=list(DECODING_COLUMNS)), outputs["table"])
