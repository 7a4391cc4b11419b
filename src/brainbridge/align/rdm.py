"""Representational dissimilarity matrices (RDMs), batched over leading dimensions.

All functions take ``patterns`` of shape ``(..., n_stimuli, n_features)``; any leading
dimensions (time points, subjects, layers) are treated as a batch and computed with one
batched matrix product, never a Python loop.

Distance conventions (``method``):

* ``"correlation"`` – ``1 - pearson_r`` between the two stimulus patterns across features.
  Range [0, 2]; 0 = identical pattern shape. Equals ``rsatoolbox.rdm.calc_rdm(...,
  method="correlation")``.
* ``"euclidean"`` – plain Euclidean distance ``||x_i - x_j||`` (square root taken).
  Range [0, inf). Note: this is NOT rsatoolbox's ``"euclidean"``.
* ``"sqeuclidean"`` – squared Euclidean distance ``||x_i - x_j||**2``.

``per_feature=True`` divides the squared distances by ``n_features`` before any square
root; ``compute_rdms(x, "sqeuclidean", per_feature=True)`` therefore equals rsatoolbox's
``"euclidean"`` (which is the squared Euclidean distance divided by the number of channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

RDMMethod = Literal["correlation", "euclidean", "sqeuclidean"]
RDM_METHODS: tuple[str, ...] = ("correlation", "euclidean", "sqeuclidean")

__all__ = [
    "RDM_METHODS",
    "RDMVectors",
    "compute_rdms",
    "n_pairs_to_n_stimuli",
    "squareform_vectors",
    "upper_triangle",
]


@dataclass(frozen=True)
class RDMVectors:
    """Precomputed RDMs as upper-triangle vectors, shape ``(..., n_pairs)``.

    Wrap an array in this class to tell a metric that an input already is an RDM
    (e.g. brain data that only exists as RDMs) rather than a pattern matrix.
    """

    vectors: np.ndarray

    def __post_init__(self) -> None:
        vec = np.asarray(self.vectors, dtype=np.float64)
        n_pairs_to_n_stimuli(vec.shape[-1])  # validates
        object.__setattr__(self, "vectors", vec)

    @classmethod
    def from_square(cls, rdms: np.ndarray) -> RDMVectors:
        """Build from square RDMs of shape ``(..., n_stimuli, n_stimuli)``."""
        return cls(upper_triangle(rdms))

    @property
    def n_stimuli(self) -> int:
        return n_pairs_to_n_stimuli(self.vectors.shape[-1])

    def square(self) -> np.ndarray:
        """Square form, shape ``(..., n_stimuli, n_stimuli)``."""
        return squareform_vectors(self.vectors)


def n_pairs_to_n_stimuli(n_pairs: int) -> int:
    """Invert ``n_pairs = n (n - 1) / 2``; raises ``ValueError`` if not a triangular number."""
    n = round(float((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs or n < 2:
        raise ValueError(f"{n_pairs} is not a valid number of RDM pairs n*(n-1)/2 with n >= 2")
    return n


def compute_rdms(
    patterns: np.ndarray,
    method: RDMMethod = "correlation",
    *,
    per_feature: bool = False,
) -> np.ndarray:
    """Square RDMs of ``patterns`` ``(..., n_stimuli, n_features)`` -> ``(..., n, n)``.

    The diagonal is exactly 0 and the result exactly symmetric. See the module docstring
    for the distance conventions. Constant stimulus patterns give NaN correlation distances.
    """
    x = np.asarray(patterns, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"patterns must be (..., n_stimuli, n_features), got shape {x.shape}")
    n_stim, n_feat = x.shape[-2:]
    if method == "correlation":
        xc = x - x.mean(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            xc = xc / np.linalg.norm(xc, axis=-1, keepdims=True)
        rdm = 1.0 - xc @ np.swapaxes(xc, -1, -2)
    elif method in ("euclidean", "sqeuclidean"):
        # center features per batch element: distances are translation invariant and the
        # Gram-matrix expansion is numerically better conditioned around the centroid
        xc = x - x.mean(axis=-2, keepdims=True)
        gram = xc @ np.swapaxes(xc, -1, -2)
        sq = np.einsum("...ii->...i", gram)
        rdm = sq[..., :, None] + sq[..., None, :] - 2.0 * gram
        np.maximum(rdm, 0.0, out=rdm)
        if per_feature:
            rdm /= n_feat
        if method == "euclidean":
            np.sqrt(rdm, out=rdm)
    else:
        raise ValueError(f"unknown RDM method {method!r}; expected one of {RDM_METHODS}")
    rdm = 0.5 * (rdm + np.swapaxes(rdm, -1, -2))
    idx = np.arange(n_stim)
    rdm[..., idx, idx] = 0.0
    return rdm


def upper_triangle(rdms: np.ndarray) -> np.ndarray:
    """Upper triangle (k=1) of ``(..., n, n)`` RDMs -> ``(..., n*(n-1)/2)``.

    Row-major pair order ``(0,1), (0,2), ..., (1,2), ...``, identical to
    ``scipy.spatial.distance.squareform`` and rsatoolbox's RDM vectors.
    """
    rdms = np.asarray(rdms)
    n = rdms.shape[-1]
    if rdms.ndim < 2 or rdms.shape[-2] != n:
        raise ValueError(f"rdms must be (..., n, n), got shape {rdms.shape}")
    rows, cols = np.triu_indices(n, k=1)
    return rdms[..., rows, cols]


def squareform_vectors(vectors: np.ndarray, diagonal: float = 0.0) -> np.ndarray:
    """Inverse of :func:`upper_triangle`: ``(..., n_pairs)`` -> symmetric ``(..., n, n)``."""
    vectors = np.asarray(vectors)
    n = n_pairs_to_n_stimuli(vectors.shape[-1])
    rows, cols = np.triu_indices(n, k=1)
    out = np.full((*vectors.shape[:-1], n, n), diagonal, dtype=vectors.dtype)
    out[..., rows, cols] = vectors
    out[..., cols, rows] = vectors
    return out
