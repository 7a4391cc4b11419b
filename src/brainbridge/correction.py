"""Multiple-comparison corrections shared by the alignment, encoding and report stages."""

from __future__ import annotations

import numpy as np

__all__ = ["fdr_bh"]


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values over all entries (NaNs ignored, kept NaN)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.isfinite(p)
    values = p[valid]
    m = len(values)
    if m == 0:
        return out
    order = np.argsort(values)
    adjusted = values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[valid] = result
    return out
