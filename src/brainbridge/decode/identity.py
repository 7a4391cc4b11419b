"""Identification decoding of one layer from every brain unit of a brain store.

Units are sliding time windows (channel x samples) for M/EEG and atlas regions (voxels) for
fMRI. Each decoder (ridge, contrastive) is cross-validated on the same folds and scored the same
way (:func:`brainbridge.decode.crossval.cross_identify`) by correlation and cosine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from brainbridge.decode.crossval import LEVELS, cross_identify, sliding_windows
from brainbridge.decode.identification import METRICS, check_top_k, make_decoding_folds
from brainbridge.decode.zscored_ridge import ridge_decoder
from brainbridge.store import names as n

DECODERS = ("ridge", "contrastive")
SCALP = "scalp"


@dataclass(frozen=True)
class Units:
    """Brain patterns per unit: ``name -> (trial x ...)``, the unit dim and its coord values."""

    data: dict[str, np.ndarray]
    dim: str  # time | region
    coord: np.ndarray
    positions: np.ndarray | None = None


def brain_units(brain: xr.Dataset, window: float = 0.1, step: float = 0.05) -> Units:
    """Sliding windows (M/EEG, dim ``time``) or regions (fMRI, dim ``region``)."""
    data = brain["data"]
    if n.TIME in data.dims:
        x = data.transpose(n.TRIAL, n.CHANNEL, n.TIME).values.astype(np.float64)
        wins = sliding_windows(brain[n.TIME].values, window, step)
        pos = brain[n.POSITION].values if n.POSITION in brain.coords else None
        return Units(
            data={f"{c:.3f}": x[:, :, a:b] for a, b, c in wins},
            dim=n.TIME,
            coord=np.array([c for _, _, c in wins]),
            positions=pos,
        )
    region = brain[n.REGION].values.astype(str)
    x = data.values.astype(np.float64)
    names = list(dict.fromkeys(region.tolist()))
    return Units(
        data={r: x[:, region == r] for r in names}, dim=n.REGION, coord=np.array(names, dtype=str)
    )


def make_decoder(name: str, cfg: dict, units: Units, seed: int) -> Callable:
    """The crossval ``decoder`` callable of a configured decoder name."""
    if name == "ridge":
        return ridge_decoder(cfg["alphas"], backend=cfg.get("backend", "numpy"))
    if name == "contrastive":
        from brainbridge.decode.contrastive import ContrastiveConfig, ContrastiveDecoder  # torch

        conf = ContrastiveConfig.from_dict(cfg.get("contrastive"))
        return ContrastiveDecoder(conf, positions=units.positions, seed=seed).as_decoder()
    raise ValueError(f"decoding.decoders lists {name!r}; use any of {DECODERS}")


def check_decoding(
    stim_index: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    cfg: dict,
    decoders: Sequence[str],
) -> None:
    """Bad settings found before any fit: top-k vs candidates, batch size vs training set."""
    for name in decoders:
        if name not in DECODERS:
            raise ValueError(f"decoding.decoders lists {name!r}; use any of {DECODERS}")
    smallest = min(np.unique(stim_index[test]).size for _, test in folds)
    check_top_k(cfg.get("top_k", (1, 5)), smallest)
    if "contrastive" in decoders:
        from brainbridge.decode.contrastive import ContrastiveConfig  # torch

        conf = ContrastiveConfig.from_dict(cfg.get("contrastive"))
        n_train = min(len(train) for train, _ in folds)
        usable = int(n_train * (1 - conf.valid_fraction))
        if conf.batch_size > usable:
            raise ValueError(
                f"decoding.contrastive.batch_size={conf.batch_size} exceeds the ~{usable} "
                f"training trials of a fold (after the validation split); set "
                f"decoding.contrastive.batch_size <= {usable}"
            )


def contrastive_units(units: Units, cfg: dict) -> np.ndarray:
    """Which units the contrastive decoder is trained on (bool per unit).

    ``cfg['units']``: region names (fMRI) and window centres in s (M/EEG: the nearest window);
    entries of the other kind are ignored. Without any that apply: every unit, and for M/EEG
    every ``cfg['every']``-th window (default 2).
    """
    wanted = list(cfg.get("units") or [])
    if units.dim == n.TIME:
        centres = [float(u) for u in wanted if not isinstance(u, str)]
        if not centres:
            return np.arange(len(units.coord)) % int(cfg.get("every", 2)) == 0
        coord = np.asarray(units.coord, dtype=np.float64)
        span = np.diff(coord).min() if len(coord) > 1 else 0.0
        chosen = np.zeros(len(coord), dtype=bool)
        for c in centres:
            i = int(np.argmin(np.abs(coord - c)))
            if abs(coord[i] - c) > max(span, 1e-9):
                raise ValueError(
                    f"decoding.contrastive.units lists {c} s, outside the windows "
                    f"({coord[0]:.3f}-{coord[-1]:.3f} s); give window centres inside the epoch"
                )
            chosen[i] = True
        return chosen
    regions = [str(u) for u in wanted if isinstance(u, str)]
    if not regions:
        return np.ones(len(units.coord), dtype=bool)
    names = np.asarray(units.coord).astype(str)
    unknown = sorted(set(regions) - set(names.tolist()))
    if unknown:
        raise ValueError(
            f"decoding.contrastive.units lists {unknown}, not regions of this dataset "
            f"({', '.join(names)}); name its regions"
        )
    return np.isin(names, regions)


def identify_layer(
    units: Units,
    features: np.ndarray,
    stim_index: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    cfg: dict,
    *,
    decoders: Sequence[str] = ("ridge",),
    seed: int = 0,
    disjoint: bool = True,
    best: dict | None = None,
) -> xr.Dataset:
    """Decoder x metric x unit x level identification of one layer's ``features``.

    ``features`` is stimulus x feature; ``stim_index[t]`` the feature row of trial ``t``.
    ``best`` (a dict), when given, receives the contrastive decoder (last fold) of the unit
    with the lowest mean rank: ``{"unit", "mean_rank", "decoder"}``.
    """
    top_k = sorted({1, *(int(k) for k in cfg.get("top_k", (1, 5)))})  # score = top-1
    shape = (len(decoders), len(METRICS), len(units.data), len(LEVELS))
    out = {v: np.full(shape, np.nan) for v in ("score", "mean_rank", "p_value", "null_mean")}
    out.update({v: np.full(shape, np.nan) for v in ("ci_low", "ci_high", "n_candidates")})
    topk = np.full((*shape, len(top_k)), np.nan)
    chance = np.full_like(topk, np.nan)
    cache: dict = {}  # each fold's target space, shared by every unit and decoder
    for d, name in enumerate(decoders):
        decoder = make_decoder(name, cfg, units, seed)
        owner = getattr(decoder, "owner", None)  # the ContrastiveDecoder behind the callable
        trained = np.ones(len(units.data), dtype=bool)
        if name == "contrastive":
            trained = contrastive_units(units, (cfg.get("contrastive") or {}))
        for u, x in enumerate(units.data.values()):
            if not trained[u]:
                continue  # the costly decoder on a subset of the units: NaN elsewhere
            result = cross_identify(
                x,
                features,
                stim_index,
                folds,
                decoder,
                n_components=cfg.get("pca") or None,
                metric=METRICS,
                top_k=top_k,
                n_permutations=int(cfg.get("n_permutations", 1000)),
                seed=seed,
                disjoint=disjoint,
                target_cache=cache,
            )
            rank = result.levels["trial"].mean_rank
            if best is not None and owner is not None and rank < best.get("mean_rank", np.inf):
                unit = list(units.data)[u]
                best.update(unit=unit, mean_rank=rank, decoder=copy.deepcopy(owner))
            for m, metric in enumerate(METRICS):
                for lv, level in enumerate(LEVELS):
                    ident = result.metrics[metric][level]
                    at = (d, m, u, lv)
                    out["score"][at] = ident.top_k[top_k[0]]
                    out["mean_rank"][at] = ident.mean_rank
                    out["p_value"][at] = ident.p_value
                    out["null_mean"][at] = ident.null_mean
                    half = 1.96 * ident.fold_top1.std(ddof=1) / np.sqrt(len(ident.fold_top1))
                    out["ci_low"][at] = ident.fold_top1.mean() - half
                    out["ci_high"][at] = ident.fold_top1.mean() + half
                    out["n_candidates"][at] = result.n_candidates
                    topk[at] = [ident.top_k[k] for k in top_k]
                    chance[at] = [ident.chance[k] for k in top_k]
    dims = (n.DECODER, n.METRIC, units.dim, n.LEVEL)
    ds = xr.Dataset(
        {v: (dims, a.astype(np.float32)) for v, a in out.items()},
        coords={
            n.DECODER: np.array(decoders, dtype=str),
            n.METRIC: np.array(METRICS, dtype=str),
            units.dim: units.coord,
            n.LEVEL: np.array(LEVELS, dtype=str),
            n.TOP_K: np.array(top_k, dtype=np.int64),
        },
    )
    ds["top_k"] = ((*dims, n.TOP_K), topk.astype(np.float32))
    ds["chance"] = ((*dims, n.TOP_K), chance.astype(np.float32))
    return ds


def trial_index(trial_stimuli: np.ndarray, feature_stimuli: np.ndarray) -> np.ndarray:
    """Row of ``feature_stimuli`` for each trial (every trial stimulus must be present)."""
    order = {s: i for i, s in enumerate(np.asarray(feature_stimuli).astype(str))}
    return np.array([order[s] for s in np.asarray(trial_stimuli).astype(str)])


def decode_identity(
    brain: xr.Dataset,
    layers: dict[str, np.ndarray],
    feature_stimuli: np.ndarray,
    cfg: dict,
    *,
    decoders: Sequence[str] = ("ridge",),
    seed: int = 0,
    shared_stimuli: bool = False,
    checkpoints: dict | None = None,
) -> xr.Dataset:
    """Identification of each layer (``name -> stimulus x feature``) from every brain unit.

    ``shared_stimuli`` (label designs: the "stimulus" is a category shown in every run) folds
    by run and lets a category appear on both sides; otherwise folds keep stimuli whole.
    ``checkpoints`` (a dict), when given, receives per layer the best contrastive decoder
    (see :func:`identify_layer`).
    """
    stimuli = brain[n.STIMULUS].values.astype(str)
    stim_index = trial_index(stimuli, feature_stimuli)
    run = brain[n.RUN].values if n.RUN in brain.coords else None
    n_folds = int(cfg.get("n_folds", 5))
    if shared_stimuli:
        from brainbridge.encode.ridge import make_folds

        if run is None:
            raise ValueError("category identification needs a 'run' coord to fold by")
        folds, how = make_folds(len(stimuli), n_folds, groups=run, seed=seed), "run"
    else:
        folds, how = make_decoding_folds(stimuli, run, n_folds, seed=seed)
    check_decoding(stim_index, folds, cfg, decoders)
    units = brain_units(brain, cfg.get("window", 0.1), cfg.get("step", 0.05))
    parts = []
    for layer, feats in layers.items():
        best: dict = {}
        parts.append(
            identify_layer(
                units,
                feats,
                stim_index,
                folds,
                cfg,
                decoders=decoders,
                seed=seed,
                disjoint=not shared_stimuli,
                best=best,
            )
        )
        if checkpoints is not None and best:
            checkpoints[layer] = best
    ds = xr.concat(parts, dim=n.LAYER, coords="minimal", compat="override")
    ds = ds.assign_coords({n.LAYER: np.array(list(layers), dtype=str)})
    order = (n.DECODER, n.METRIC, n.LAYER, units.dim, n.LEVEL)
    ds = ds.transpose(*order, ...)
    ds.attrs.update(n_folds=n_folds, grouping=how, n_trials=len(stimuli))
    return ds
