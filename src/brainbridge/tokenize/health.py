"""Codebook health of an epoch: utilisation, perplexity, dead codes, reconstruction quality."""

from __future__ import annotations

import numpy as np
import torch

COLUMNS = (
    "epoch", "level", "loss", "commitment", "utilisation", "perplexity", "dead_codes",
    "mse_time", "r_time", "mse_spectrum", "r_spectrum", "windows",
)  # fmt: skip


def _row_r(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson r of each row of a and b (rows with no variance give NaN)."""
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    den = a.norm(dim=-1) * b.norm(dim=-1)
    return torch.where(den > 0, (a * b).sum(-1) / den.clamp_min(1e-30), torch.nan)


class HealthMeter:
    """Accumulates code counts and reconstruction errors over the batches of one epoch."""

    def __init__(self, codebook_size: int, levels: int) -> None:
        self.counts = np.zeros((levels, codebook_size), np.int64)
        self.sums: dict[str, float] = {}
        self.weights: dict[str, float] = {}
        self.windows = 0

    def _add(self, key: str, value: float, weight: float) -> None:
        if np.isfinite(value):
            self.sums[key] = self.sums.get(key, 0.0) + value * weight
            self.weights[key] = self.weights.get(key, 0.0) + weight

    @torch.no_grad()
    def update(self, out, n_windows: int) -> None:
        codes = out.codes.reshape(-1, out.codes.shape[-1]).cpu().numpy()
        for level in range(codes.shape[1]):
            self.counts[level] += np.bincount(codes[:, level], minlength=self.counts.shape[1])
        self.windows += n_windows
        self._add("loss", float(out.loss), n_windows)
        self._add("commitment", float(out.commitment), n_windows)
        rec, tgt = out.recon.flatten(0, 1), out.target.flatten(0, 1)
        self._add("mse_time", float(torch.mean((rec - tgt) ** 2)), n_windows)
        self._add("r_time", float(torch.nanmean(_row_r(rec, tgt))), n_windows)
        srec, stgt = out.spec_recon.flatten(0, 1), out.spec_target.flatten(0, 1)
        self._add("mse_spectrum", float(torch.mean((srec - stgt) ** 2)), n_windows)
        self._add("r_spectrum", float(torch.nanmean(_row_r(srec, stgt))), n_windows)

    def rows(self, epoch: int) -> list[dict]:
        means = {k: self.sums[k] / self.weights[k] for k in self.sums}
        rows = []
        for level, counts in enumerate(self.counts):
            total = counts.sum()
            p = counts[counts > 0] / max(total, 1)
            rows.append(
                {
                    "epoch": epoch,
                    "level": level,
                    **{k: means.get(k, np.nan) for k in COLUMNS[2:4]},
                    "utilisation": float((counts > 0).mean()),
                    "perplexity": float(np.exp(-(p * np.log(p)).sum())) if total else np.nan,
                    "dead_codes": int((counts == 0).sum()),
                    **{k: means.get(k, np.nan) for k in COLUMNS[7:11]},
                    "windows": self.windows,
                }
            )
        return rows
