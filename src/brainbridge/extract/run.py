"""Extract the chosen layers of a model for every stimulus of a manifest into a store.

The model runs batch by batch in eval mode with forward hooks on every chosen layer (one pass
captures them all). Each batch is pooled, optionally reduced, cast and appended to the store
(:class:`brainbridge.store.StoreStream`), so memory holds one batch whatever the number of
stimuli. Reductions are streaming too: sparse random projection needs no fitting; PCA is an
incremental PCA fitted batch by batch in a first pass over the stimuli.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from torch import nn

from brainbridge.extract.layers import OUTPUT, capture, first_tensor, pool, select_layers
from brainbridge.extract.models import LoadedModel
from brainbridge.extract.stimuli import load_audio, load_images, tokenize
from brainbridge.store import StoreStream, feature_dim
from brainbridge.store import names as n

log = logging.getLogger(__name__)

DTYPES = ("float32", "float16")
REDUCTIONS = ("none", "pca", "srp")


@dataclass
class Inputs:
    """How stimuli become model inputs (the ``image`` / ``text`` / ``audio`` settings)."""

    image: dict = field(default_factory=dict)  # size, mean, std
    text: dict = field(default_factory=dict)  # max_length, truncation
    audio: dict = field(default_factory=dict)  # sample_rate, duration


def _batch_inputs(loaded: LoadedModel, rows: pd.DataFrame, inputs: Inputs, pooling: str):
    """Model inputs of one batch, and the token mask for mask-aware pooling (text)."""
    if loaded.modality == "text":
        if "text" not in rows:
            raise ValueError("a text model needs a manifest with a 'text' column.")
        batch = tokenize(
            rows["text"].astype(str).tolist(),
            loaded.tokenizer,
            max_length=int(inputs.text.get("max_length") or loaded.max_length or 512),
            truncation=bool(inputs.text.get("truncation", False)),
            pad_to_max=pooling == "flatten",
            ids=rows["stimulus"].tolist(),
        )
        return batch, batch.get("attention_mask")
    if loaded.modality == "audio":
        if not inputs.audio:
            raise ValueError("an audio model needs models.<name>.audio (sample_rate, duration).")
        wave = load_audio(
            rows["path"].tolist(),
            sample_rate=int(inputs.audio["sample_rate"]),
            duration=float(inputs.audio["duration"]),
        )
        return wave, None
    if not inputs.image:
        raise ValueError("an image model needs models.<name>.image (size, mean, std).")
    x = load_images(
        rows["path"].tolist(),
        size=int(inputs.image["size"]),
        mean=inputs.image["mean"],
        std=inputs.image["std"],
        resize=inputs.image.get("resize", "bilinear-antialias"),
    )
    return x, None


def _as_loaded(model: nn.Module | LoadedModel) -> LoadedModel:
    return model if isinstance(model, LoadedModel) else LoadedModel(model)


@torch.inference_mode()
def iter_features(
    model: nn.Module | LoadedModel,
    manifest: pd.DataFrame,
    *,
    layers: list[str],
    inputs: Inputs,
    pooling: str = "flatten",
    batch_size: int = 64,
) -> Iterator[tuple[int, dict[str, np.ndarray], dict[str, list[int]]]]:
    """Yield ``(start, {layer: (batch, features) float32}, {layer: original shape})``."""
    loaded = _as_loaded(model)
    torch.manual_seed(0)
    loaded.module.eval()
    names = select_layers(loaded.module, layers)
    total = len(manifest)
    starts = range(0, total, batch_size)

    def prepare(start: int):
        return _batch_inputs(loaded, manifest.iloc[start : start + batch_size], inputs, pooling)

    # A background thread decodes the next batch (PIL and torch release the GIL) while the
    # model runs on the current one; at most one batch is prepared ahead.
    with capture(loaded.module, names) as outputs, ThreadPoolExecutor(1) as pool_:
        pending = pool_.submit(prepare, starts[0]) if total else None
        for i, start in enumerate(starts):
            batch, mask = pending.result()
            pending = pool_.submit(prepare, starts[i + 1]) if i + 1 < len(starts) else None
            outputs.clear()
            result = loaded(batch)
            del batch
            if OUTPUT in names and OUTPUT not in outputs:
                outputs[OUTPUT] = first_tensor(result, OUTPUT)
            del result
            feats, shapes = {}, {}
            for name in names:
                if name not in outputs:
                    if pending is not None:
                        pending.cancel()
                    raise RuntimeError(
                        f"layer {name!r} was not called in the forward pass; choose a module "
                        "that the model runs (`brainbridge layers` lists them)."
                    )
                out = outputs[name]
                shapes[name] = list(out.shape[1:])
                feats[name] = pool(out, pooling, mask).to(torch.float32).cpu().numpy()
            outputs.clear()
            yield start, feats, shapes
            log.info("extracted %d/%d stimuli", min(start + batch_size, total), total)


class _Reducer:
    """Per-layer streaming reduction: ``srp`` (no fitting) or ``pca`` (incremental fit)."""

    def __init__(self, method: str, n_components: int, seed: int, n_stimuli: int) -> None:
        if method not in REDUCTIONS:
            raise ValueError(f"unknown reduction {method!r}; choose from {REDUCTIONS}.")
        self.method, self.k, self.seed, self.n_stimuli = method, int(n_components), seed, n_stimuli
        self.models: dict = {}
        self.buffers: dict[str, list[np.ndarray]] = {}

    def _components(self, n_features: int) -> int:
        k = min(self.k, n_features)
        return min(k, self.n_stimuli) if self.method == "pca" else k

    def partial_fit(self, layer: str, feats: np.ndarray, remaining: int) -> None:
        """Feed one batch (PCA); batches are pooled until they hold at least k rows."""
        if self.method != "pca":
            return
        from sklearn.decomposition import IncrementalPCA

        k = self._components(feats.shape[1])
        model = self.models.setdefault(layer, IncrementalPCA(n_components=k))
        buffer = self.buffers.setdefault(layer, [])
        buffer.append(feats)
        rows = sum(len(b) for b in buffer)
        if rows >= k and (remaining == 0 or remaining >= k):
            model.partial_fit(np.concatenate(buffer))
            buffer.clear()

    def transform(self, layer: str, feats: np.ndarray) -> np.ndarray:
        if self.method == "none":
            return feats
        if layer not in self.models:
            from sklearn.random_projection import SparseRandomProjection

            srp = SparseRandomProjection(
                n_components=self._components(feats.shape[1]), random_state=self.seed
            )
            self.models[layer] = srp.fit(np.zeros((1, feats.shape[1]), dtype=np.float32))
        return self.models[layer].transform(feats).astype(np.float32, copy=False)

    def attrs(self, layer: str) -> dict:
        if self.method == "none":
            return {n.REDUCTION: "none"}
        model = self.models[layer]
        attrs = {
            n.REDUCTION: self.method,
            "reduction_components": int(model.n_components_),
            "reduction_seed": int(self.seed),
        }
        if self.method == "pca":
            attrs["reduction_fit"] = "incremental PCA, fitted batch by batch over all stimuli"
            attrs["reduction_explained_variance"] = float(model.explained_variance_ratio_.sum())
        else:
            attrs["reduction_fit"] = "sparse random projection (no fitting)"
        return attrs


def _cast(feats: np.ndarray, dtype: str, layer: str) -> np.ndarray:
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {DTYPES}.")
    out = feats.astype(dtype, copy=False)
    if dtype == "float16" and not np.isfinite(out).all() and np.isfinite(feats).all():
        raise ValueError(
            f"layer {layer!r}: activations exceed the float16 range (max |x| = "
            f"{np.abs(feats).max():.3g}); store them as float32 (models.<name>.dtype)."
        )
    return out


def _input_attrs(inputs: Inputs) -> dict:
    """How image stimuli became inputs (size, resize filter), for the activation store."""
    if not inputs.image:
        return {}
    return {
        "image_size": int(inputs.image["size"]),
        "image_resize": str(inputs.image.get("resize", "bilinear-antialias")),
    }


def extract_to_store(
    model: nn.Module | LoadedModel,
    manifest: pd.DataFrame,
    path: str | os.PathLike,
    *,
    layers: list[str],
    inputs: Inputs,
    pooling: str = "flatten",
    batch_size: int = 64,
    dtype: str = "float32",
    reduction: dict | None = None,
    seed: int = 0,
    model_name: str = "model",
    provenance: dict | None = None,
) -> Path:
    """Stream the activations of ``layers`` for every stimulus into the store at ``path``."""
    reduction = reduction or {}
    method = reduction.get("method", "none")
    reducer = _Reducer(method, reduction.get("n_components", 100), seed, len(manifest))
    kwargs = {"layers": layers, "inputs": inputs, "pooling": pooling, "batch_size": batch_size}
    if method == "pca":  # first pass: fit the incremental PCA of every layer
        for start, feats, _ in iter_features(model, manifest, **kwargs):
            remaining = len(manifest) - start - len(next(iter(feats.values())))
            for layer, values in feats.items():
                reducer.partial_fit(layer, values, remaining)
    stimuli = manifest["stimulus"].astype(str).tolist()
    with StoreStream(path, "activations", dim=n.STIMULUS, provenance=provenance) as stream:
        for start, feats, shapes in iter_features(model, manifest, **kwargs):
            ids = stimuli[start : start + len(next(iter(feats.values())))]
            data_vars = {}
            for layer, values in feats.items():
                attrs = {n.ORIGINAL_SHAPE: shapes[layer], "pooling": pooling}
                reduced = _cast(reducer.transform(layer, values), dtype, layer)
                attrs.update(reducer.attrs(layer))
                data_vars[layer] = xr.Variable((n.STIMULUS, feature_dim(layer)), reduced, attrs)
            stream.write(
                xr.Dataset(
                    data_vars,
                    coords={n.STIMULUS: np.array(ids, dtype=str)},
                    attrs={n.MODEL: model_name, "layers": list(feats), "dtype": dtype}
                    | _input_attrs(inputs),
                )
            )
    return Path(path)


def extract_activations(
    model: nn.Module | LoadedModel,
    manifest: pd.DataFrame,
    *,
    layers: list[str],
    image_size: int | None = None,
    mean: list[float] | None = None,
    std: list[float] | None = None,
    inputs: Inputs | None = None,
    pooling: str = "flatten",
    batch_size: int = 64,
    dtype: str = "float32",
    model_name: str = "model",
) -> xr.Dataset:
    """All activations in memory as one Dataset (small stimulus sets; see extract_to_store)."""
    if inputs is None:
        inputs = Inputs(image={"size": image_size, "mean": mean, "std": std})
    chunks: dict[str, list[np.ndarray]] = {}
    shapes: dict[str, list[int]] = {}
    for _, feats, batch_shapes in iter_features(
        model, manifest, layers=layers, inputs=inputs, pooling=pooling, batch_size=batch_size
    ):
        for layer, values in feats.items():
            chunks.setdefault(layer, []).append(_cast(values, dtype, layer))
        shapes = batch_shapes
    data_vars = {
        layer: xr.Variable(
            (n.STIMULUS, feature_dim(layer)),
            np.concatenate(parts),
            attrs={n.ORIGINAL_SHAPE: shapes[layer], "pooling": pooling, n.REDUCTION: "none"},
        )
        for layer, parts in chunks.items()
    }
    return xr.Dataset(
        data_vars,
        coords={n.STIMULUS: np.array(manifest["stimulus"].astype(str).tolist(), dtype=str)},
        attrs={n.MODEL: model_name, "layers": list(chunks)},
    )
