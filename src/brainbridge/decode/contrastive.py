"""Contrastive brain decoders trained with the CLIP (InfoNCE) loss against layer features.

M/EEG (``trial x channel x time``), in the spirit of Défossez et al. (2023):

* spatial attention over sensor positions: each of ``spatial`` virtual channels is a softmax
  mix of the input channels whose logits are a learned function of Fourier features of the 2-D
  sensor positions, so a montage with other sensors reuses the same front end;
* a subject layer (one learned ``spatial x spatial`` matrix per subject, identity at start);
* ``encoder="deep"``: residual temporal convolution blocks (dilated, GELU, batch norm), then
  a linear head from the flattened time course to the target dimension;
  ``encoder="linear"`` (the default): the linear head straight after the subject layer.

fMRI (``trial x voxel``): ``deep``, a two-layer MLP; ``linear``, one linear map.

Why linear by default: identification compares layers (which layer does a window or region
carry?). A nonlinear encoder trained against a deep layer can compute that layer from an
earlier one it finds in the brain (conv3 is a function of conv2), and the layer whose geometry
is easiest to discriminate (few category-like dimensions) then wins whatever drives the unit.
A linear encoder asks what ridge asks (which layer is linearly present), trained with another
loss; ``deep`` is the Défossez-style network for large data sets.

Training: batches of trials; a trial's positives are its own stimulus' features, the negatives
the other stimuli of the batch (duplicates merged); the loss is
``(1 - mse_weight) * CLIP + mse_weight * MSE`` (a CLIP + MSE mix as in Benchetrit et al.,
2023), the MSE on targets divided by their root mean square, which ties each output to its own
target dimension (the space both decoders are scored in); early stopping on that loss over a
validation split of the training stimuli. Seeded, deterministic on CPU; CUDA when present.
Checkpoints are safetensors with a JSON sidecar describing the architecture.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ARCHITECTURES = ("meeg", "fmri")
ENCODERS = ("linear", "deep")


@dataclass(frozen=True)
class ContrastiveConfig:
    """Training settings (``decoding.contrastive`` in the config)."""

    encoder: str = "linear"  # linear | deep (residual temporal convs for M/EEG, MLP for fMRI)
    hidden: int = 32  # virtual channels (M/EEG) or MLP width (fMRI, deep)
    blocks: int = 2  # residual temporal conv blocks (M/EEG, deep)
    fourier: int = 4  # Fourier frequencies per axis of the spatial attention
    dropout: float = 0.1
    mse_weight: float = 0.5  # loss = (1 - w) * CLIP + w * MSE (0: CLIP alone)
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-3
    patience: int = 10
    valid_fraction: float = 0.2
    temperature: float = 0.1
    device: str = "auto"  # auto | cpu | cuda
    every: int = 2  # M/EEG: train at every n-th sliding window only (read by the identity driver)

    @classmethod
    def from_dict(cls, cfg: dict | None) -> ContrastiveConfig:
        cfg = dict(cfg or {})
        known = {f for f in cls.__dataclass_fields__}
        conf = cls(**{k: v for k, v in cfg.items() if k in known})
        if conf.encoder not in ENCODERS:
            raise ValueError(
                f"decoding.contrastive.encoder is {conf.encoder!r}; use one of {ENCODERS}"
            )
        if not 0.0 <= conf.mse_weight <= 1.0:
            raise ValueError(
                f"decoding.contrastive.mse_weight={conf.mse_weight} must lie in [0, 1]"
            )
        return conf


@dataclass(frozen=True)
class Architecture:
    """What a checkpoint must match to be loaded."""

    kind: str  # meeg | fmri
    n_inputs: int  # channels or voxels
    n_times: int  # samples per window (1 for fMRI)
    out_dim: int
    hidden: int
    blocks: int
    fourier: int
    n_subjects: int = 1
    dropout: float = 0.1
    encoder: str = "deep"  # checkpoints written before the linear encoder existed are deep
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- modules


def fourier_features(positions: torch.Tensor, n_freq: int) -> torch.Tensor:
    """``(n_channels, 2 * n_freq**2)`` cos/sin features of 2-D positions scaled to [0, 1]."""
    pos = positions - positions.min(0).values
    pos = pos / pos.max(0).values.clamp_min(1e-9)
    k = torch.arange(n_freq, dtype=pos.dtype, device=pos.device)
    phase = 2 * math.pi * (pos[:, :1, None] * k[None, :, None] + pos[:, 1:2, None] * k[None, None])
    phase = phase.reshape(pos.shape[0], -1)
    return torch.cat([torch.cos(phase), torch.sin(phase)], dim=1)


class SpatialAttention(nn.Module):
    """Virtual channels as position-dependent softmax mixtures of the input sensors."""

    def __init__(self, n_out: int, n_freq: int) -> None:
        super().__init__()
        self.n_freq = n_freq
        self.logits = nn.Linear(2 * n_freq * n_freq, n_out)

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.logits(fourier_features(positions, self.n_freq)), dim=0)
        return torch.einsum("bct,co->bot", x, weights)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.norm = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(F.gelu(self.norm(self.conv(x))))


class MEEGEncoder(nn.Module):
    """Spatial attention -> 1x1 conv -> subject layer -> [residual temporal convs] -> head.

    ``arch.encoder == "linear"``: no temporal blocks and no nonlinearity (dropout only)."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        h = arch.hidden
        self.spatial = SpatialAttention(h, arch.fourier)
        self.mix = nn.Conv1d(h, h, 1)
        self.subject = nn.Parameter(torch.eye(h).repeat(arch.n_subjects, 1, 1))
        self.deep = arch.encoder == "deep"
        self.blocks = (
            nn.Sequential(
                *(ResidualBlock(h, 2 ** (i % 3), arch.dropout) for i in range(arch.blocks))
            )
            if self.deep
            else nn.Dropout(arch.dropout)
        )
        self.head = nn.Linear(h * arch.n_times, arch.out_dim)

    def forward(self, x, positions, subject=None):
        z = self.mix(self.spatial(x, positions))
        s = self.subject[subject if subject is not None else torch.zeros_like(x[:, 0, 0]).long()]
        z = self.blocks(torch.einsum("bct,bco->bot", z, s))
        return self.head((F.gelu(z) if self.deep else z).flatten(1))


class FMRIEncoder(nn.Module):
    """A region's voxels to the target dimension: a two-layer MLP (deep) or a linear map."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        if arch.encoder == "linear":
            self.net = nn.Sequential(
                nn.Dropout(arch.dropout), nn.Linear(arch.n_inputs, arch.out_dim)
            )
            return
        self.net = nn.Sequential(
            nn.Dropout(arch.dropout),
            nn.Linear(arch.n_inputs, arch.hidden),
            nn.GELU(),
            nn.Linear(arch.hidden, arch.out_dim),
        )

    def forward(self, x, positions=None, subject=None):
        return self.net(x.flatten(1))


def build_model(arch: Architecture) -> nn.Module:
    if arch.kind not in ARCHITECTURES:
        raise ValueError(f"architecture kind must be one of {ARCHITECTURES}, got {arch.kind!r}")
    if arch.encoder not in ENCODERS:
        raise ValueError(f"architecture encoder must be one of {ENCODERS}, got {arch.encoder!r}")
    return MEEGEncoder(arch) if arch.kind == "meeg" else FMRIEncoder(arch)


def clip_loss(brain: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, temperature):
    """InfoNCE of each brain embedding against the batch's candidate targets (cosine logits)."""
    logits = F.normalize(brain, dim=1) @ F.normalize(targets, dim=1).T / temperature
    return F.cross_entropy(logits, labels)


# --------------------------------------------------------------------------- training


def pick_device(name: str = "auto") -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("decoding.contrastive.device is 'cuda' but no GPU is visible; use 'auto'")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _batch_loss(model, X, Y, stim, idx, positions, temperature, mse_weight: float = 0.0):
    """CLIP loss of a batch of trials, mixed with the MSE to their targets by ``mse_weight``."""
    uniq, labels = torch.unique(stim[idx], return_inverse=True)
    first = torch.zeros(len(uniq), dtype=torch.long, device=X.device)
    first[labels] = idx  # any trial of each stimulus carries its target
    out = model(X[idx], positions)
    loss = clip_loss(out, Y[first], labels, temperature)
    if mse_weight:
        loss = (1 - mse_weight) * loss + mse_weight * F.mse_loss(out, Y[idx])
    return loss


class ContrastiveDecoder:
    """Fit a contrastive encoder on one brain unit; predict target-space embeddings."""

    def __init__(
        self,
        config: ContrastiveConfig | None = None,
        *,
        positions: np.ndarray | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config or ContrastiveConfig()
        self.positions = positions
        self.seed = seed

    def architecture(self, X: np.ndarray, out_dim: int) -> Architecture:
        c = self.config
        kind = "meeg" if X.ndim == 3 else "fmri"
        return Architecture(
            kind=kind,
            n_inputs=int(X.shape[1]),
            n_times=int(X.shape[2]) if kind == "meeg" else 1,
            out_dim=int(out_dim),
            hidden=c.hidden,
            blocks=c.blocks,
            fourier=c.fourier,
            dropout=c.dropout,
            encoder=c.encoder,
        )

    def _positions(self, n_channels: int) -> np.ndarray:
        if self.positions is not None:
            pos = np.asarray(self.positions, dtype=np.float64)[:, :2]
            if pos.shape[0] == n_channels and np.all(np.isfinite(pos)) and np.ptp(pos, 0).min() > 0:
                return pos
        angle = 2 * np.pi * np.arange(n_channels) / n_channels  # no montage: sensors on a circle
        return np.stack([np.cos(angle), np.sin(angle)], 1)

    def fit(self, X: Any, Y: Any, stimulus: Any) -> ContrastiveDecoder:
        """Train on trials ``X`` with targets ``Y`` (trial x dim) and stimulus ids per trial."""
        c = self.config
        X = np.asarray(X, dtype=np.float32)
        Y = np.asarray(Y, dtype=np.float32)
        stim = np.unique(np.asarray(stimulus).astype(str), return_inverse=True)[1]
        rng = np.random.default_rng(self.seed)
        stims = np.unique(stim)
        n_valid = int(round(c.valid_fraction * len(stims))) if len(stims) >= 10 else 0
        valid_stims = rng.permutation(stims)[:n_valid]
        is_valid = np.isin(stim, valid_stims)
        n_train = int((~is_valid).sum())
        if c.batch_size > n_train:
            raise ValueError(
                f"decoding.contrastive.batch_size={c.batch_size} exceeds the {n_train} training "
                f"trials of a fold; set decoding.contrastive.batch_size <= {n_train}"
            )
        torch.manual_seed(self.seed)
        device = pick_device(c.device)
        axes = (0, 2) if X.ndim == 3 else (0,)
        self.mean_ = X[~is_valid].mean(axes, keepdims=True)[0]
        sd = X[~is_valid].std(axes, keepdims=True)[0]
        self.scale_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
        self.arch_ = self.architecture(X, Y.shape[1])
        model = build_model(self.arch_).to(device)
        pos = torch.as_tensor(self._positions(X.shape[1]), dtype=torch.float32, device=device)
        Xt = torch.as_tensor((X - self.mean_) / self.scale_, device=device)
        rms = float(np.sqrt(np.mean(Y[~is_valid] ** 2)))
        self.target_scale_ = np.float32(rms if rms > 0 else 1.0)  # MSE on unit-RMS targets
        Yt = torch.as_tensor(Y / self.target_scale_, device=device)
        St = torch.as_tensor(stim, device=device)
        train_idx = torch.as_tensor(np.flatnonzero(~is_valid), device=device)
        valid_idx = torch.as_tensor(np.flatnonzero(is_valid), device=device)
        opt = torch.optim.AdamW(model.parameters(), lr=c.learning_rate, weight_decay=c.weight_decay)
        gen = torch.Generator().manual_seed(self.seed)
        best, best_state, waited, self.history_ = math.inf, None, 0, []
        for _epoch in range(c.epochs):
            model.train()
            order = train_idx[torch.randperm(len(train_idx), generator=gen).to(device)]
            for start in range(0, len(order) - c.batch_size + 1, c.batch_size):
                batch = order[start : start + c.batch_size]
                loss = _batch_loss(model, Xt, Yt, St, batch, pos, c.temperature, c.mse_weight)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if not len(valid_idx):
                continue
            model.eval()
            with torch.no_grad():
                val = float(
                    _batch_loss(model, Xt, Yt, St, valid_idx, pos, c.temperature, c.mse_weight)
                )
            self.history_.append(val)
            if val < best - 1e-4:
                best, best_state, waited = val, copy.deepcopy(model.state_dict()), 0
            else:
                waited += 1
                if waited >= c.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)
        self.model_, self.device_, self.positions_ = model.eval(), device, pos
        return self

    def predict(self, X: Any) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise ValueError("this ContrastiveDecoder is not fitted yet; call fit first")
        Xt = torch.as_tensor(
            (np.asarray(X, dtype=np.float32) - self.mean_) / self.scale_, device=self.device_
        )
        with torch.no_grad():
            out = self.model_(Xt, self.positions_).cpu().numpy().astype(np.float64)
        return out * float(self.target_scale_)  # in the targets' units

    def as_decoder(self):
        """The ``decoder(X_train, Y_train, X_test, stimulus_train)`` callable of crossval."""

        def decode(X_train, Y_train, X_test, stimulus_train):
            return self.fit(X_train, Y_train, stimulus_train).predict(X_test)

        decode.owner = self  # type: ignore[attr-defined]
        return decode

    # ----------------------------------------------------------------------- checkpoints

    def save(self, path: str | Path, **info: object) -> Path:
        """Weights as safetensors at ``path``, architecture + normalisation in ``path``.json
        (with ``info``: e.g. the layer and brain unit it decodes)."""
        from safetensors.torch import save_file

        from brainbridge.atomic import atomic_path

        path = Path(path)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model_.state_dict().items()}
        state["_input_mean"] = torch.as_tensor(self.mean_)
        state["_input_scale"] = torch.as_tensor(self.scale_)
        state["_positions"] = self.positions_.detach().cpu()
        state["_target_scale"] = torch.as_tensor(np.atleast_1d(self.target_scale_))
        meta = {"architecture": asdict(self.arch_), "config": asdict(self.config), "info": info}
        with atomic_path(path) as tmp:
            save_file(state, str(tmp))
        with atomic_path(sidecar(path)) as tmp:
            Path(tmp).write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        return path


def sidecar(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def load_decoder(path: str | Path, expected: Architecture | None = None) -> ContrastiveDecoder:
    """A fitted decoder from a checkpoint; ``expected`` must match its architecture."""
    from safetensors.torch import load_file

    path = Path(path)
    meta = json.loads(sidecar(path).read_text(encoding="utf-8"))
    arch = Architecture(**meta["architecture"])
    if expected is not None and asdict(expected) != asdict(arch):
        diff = {
            k: (v, asdict(expected)[k]) for k, v in asdict(arch).items() if asdict(expected)[k] != v
        }
        raise ValueError(
            f"checkpoint {path} holds another architecture (checkpoint vs wanted: {diff}); "
            "retrain it with these decoding.contrastive settings or point to a matching checkpoint"
        )
    state = load_file(str(path))
    dec = ContrastiveDecoder(ContrastiveConfig.from_dict(meta["config"]))
    model = build_model(arch)
    try:
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith("_")})
    except RuntimeError as err:
        raise ValueError(
            f"checkpoint {path} does not fit its declared architecture ({err}); retrain it"
        ) from err
    dec.arch_, dec.model_, dec.device_ = arch, model.eval(), torch.device("cpu")
    dec.mean_, dec.scale_ = state["_input_mean"].numpy(), state["_input_scale"].numpy()
    dec.positions_ = state["_positions"]
    # checkpoints written before the MSE term trained on the targets as they were
    scale = state.get("_target_scale")
    dec.target_scale_ = np.float32(1.0 if scale is None else scale.numpy()[0])
    return dec
