"""A small CNN for the simulated experiment, trained briefly on the stimulus categories."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from brainbridge.atomic import write_bytes

LAYERS = ("conv1", "conv2", "conv3", "fc")


class SimNet(nn.Module):
    """conv1 -> pool -> conv2 -> pool -> conv3 -> global average -> fc (named blocks = layers)."""

    def __init__(self, n_classes: int, width: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, width, 5, padding=2), nn.ReLU())
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Sequential(nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU())
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = nn.Sequential(nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = self.gap(self.conv3(x)).flatten(1)
        return self.fc(x)


def train_network(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    n_classes: int,
    epochs: int = 30,
    learning_rate: float = 0.01,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[SimNet, list[float]]:
    """Train :class:`SimNet` on normalized ``images`` (N, 3, H, W); returns the net and accuracy."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = SimNet(n_classes)
    optim = torch.optim.Adam(net.parameters(), lr=learning_rate)
    x = torch.as_tensor(images, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    accuracy = []
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=gen)
        correct = 0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            batch = x[idx]
            if torch.rand(1, generator=gen).item() < 0.5:  # horizontal flip augmentation
                batch = batch.flip(-1)
            logits = net(batch)
            loss = nn.functional.cross_entropy(logits, y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            correct += int((logits.argmax(1) == y[idx]).sum())
        accuracy.append(correct / len(x))
    net.eval()
    return net, accuracy


def save_checkpoint(net: SimNet, path: str | Path, *, classes: list[str], meta: dict) -> None:
    """Save weights and metadata as plain tensors/strings (loadable with weights_only=True)."""
    # Saved to memory first: saved to a file, the zip members of a torch archive are named
    # after that file, i.e. after the random name of the atomic write's temporary sibling.
    buffer = io.BytesIO()
    torch.save(
        {
            "arch": "simnet",
            "n_classes": len(classes),
            "classes": classes,
            "meta": meta,
            "state_dict": net.state_dict(),
        },
        buffer,
    )
    write_bytes(buffer.getvalue(), path)


def load_simnet(path: str | Path) -> SimNet:
    """Load a checkpoint written by :func:`save_checkpoint`; every weight must match."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    net = SimNet(int(ckpt["n_classes"]))
    net.load_state_dict(ckpt["state_dict"], strict=True)
    return net.eval()
