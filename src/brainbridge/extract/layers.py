"""Layer selection by name or glob, and forward hooks that capture them in one pass."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def list_layers(model: nn.Module) -> list[str]:
    """Names of every sub-module, in forward-definition order."""
    return [name for name, _ in model.named_modules() if name]


def select_layers(model: nn.Module, patterns: list[str]) -> list[str]:
    """Resolve names or globs (``layer*``, ``encoder.layer.*.output``) to module names."""
    available = list_layers(model)
    chosen: list[str] = []
    for pattern in patterns:
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


def pool(output: torch.Tensor, method: str) -> torch.Tensor:
    """Reduce one layer's output to (batch, features)."""
    if method == "flatten":
        return output.flatten(1)
    if method == "mean":  # over space (B, C, H, W) or tokens (B, T, C)
        if output.ndim == 4:
            return output.mean(dim=(2, 3))
        if output.ndim == 3:
            return output.mean(dim=1)
        return output.flatten(1)
    if method == "cls":
        return output[:, 0] if output.ndim == 3 else output.flatten(1)
    raise ValueError(f"unknown pooling {method!r}; choose flatten, mean or cls.")


@contextmanager
def capture(model: nn.Module, layers: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Forward hooks filling a dict ``{layer: output}`` on every forward pass."""
    modules = dict(model.named_modules())
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for name in layers:

        def hook(_module, _inputs, output, name=name):
            outputs[name] = output[0] if isinstance(output, tuple) else output

        handles.append(modules[name].register_forward_hook(hook))
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()
