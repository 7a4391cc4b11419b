"""The two tokenizers: single-channel time-frequency VQ (``tfm``) and sensor-aware RVQ
(``sensor``). Both take a window ``x`` (batch, channel, time), already scaled, and the sensors
of its channels; both return codes, reconstructions in time and in log spectral amplitude, and
the training loss.

- :class:`TFMTokenizer` works on each channel alone (montage-agnostic): short-time Fourier
  amplitudes (or, with ``spectrum: complex``, the complex spectrum with its amplitude
  log-compressed, which keeps the sign of evoked responses), a frequency-axis encoder per
  frame, ``patch`` frames per token, a time-axis transformer over the tokens, one codebook;
  the decoder rebuilds each token's spectral patch and its stretch of signal. With
  ``mask_ratio`` > 0 a random share of tokens is hidden from the time encoder during training
  (masked-patch objective).
- :class:`SensorTokenizer` embeds each sensor from its position, orientation and type,
  compresses any number of sensors into ``n_sources`` latent sources by cross-attention (per
  time patch), codes the sources with residual VQ (``levels``), and rebuilds every sensor by
  querying the quantized sources with that sensor's embedding, so montages share one codebook.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from brainbridge.tokenize.quantizer import ResidualVQ

#: sensor types the sensor-aware tokenizer knows (the store's ``ch_type`` values)
SENSOR_TYPES = {"eeg": 0, "mag": 1, "grad": 2}


@dataclass
class Sensors:
    """The sensors of the channels of a window: positions (C, 3) in metres, orientations
    (C, 3; zeros where unknown) and type indices (C,) into :data:`SENSOR_TYPES`."""

    positions: torch.Tensor
    orientations: torch.Tensor
    types: torch.Tensor

    def to(self, device: torch.device | str) -> Sensors:
        return Sensors(
            self.positions.to(device), self.orientations.to(device), self.types.to(device)
        )


@dataclass
class Output:
    loss: torch.Tensor
    commitment: torch.Tensor
    codes: torch.Tensor  # (batch, channel | source, token, level)
    recon: torch.Tensor  # (batch, channel, time')
    target: torch.Tensor
    spec_recon: torch.Tensor  # log(1 + spectral amplitude), any trailing shape
    spec_target: torch.Tensor


def _encoder(dim: int, heads: int, depth: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        dim, heads, 2 * dim, dropout=0.0, batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


def _log_amplitude(x: torch.Tensor) -> torch.Tensor:
    return torch.log1p(torch.fft.rfft(x, dim=-1).abs())


class Centred(nn.Module):
    """Batch normalisation (no affine part) of the vectors entering the codebook: their cloud
    stays centred with unit spread while the encoder trains, so the EMA codebook can follow it
    (without it, the encoder's drift outruns the codebook and every vector falls to one code)."""

    def __init__(self, dim: int, slots: int = 1) -> None:
        super().__init__()
        self.width = dim * slots  # ``slots``: vectors normalised apart (one per latent source)
        self.norm = nn.BatchNorm1d(self.width, affine=False, momentum=0.3)  # eval: last batches

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.norm(z.reshape(-1, self.width)).view(z.shape)


def _quantizer(cfg: dict, levels: int) -> ResidualVQ:
    return ResidualVQ(
        levels,
        int(cfg["codebook_size"]),
        int(cfg["codebook_dim"]),
        decay=float(cfg["decay"]),
        commitment=float(cfg["commitment"]),
        kmeans_iters=int(cfg["kmeans_iters"]),
        dead_threshold=float(cfg["dead_threshold"]),
    )


class TFMTokenizer(nn.Module):
    """Single-channel short-time Fourier patch tokenizer (one code per channel and token)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.cfg = cfg
        self.win, self.hop, self.patch = int(cfg["stft_window"]), int(cfg["hop"]), int(cfg["patch"])
        dim, self.freqs = int(cfg["dim"]), int(cfg["stft_window"]) // 2 + 1
        self.complex = cfg.get("spectrum", "amplitude") == "complex"
        self.feats = self.freqs * (2 if self.complex else 1)  # features per STFT frame
        frames = 1 + (int(cfg["segment"]) - self.win) // self.hop
        self.n_tokens = frames // self.patch
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)
        self.freq_encoder = nn.Sequential(nn.Linear(self.feats, dim), nn.GELU())
        self.merge = nn.Linear(self.patch * dim, dim)
        self.position = nn.Parameter(torch.zeros(self.n_tokens, dim))
        self.mask_token = nn.Parameter(torch.zeros(dim))
        self.time_encoder = _encoder(dim, int(cfg["heads"]), int(cfg["depth"]))
        self.to_code = nn.Sequential(
            nn.Linear(dim, int(cfg["codebook_dim"])), Centred(int(cfg["codebook_dim"]))
        )
        self.quantizer = _quantizer(cfg, 1)
        self.from_code = nn.Linear(int(cfg["codebook_dim"]), dim)
        self.decoder = _encoder(dim, int(cfg["heads"]), 1)
        self.spec_head = nn.Linear(dim, self.patch * self.feats)
        self.time_head = nn.Linear(dim, self.patch * self.hop)
        self.generator: torch.Generator | None = None

    def token_centers(self) -> torch.Tensor:
        """Centre of each token's samples, relative to the window start (samples)."""
        start = torch.arange(self.n_tokens) * self.patch * self.hop
        return start + ((self.patch - 1) * self.hop + self.win) / 2

    def spectra(self, x: torch.Tensor) -> torch.Tensor:
        """STFT patches (n, token, patch * feats) of single-channel rows x (n, T): log(1 + |S|)
        per frequency, or (``spectrum: complex``) the real then imaginary parts of
        S log(1 + |S|) / |S| (amplitude compressed the same way, phase kept)."""
        spec = torch.stft(
            x, self.win, self.hop, window=self.window, center=False, return_complex=True
        )
        amp = spec.abs()
        if self.complex:
            spec = spec * (torch.log1p(amp) / amp.clamp_min(1e-12))
            spec = torch.cat([spec.real, spec.imag], dim=1)
        else:
            spec = torch.log1p(amp)
        spec = spec.transpose(1, 2)[:, : self.n_tokens * self.patch]
        return spec.reshape(len(x), self.n_tokens, self.patch * self.feats)

    def log_amplitude(self, spec: torch.Tensor) -> torch.Tensor:
        """log(1 + |S|) (..., token, patch * freq) of patches from :meth:`spectra`."""
        if not self.complex:
            return spec
        parts = spec.unflatten(-1, (self.patch, 2, self.freqs))
        return torch.hypot(parts[..., 0, :], parts[..., 1, :]).flatten(-2)

    def forward(self, x: torch.Tensor, sensors: Sensors | None = None) -> Output:
        batch, channels, _ = x.shape
        rows = x.reshape(batch * channels, -1)
        spec = self.spectra(rows)
        h = self.freq_encoder(spec.view(len(rows), self.n_tokens, self.patch, self.feats))
        h = self.merge(h.flatten(2)) + self.position
        ratio = float(self.cfg.get("mask_ratio", 0.0))
        if self.training and ratio > 0:
            hidden = torch.rand(h.shape[:2], generator=self.generator).to(h.device) < ratio
            h = torch.where(hidden[..., None], self.mask_token.expand_as(h), h)
        h = self.time_encoder(h)
        q = self.quantizer(self.to_code(h))
        d = self.decoder(self.from_code(q.vectors) + self.position)
        spec_recon = self.spec_head(d)
        span = self.n_tokens * self.patch * self.hop
        recon = self.time_head(d).reshape(batch, channels, span)
        target = x[..., :span]
        loss = (
            torch.mean((recon - target) ** 2) + torch.mean((spec_recon - spec) ** 2) + q.commitment
        )
        codes = q.codes.reshape(batch, channels, self.n_tokens, 1)
        spec_recon, spec = self.log_amplitude(spec_recon), self.log_amplitude(spec)
        return Output(
            loss, q.commitment, codes, recon, target,
            spec_recon.reshape(batch, channels, -1), spec.reshape(batch, channels, -1),
        )  # fmt: skip


class SensorTokenizer(nn.Module):
    """Sensor-aware multichannel tokenizer: sensors -> latent sources -> residual VQ."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.cfg = cfg
        dim, heads = int(cfg["dim"]), int(cfg["heads"])
        self.patch = int(cfg["patch"])
        self.n_tokens = int(cfg["segment"]) // self.patch
        self.n_sources = int(cfg["n_sources"])
        self.sensor_mlp = nn.Sequential(nn.Linear(6, dim), nn.GELU(), nn.Linear(dim, dim))
        self.type_embedding = nn.Embedding(len(SENSOR_TYPES), dim)
        self.patch_embedding = nn.Linear(self.patch, dim)
        self.position = nn.Parameter(torch.zeros(self.n_tokens, dim))
        self.mix = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim)
        )
        self.latents = nn.Parameter(torch.randn(self.n_sources, dim) * 0.1)
        self.compress = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.source_encoder = _encoder(dim, heads, int(cfg["depth"]))
        # each source centred apart: pooled, the spread between sources (their query
        # embeddings) dwarfs the spread of any one source over windows, and codes name sources
        self.to_code = nn.Sequential(
            nn.Linear(dim, int(cfg["codebook_dim"])),
            Centred(int(cfg["codebook_dim"]), self.n_sources),
        )
        self.quantizer = _quantizer(cfg, int(cfg["levels"]))
        self.from_code = nn.Linear(int(cfg["codebook_dim"]), dim)
        self.expand = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, self.patch))
        self.generator: torch.Generator | None = None

    def token_centers(self) -> torch.Tensor:
        return torch.arange(self.n_tokens) * self.patch + self.patch / 2

    def embed_sensors(self, sensors: Sensors) -> torch.Tensor:
        """(C, dim) from position (scaled to decimetres), orientation and type."""
        geometry = torch.cat([sensors.positions * 10.0, sensors.orientations], dim=-1)
        return self.sensor_mlp(geometry.float()) + self.type_embedding(sensors.types)

    def forward(self, x: torch.Tensor, sensors: Sensors) -> Output:
        batch, channels, _ = x.shape
        span = self.n_tokens * self.patch
        target = x[..., :span]
        emb = self.embed_sensors(sensors)  # (C, dim)
        h = self.patch_embedding(target.reshape(batch, channels, self.n_tokens, self.patch))
        h = h + emb[None, :, None] + self.position[None, None]
        h = h + self.mix(h)  # signal x sensor terms: a plain sum cancels under average reference
        h = h.permute(0, 2, 1, 3).reshape(batch * self.n_tokens, channels, -1)
        queries = (self.latents[None] + self.position[:, None]).repeat(batch, 1, 1)
        z, _ = self.compress(queries, h, h, need_weights=False)
        z = self.source_encoder(z + queries)
        q = self.quantizer(self.to_code(z))  # (batch * token, source, code_dim)
        sources = self.from_code(q.vectors)
        asks = (emb[None] + self.position[:, None]).repeat(batch, 1, 1)  # (batch*token, C, dim)
        out, _ = self.expand(asks, sources, sources, need_weights=False)
        recon = self.head(out + asks).reshape(batch, self.n_tokens, channels, self.patch)
        recon = recon.permute(0, 2, 1, 3).reshape(batch, channels, span)
        spec_recon, spec_target = _log_amplitude(recon), _log_amplitude(target)
        loss = torch.mean((recon - target) ** 2) + q.commitment
        codes = q.codes.reshape(batch, self.n_tokens, self.n_sources, -1).permute(0, 2, 1, 3)
        return Output(loss, q.commitment, codes, recon, target, spec_recon, spec_target)


def build(cfg: dict) -> TFMTokenizer | SensorTokenizer:
    """The tokenizer of a resolved config (see :func:`brainbridge.tokenize.config.resolve`)."""
    return TFMTokenizer(cfg) if cfg["kind"] == "tfm" else SensorTokenizer(cfg)


def set_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    """Route every random draw of the model (masking, k-means, restarts) to ``generator``."""
    model.generator = generator
    model.quantizer.generator = generator
