"""Vector quantization shared by every tokenizer: one codebook (:class:`VectorQuantizer`) and a
stack of them on residuals (:class:`ResidualVQ`).

The codebook is initialised by k-means (k-means++ seeding, a few Lloyd iterations) on the first
training batch, then follows the encoder by exponential moving averages of the vectors assigned
to each code (no codebook gradient). Codes whose moving-average count falls below
``dead_threshold`` are restarted on random vectors of the current batch. The encoder is pulled
towards its codes by the commitment loss and receives gradients through the straight-through
estimator (the quantized vector is ``x + (q - x).detach()``). Every random choice draws from
``self.generator`` when the caller sets one, so training is reproducible for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


class QuantizerError(ValueError):
    """A quantizer setting that cannot work."""


def kmeans_pp(x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """k-means++ seeds: ``k`` rows of ``x`` drawn with probability proportional to D^2."""
    n = x.shape[0]
    first = int(torch.randint(n, (1,), generator=generator))
    centers = [x[first]]
    dist = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        total = float(dist.sum())
        if total <= 0:  # fewer distinct points than codes: duplicate at random
            idx = int(torch.randint(n, (1,), generator=generator))
        else:
            idx = int(torch.multinomial(dist / total, 1, generator=generator))
        centers.append(x[idx])
        dist = torch.minimum(dist, ((x - x[idx]) ** 2).sum(1))
    return torch.stack(centers)


def kmeans(
    x: torch.Tensor, k: int, iters: int = 10, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means from k-means++ seeds; returns (centers (k, d), counts (k,))."""
    centers = kmeans_pp(x, k, generator)
    counts = torch.zeros(k, dtype=x.dtype, device=x.device)
    for _ in range(max(1, iters)):
        assign = torch.cdist(x, centers).argmin(1)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        sums = torch.zeros_like(centers).index_add_(0, assign, x)
        filled = counts > 0
        centers[filled] = sums[filled] / counts[filled, None]  # empty clusters keep their seed
    return centers, counts


@dataclass
class Quantized:
    """Output of a quantizer: straight-through vectors, integer codes and commitment loss."""

    vectors: torch.Tensor  # (..., dim)
    codes: torch.Tensor  # (...) or (..., levels), int64
    commitment: torch.Tensor  # scalar, already weighted


class VectorQuantizer(nn.Module):
    """One EMA codebook of ``codebook_size`` codes of ``dim`` values."""

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        *,
        decay: float = 0.95,
        commitment: float = 0.25,
        kmeans_iters: int = 10,
        dead_threshold: float = 0.5,
        normalize: bool = False,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if int(codebook_size) < 1:
            raise QuantizerError(
                f"codebook_size is {codebook_size}; a codebook needs at least 1 code "
                "(set codebook_size to e.g. 64 or more)."
            )
        if int(dim) < 1:
            raise QuantizerError(f"codebook_dim is {dim}; give a positive code dimension.")
        if not 0.0 < decay < 1.0:
            raise QuantizerError(f"decay is {decay}; the EMA decay must lie in (0, 1).")
        self.codebook_size, self.dim = int(codebook_size), int(dim)
        self.decay, self.commitment, self.eps = float(decay), float(commitment), float(eps)
        self.kmeans_iters, self.dead_threshold = int(kmeans_iters), float(dead_threshold)
        self.normalize = bool(normalize)
        self.register_buffer("codebook", torch.zeros(self.codebook_size, self.dim))
        self.register_buffer("cluster_size", torch.zeros(self.codebook_size))
        self.register_buffer("embed_sum", torch.zeros(self.codebook_size, self.dim))
        self.register_buffer("initted", torch.zeros((), dtype=torch.bool))
        self.generator: torch.Generator | None = None

    def distances(self, flat: torch.Tensor) -> torch.Tensor:
        """Squared Euclidean distances (n, codebook_size)."""
        cb = self.codebook
        return (flat**2).sum(1, keepdim=True) - 2 * flat @ cb.T + (cb**2).sum(1)[None]

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        return self.codebook[codes]

    def forward(self, x: torch.Tensor) -> Quantized:
        flat = x.reshape(-1, self.dim)
        if self.normalize:  # codes on the unit sphere: well-conditioned distances, no shrinking
            flat = torch.nn.functional.normalize(flat, dim=-1)
        if self.training and not bool(self.initted):
            self._init(flat.detach().float())
        codes = self.distances(flat.detach()).argmin(1)
        quant = self.codebook[codes].to(x.dtype)
        if self.training:
            with torch.no_grad():
                self._ema(flat.detach().float(), codes)
        commit = self.commitment * torch.mean((flat - quant.detach()) ** 2)
        st = flat + (quant - flat).detach()
        return Quantized(st.view(x.shape), codes.view(x.shape[:-1]), commit)

    @torch.no_grad()
    def _init(self, flat: torch.Tensor) -> None:
        centers, counts = kmeans(flat.cpu(), self.codebook_size, self.kmeans_iters, self.generator)
        if self.normalize:
            centers = torch.nn.functional.normalize(centers, dim=-1)
        self.codebook.copy_(centers)
        self.cluster_size.copy_(counts)
        self.embed_sum.copy_(centers * counts[:, None])
        self.initted.fill_(True)

    def _ema(self, flat: torch.Tensor, codes: torch.Tensor) -> None:
        counts = torch.bincount(codes, minlength=self.codebook_size).to(flat.dtype)
        sums = torch.zeros_like(self.embed_sum).index_add_(0, codes, flat)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.codebook_size * self.eps) * total
        book = self.embed_sum / smoothed[:, None]
        if self.normalize:
            book = torch.nn.functional.normalize(book, dim=-1)
        self.codebook.copy_(book)
        self._restart(flat)

    def _restart(self, flat: torch.Tensor) -> None:
        """Dead codes (EMA count below the threshold) jump to random vectors of the batch."""
        dead = torch.nonzero(self.cluster_size < self.dead_threshold).flatten()
        if len(dead) == 0:
            return
        pick = torch.randint(len(flat), (len(dead),), generator=self.generator)
        fresh = flat[pick.to(flat.device)]
        self.codebook[dead] = fresh
        self.cluster_size[dead] = 1.0
        self.embed_sum[dead] = fresh


class ResidualVQ(nn.Module):
    """``levels`` codebooks, each quantizing what the previous ones left (residual VQ)."""

    def __init__(self, levels: int, codebook_size: int, dim: int, **kwargs: float) -> None:
        super().__init__()
        if int(levels) < 1:
            raise QuantizerError(f"levels is {levels}; residual VQ needs at least 1 level.")
        self.layers = nn.ModuleList(
            VectorQuantizer(codebook_size, dim, **kwargs) for _ in range(int(levels))
        )

    @property
    def generator(self) -> torch.Generator | None:
        return self.layers[0].generator

    @generator.setter
    def generator(self, value: torch.Generator | None) -> None:
        for layer in self.layers:
            layer.generator = value

    def forward(self, x: torch.Tensor) -> Quantized:
        residual, total = x, torch.zeros_like(x)
        codes, commit = [], x.new_zeros(())
        for layer in self.layers:
            q = layer(residual)
            total = total + q.vectors
            residual = residual - q.vectors.detach()
            codes.append(q.codes)
            commit = commit + q.commitment
        # one straight-through path from the input to the sum of all levels
        st = x + (total - x).detach()
        return Quantized(st, torch.stack(codes, -1), commit)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Sum of the code vectors of every level; ``codes`` (..., levels)."""
        return sum(layer.lookup(codes[..., i]) for i, layer in enumerate(self.layers))

    def codebooks(self) -> torch.Tensor:
        """(levels, codebook_size, dim)."""
        return torch.stack([layer.codebook for layer in self.layers])
