"""Layer selection by name or glob, and forward hooks that capture them in one pass."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

OUTPUT = "output"  # pseudo-layer: what the model returns (the only one of TorchScript models)


def list_layers(model: nn.Module) -> list[str]:
    """Names of every sub-module, in forward-definition order."""
    return [name for name, _ in model.named_modules() if name]


def select_layers(model: nn.Module, patterns: list[str]) -> list[str]:
    """Resolve names or globs (``layer*``, ``encoder.layer.*.output``) to module names.

    ``output`` (when no module has that name) stands for the model's return value.
    """
    available = list_layers(model)
    chosen: list[str] = []
    for pattern in patterns:
        if pattern == OUTPUT and OUTPUT not in available:
            chosen.append(OUTPUT)
            continue
        matches = [a for a in available if fnmatch.fnmatchcase(a, pattern)]
        if not matches:
            close = difflib.get_close_matches(pattern, available, n=3)
            hint = f" Did you mean {close}?" if close else ""
            raise ValueError(
                f"layer {pattern!r} matches no module of {type(model).__name__}.{hint} "
                "List the names with `brainbridge layers MODEL`."
            )
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def pool(output: torch.Tensor, method: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Reduce one layer's output to (batch, features).

    ``mask`` (batch, tokens), for token outputs (batch, tokens, channels): ``mean`` averages
    only the tokens where it is 1, so padding never changes a stimulus' features.
    """
    if method == "flatten":
        return output.flatten(1)
    if method == "mean":  # over space (B, C, H, W) or tokens (B, T, C)
        if output.ndim == 4:
            return output.mean(dim=(2, 3))
        if output.ndim == 3:
            if mask is not None and mask.shape == output.shape[:2]:
                weights = mask.to(output.dtype).unsqueeze(-1)
                return (output * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
            return output.mean(dim=1)
        return output.flatten(1)
    if method == "cls":
        return output[:, 0] if output.ndim == 3 else output.flatten(1)
    raise ValueError(f"unknown pooling {method!r}; choose flatten, mean or cls.")


TENSOR_KEYS = ("sentence_embedding", "last_hidden_state", "token_embeddings", "logits")


def first_tensor(output, name: str = "") -> torch.Tensor:
    """The activation tensor of a module output (a tensor, a tuple, or a dict / ModelOutput)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        for key in TENSOR_KEYS:
            if isinstance(output.get(key), torch.Tensor):
                return output[key]
        output = list(output.values())
    if isinstance(output, list | tuple):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    raise TypeError(f"layer {name!r} returns {type(output).__name__}, which holds no tensor.")


@contextmanager
def capture(model: nn.Module, layers: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Forward hooks filling a dict ``{layer: output}`` on every forward pass."""
    modules = dict(model.named_modules())
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for name in layers:
        if name == OUTPUT and name not in modules:
            continue  # filled by the caller from the model's return value

        def hook(_module, _inputs, output, name=name):
            outputs[name] = first_tensor(output, name)

        try:
            handles.append(modules[name].register_forward_hook(hook))
        except RuntimeError as err:  # TorchScript modules take no hooks
            for handle in handles:
                handle.remove()
            raise ValueError(
                f"layer {name!r} of a TorchScript model cannot be hooked ({err}); extract the "
                f"model's return value with layers: [{OUTPUT!r}], or load the architecture "
                "with source 'module'."
            ) from err
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()
