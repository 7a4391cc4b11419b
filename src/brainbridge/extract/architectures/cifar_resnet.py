"""The CIFAR ResNet of He et al. (2016), the 6n+2 variant with option-A shortcuts.

Three stages of ``n`` basic blocks (16, 32, 64 channels on 32, 16, 8 pixels), global average
pooling and a linear classifier over the 10 CIFAR classes: resnet20 has n = 3, resnet56 n = 9.
Option-A shortcuts add no parameters: where a block halves the resolution and doubles the
channels, the identity is subsampled with stride 2 and zero-padded with the missing channels.

Module names match the published state dicts (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``linear``) once their ``module.`` prefix (from ``nn.DataParallel``) is removed.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
DEPTHS = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}


class PadShortcut(nn.Module):
    """Option-A shortcut: keep every other pixel and zero-pad the new channels."""

    def __init__(self, extra_channels: int) -> None:
        super().__init__()
        self.extra = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.extra // 2
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, half, self.extra - half))


class BasicBlock(nn.Module):
    """conv-bn-relu-conv-bn, plus the shortcut, then relu."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        if stride != 1 or in_channels != channels:
            self.shortcut: nn.Module = PadShortcut(channels - in_channels)
        else:
            self.shortcut = nn.Identity()
        self.relu = nn.ReLU()  # a module of its own, so that hooks can read the block output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """6n+2 layers: a 3x3 stem, 3 stages of ``n`` blocks, average pooling, linear classifier."""

    def __init__(self, blocks_per_stage: int, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        channels = 16
        stages = []
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(blocks_per_stage):
                blocks.append(BasicBlock(channels, width, stride if i == 0 else 1))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(self.avgpool(x).flatten(1))


def cifar_resnet(arch: str) -> CifarResNet:
    """An untrained network of a named depth (``resnet20``, ``resnet56``, ...)."""
    if arch not in DEPTHS:
        raise ValueError(f"unknown CIFAR ResNet {arch!r}; choose from {sorted(DEPTHS)}.")
    return CifarResNet(DEPTHS[arch])


def _state_dict(checkpoint: dict | object, path: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(
            f"{path} holds no state dict (expected a dict of tensors, or {{'state_dict': ...}})."
        )
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_strict(model: nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> nn.Module:
    """Load ``state`` so that every weight is used and no parameter stays at initialization.

    BatchNorm's ``num_batches_tracked`` counters are the only entries allowed to be absent (old
    checkpoints do not carry them, and they play no part in evaluation).
    """
    expected = model.state_dict()
    missing = sorted(
        k for k in expected if k not in state and not k.endswith("num_batches_tracked")
    )
    unexpected = sorted(k for k in state if k not in expected)
    wrong = sorted(
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in state
        if k in expected and state[k].shape != expected[k].shape
    )
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} model weight(s) absent from the file, e.g. {missing[:3]}")
        if unexpected:
            parts.append(f"{len(unexpected)} file weight(s) unused by the model: {unexpected[:3]}")
        if wrong:
            parts.append(f"shape mismatch(es): {wrong[:3]}")
        raise ValueError(
            f"weights {path} do not fit {type(model).__name__}: " + "; ".join(parts) + ". "
            "Check the architecture setting (e.g. models.<name>.arch)."
        )
    model.load_state_dict(state, strict=False)
    return model.eval()


def load_cifar_resnet(path: str | Path, arch: str) -> CifarResNet:
    """A trained CIFAR ResNet from a local ``.th`` file, every weight checked, in eval mode."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weight file {path} does not exist (nothing is downloaded).")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = cifar_resnet(arch)
    return load_strict(model, _state_dict(checkpoint, path), path)  # type: ignore[return-value]
