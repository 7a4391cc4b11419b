"""Identification decoding of layer features (or category identity) from brain stores."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from brainbridge.report.tables import ID_COLUMNS, _with_ids
from brainbridge.steps.contract import declare
from brainbridge.steps.units import write_result
from brainbridge.store import names as n
from brainbridge.store import open_store
from brainbridge.store.contract import StoreError
from brainbridge.store.join import layer_matrix, store_layers

log = logging.getLogger(__name__)

DECODING_COLUMNS = (
    *ID_COLUMNS,
    "decoder",
    "metric",
    "layer",
    "region",
    "time",
    "level",
    "top1",
    "top5",
    "chance_top1",
    "chance_top5",
    "mean_rank",
    "p_value",
    "null_mean",
    "ci_low",
    "ci_high",
    "n_candidates",
)


def tidy_decoding(ds: xr.Dataset) -> pd.DataFrame:
    """One row per decoder x metric x layer x region|time x level (top-1/top-5 with chance)."""
    flat = ds.drop_vars(["top_k", "chance"])
    for k in ds[n.TOP_K].values.tolist():
        if k in (1, 5):
            flat[f"top{k}"] = ds["top_k"].sel({n.TOP_K: k}, drop=True)
            flat[f"chance_top{k}"] = ds["chance"].sel({n.TOP_K: k}, drop=True)
    flat = flat.drop_vars(n.TOP_K, errors="ignore")
    df = flat.to_dataframe().reset_index()
    if n.REGION not in df:
        df[n.REGION] = "scalp"
    for col in DECODING_COLUMNS:
        if col not in df and col not in ID_COLUMNS:
            df[col] = np.nan
    return _with_ids(df, ds, DECODING_COLUMNS)


def _category_features(brain: xr.Dataset, by: str) -> tuple[dict, np.ndarray]:
    if by not in brain.coords:
        raise StoreError(
            f"category identification needs the trial coord {by!r}; the brain store has "
            f"{sorted(map(str, brain.coords))} (set decoding.by to one of them)"
        )
    labels = np.unique(brain[by].values.astype(str))
    return {"category": np.eye(len(labels))}, labels


@declare(
    inputs={"brain": "brain store (epochs or responses)"},
    optional_inputs={"activations": "activations store (without it: categories of decoding.by)"},
    outputs={"store": "decoding store", "table": "tidy decoding TSV"},
    optional_outputs={"checkpoint": "safetensors of the best contrastive decoder"},
    params={
        "dataset": "dataset name",
        "model": "model name (or 'categories')",
        "decoding": "decoding settings",
    },
    optional_params={"layers": "layers to decode (default: all)", "seed": "random seed"},
)
def decode_layers(inputs: dict, outputs: dict, params: dict) -> None:
    """Ridge (and contrastive) identification of each layer from every window or region.

    Without an ``activations`` input the targets are the one-hot categories of
    ``decoding.by`` (label designs such as fMRI blocks), folded by run.
    """
    from brainbridge.decode.identity import decode_identity
    from brainbridge.encode.backend import set_torch_threads

    set_torch_threads(int(params.get("threads", 1)))  # applied if torch gets imported
    cfg = params["decoding"]
    brain = open_store(inputs["brain"], load=True)
    modality = brain.attrs[n.MODALITY]
    if "activations" in inputs:
        activations = open_store(inputs["activations"], "activations")
        stimuli = np.unique(brain[n.STIMULUS].values.astype(str))
        try:
            names = store_layers(activations, params.get("layers"))
        except ValueError as err:
            raise ValueError(f"{err} (key models.{params['model']}.layers)") from err
        layers = {
            layer: layer_matrix(activations, layer, stimuli, source=str(inputs["brain"]))
            for layer in names
        }
        shared = False
    else:
        by = cfg.get("by", n.CONDITION)
        layers, stimuli = _category_features(brain, by)
        brain = brain.assign_coords({n.STIMULUS: (n.TRIAL, brain[by].values.astype(str))})
        shared = True
    decoders = list(cfg.get("decoders", ["ridge"]))
    if "contrastive" in decoders:  # the only decoder that needs torch whatever the backend
        import torch

        torch.set_num_threads(int(params.get("threads", 1)))
    checkpoints: dict = {}
    ds = decode_identity(
        brain,
        layers,
        stimuli,
        cfg,
        decoders=decoders,
        seed=int(params.get("seed", 0)),
        shared_stimuli=shared,
        checkpoints=checkpoints,
    )
    best = ds["score"].sel({n.METRIC: "correlation", n.LEVEL: "trial"})
    for dec in decoders:
        peak = best.sel({n.DECODER: dec})
        log.info("%s: best top-1 per layer %s", dec, peak.max(peak.dims[-1]).values.round(3))
    write_result(
        ds,
        kind="decoding",
        step="decode-identity",
        inputs=inputs,
        outputs=outputs,
        params=params,
        tidy=tidy_decoding,
        modality=modality,
        decoders=decoders,
    )
    if outputs.get("checkpoint") and checkpoints:
        layer, best = min(checkpoints.items(), key=lambda kv: kv[1]["mean_rank"])
        best["decoder"].save(
            outputs["checkpoint"], layer=layer, unit=best["unit"], dataset=params["dataset"]
        )


@declare(
    inputs={"tables": "tidy TSVs to concatenate (-i tables+=PATH, in order)"},
    outputs={"table": "the concatenated TSV"},
)
def concat_tables(inputs: dict, outputs: dict, params: dict) -> None:
    """One tidy table from several (``inputs['tables']``), rows in input order."""
    from brainbridge.atomic import write_table
    from brainbridge.steps.units import as_list

    frames = [pd.read_csv(p, sep="\t") for p in as_list(inputs.get("tables"))]
    write_table(pd.concat(frames, ignore_index=True), outputs["table"])


# --------------------------------------------------------------------------- time-resolved

TIMEGEN_COLUMNS = (
    "dataset",
    "by",
    "scoring",
    "chance",
    "test",
    "cluster",
    "train_start",
    "train_stop",
    "test_start",
    "test_stop",
    "peak_score",
    "p_value",
)


def _generalization_dataset(times, scores, diagonal, diag_cl, mat_cl, **attrs) -> xr.Dataset:
    ds = xr.Dataset(
        {
            "score": ((n.TRAIN_TIME, n.TEST_TIME), scores.astype(np.float32)),
            "diagonal": ((n.TRAIN_TIME,), diagonal.astype(np.float32)),
            "matrix_cluster": ((n.TRAIN_TIME, n.TEST_TIME), mat_cl.labels.astype(np.int32)),
            "diagonal_cluster": ((n.TRAIN_TIME,), diag_cl.labels.astype(np.int32)),
        },
        coords={n.TRAIN_TIME: times, n.TEST_TIME: times},
    )
    ds.attrs.update(
        attrs,
        diagonal_cluster_p=[float(p) for p in diag_cl.p_values],
        matrix_cluster_p=[float(p) for p in mat_cl.p_values],
    )
    return ds


def tidy_generalization(ds: xr.Dataset) -> pd.DataFrame:
    """One row per cluster (diagonal and matrix tests) with its time span, peak and p."""
    rows = []
    times = ds[n.TRAIN_TIME].values
    for test in ("diagonal", "matrix"):
        labels = ds[f"{test}_cluster"].values
        for i, p in enumerate(ds.attrs.get(f"{test}_cluster_p", []), start=1):
            mask = labels == i
            if test == "diagonal":
                tr = te = times[mask]
                peak = float(ds["diagonal"].values[mask].max())
            else:
                tr, te = times[mask.any(1)], times[mask.any(0)]
                peak = float(ds["score"].values[mask].max())
            rows.append(
                {
                    "dataset": ds.attrs.get("dataset", ""),
                    "by": ds.attrs.get("by", ""),
                    "scoring": ds.attrs["scoring"],
                    "chance": ds.attrs["chance"],
                    "test": test,
                    "cluster": i,
                    "train_start": tr.min(),
                    "train_stop": tr.max(),
                    "test_start": te.min(),
                    "test_stop": te.max(),
                    "peak_score": peak,
                    "p_value": p,
                }
            )
    return pd.DataFrame(rows, columns=list(TIMEGEN_COLUMNS))


def _write_generalization(ds, inputs, outputs, params, step) -> None:
    from brainbridge.atomic import write_table
    from brainbridge.store import provenance, write_store

    ds.attrs["dataset"] = params["name"]
    prov = provenance(inputs=inputs, config=params, seed=params.get("seed"), step=step)
    write_store(ds, outputs["store"], kind="generalization", provenance=prov)
    write_table(tidy_generalization(ds), outputs["table"])


@declare(
    inputs={"brain": "epochs store"},
    outputs={"store": "generalization store", "table": "tidy TSV of scores and clusters"},
    params={"name": "dataset name", "generalize": "datasets.NAME.generalize"},
    optional_params={"seed": "random seed"},
)
def generalize(inputs: dict, outputs: dict, params: dict) -> None:
    """Sliding + temporal-generalization decoding of a trial label, with cluster tests."""
    from brainbridge.decode.sliding import band_power
    from brainbridge.decode.timegen import temporal_generalization

    cfg = params["generalize"]
    brain = open_store(inputs["brain"], "epochs", load=True)
    by = cfg.get("by", n.CONDITION)
    if by not in brain.coords:
        raise StoreError(
            f"generalize.by={by!r} is not a trial coord of {inputs['brain']}; the store has "
            f"{sorted(map(str, brain.coords))}. Set datasets.{params['name']}.generalize.by."
        )
    x = brain["data"].transpose(n.TRIAL, n.CHANNEL, n.TIME).values
    times = brain[n.TIME].values
    if cfg.get("features", "voltage") == "band_power":
        x, centres = band_power(x, float(brain.attrs[n.SFREQ]), 0.5, 0.25)
        times = times[0] + centres
    else:
        step = int(cfg.get("decim", 1))
        x, times = x[:, :, ::step], times[::step]
    result = temporal_generalization(
        x,
        brain[by].values,
        times,
        n_folds=int(cfg.get("n_folds", 5)),
        n_permutations=int(cfg.get("n_permutations", 1000)),
        threshold=cfg.get("threshold"),
        seed=int(params.get("seed", 0)),
    )
    log.info(
        "%s: peak %s %.3f (chance %.3f); diagonal cluster p %s",
        params["name"],
        result.scoring,
        float(result.diagonal.max()),
        result.chance,
        np.round(result.diagonal_clusters.p_values, 4).tolist(),
    )
    ds = _generalization_dataset(
        result.times,
        result.scores,
        result.diagonal,
        result.diagonal_clusters,
        result.matrix_clusters,
        chance=result.chance,
        scoring=result.scoring,
        by=by,
        classes=result.classes,
        n_folds=int(cfg.get("n_folds", 5)),
        level="folds",
    )
    _write_generalization(ds, inputs, outputs, params, "generalize")


@declare(
    inputs={"stores": "generalization stores of the group's datasets (-i stores+=PATH)"},
    outputs={"store": "group generalization store", "table": "tidy TSV"},
    params={"name": "group name (group-NAME)"},
    optional_params={"n_permutations": "sign-flip permutations", "seed": "random seed"},
)
def generalize_group(inputs: dict, outputs: dict, params: dict) -> None:
    """Group level: one-sample cluster tests over datasets of one design (same times)."""
    from brainbridge.decode.timegen import group_clusters
    from brainbridge.steps.units import as_list

    stores = [open_store(p, "generalization", load=True) for p in as_list(inputs["stores"])]
    times = stores[0][n.TRAIN_TIME].values
    for path, ds in zip(as_list(inputs["stores"]), stores):
        if ds.sizes[n.TRAIN_TIME] != len(times) or not np.allclose(ds[n.TRAIN_TIME], times):
            raise StoreError(
                f"{path} has other decoding times than {as_list(inputs['stores'])[0]}; give "
                "the datasets of one generalize.group the same epochs and features"
            )
    chance = float(stores[0].attrs["chance"])
    diag_cl, mat_cl = group_clusters(
        [ds["score"].values for ds in stores],
        chance,
        n_permutations=int(params.get("n_permutations", 1000)),
        seed=int(params.get("seed", 0)),
    )
    mean = np.mean([ds["score"].values for ds in stores], axis=0)
    ds = _generalization_dataset(
        times,
        mean,
        np.diagonal(mean).copy(),
        diag_cl,
        mat_cl,
        chance=chance,
        scoring=stores[0].attrs["scoring"],
        by=stores[0].attrs.get("by", ""),
        members=[str(s.attrs.get("dataset")) for s in stores],
        level="group",
    )
    _write_generalization(ds, inputs, outputs, params, "generalize-group")


@declare(
    optional_inputs={
        "decoding": "decoding stores (-i decoding+=PATH)",
        "timegen": "generalization stores (-i timegen+=PATH)",
    },
    outputs={"html": "decoding report page"},
    optional_params={"title": "page title"},
)
def decoding_report(inputs: dict, outputs: dict, params: dict) -> None:
    """A self-contained HTML page of the decoding and temporal-generalization results."""
    from brainbridge.report.decoding import decoding_section
    from brainbridge.report.html import _page
    from brainbridge.report.tables import atomic_write
    from brainbridge.steps.units import as_list

    section = decoding_section(as_list(inputs.get("decoding")), as_list(inputs.get("timegen")))
    atomic_write(outputs["html"], _page(params.get("title", "brainbridge decoding"), [section]))
