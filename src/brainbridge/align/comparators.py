"""RDM comparators beyond the inner-product ones: Kendall's tau-a and whitened comparisons.

* ``tau-a`` – Kendall's tau-a of the RDM vectors: (concordant - discordant) pairs of entries
  over all pairs of entries, ties counted as neither (no tie correction in the denominator,
  so a model predicting tied dissimilarities is not rewarded for the ties; Nili et al. 2014).
  Range [-1, 1]; null 0. Equals ``rsatoolbox.rdm.compare(method="tau-a")``. Not an inner
  product: computed per pair of vectors in O(p log p), so its permutation test and (for RDMs
  of more than ``SMALL_RDM`` pairs) its bootstrap loop over resamples, much slower than the
  other comparators on time-resolved data.
* ``whitened-pearson`` / ``whitened-cosine`` – correlation / cosine of the RDMs after
  whitening with the covariance of the dissimilarity estimates under i.i.d. pattern noise
  (Diedrichsen et al. 2021): the RDM is turned into its double-centred second-moment matrix
  ``H (-D/2) H`` and compared as a matrix (off-diagonal entries twice, diagonal once);
  pearson subtracts the RDM vector's mean first. Range [-1, 1]; null 0 (pearson), > 0
  (cosine). Equal to rsatoolbox's ``corr_cov`` / ``cosine_cov`` (no ``sigma_k``).

The bootstrap leaves out the pairs formed by a stimulus and its own copy, like the other RSA
metrics and like rsatoolbox (which marks them NaN; the whitened comparison then centres the
RDM with missing entries by the same least-squares fit of row and column effects).
"""

from __future__ import annotations

import numpy as np

from .cka import resample_weights
from .metrics import ArrayOrRDM, RSAMetric, _chunks, register_metric
from .rdm import RDM_METHODS, RDMMethod, squareform_vectors

__all__ = ["TauAMetric", "WhitenedRSAMetric", "tau_a", "whitened_matrices"]

#: RDMs with at most this many pairs are resampled for tau-a by sign products (p^2 memory)
SMALL_RDM = 1275


def _ties(x: np.ndarray) -> int:
    _, counts = np.unique(x, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def _tau_a_one(x: np.ndarray, y: np.ndarray) -> float:
    if np.isnan(x).any() or np.isnan(y).any():
        return np.nan
    total = len(x) * (len(x) - 1) // 2
    tx, ty = _ties(x), _ties(y)
    if tx == total or ty == total:  # a constant vector: no concordant or discordant pair
        return 0.0
    from scipy.stats import kendalltau  # here: scipy.stats costs ~1 s to import

    tau_b = kendalltau(x, y).statistic  # (con - dis) / sqrt((total - tx) (total - ty))
    return float(np.clip(tau_b * np.sqrt(float(total - tx) * float(total - ty)) / total, -1, 1))


def tau_a(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall's tau-a of ``a`` (..., n) and ``b`` (..., n), broadcast over leading dims.

    O(n log n) per pair of vectors (from scipy's tau-b and the tie counts).
    """
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    flat_a, flat_b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    out = np.array([_tau_a_one(x, y) for x, y in zip(flat_a, flat_b, strict=True)])
    return out.reshape(a.shape[:-1])


def whitened_matrices(vectors: np.ndarray, center: bool) -> np.ndarray:
    """Unit-norm double-centred second-moment matrices (..., n, n) of RDM vectors (..., p).

    Their Frobenius inner product is the whitened cosine (``center=False``) or whitened
    Pearson (``center=True``: the vector's mean subtracted first) of the RDMs.
    """
    v = np.asarray(vectors, dtype=np.float64)
    if center:
        v = v - v.mean(axis=-1, keepdims=True)
    g = -0.5 * squareform_vectors(v)
    g = g - g.mean(axis=-1, keepdims=True)
    g = g - g.mean(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return g / np.sqrt(np.einsum("...ij,...ij->...", g, g))[..., None, None]


def _frobenius(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...ij,...ij->...", a, b)


def _resample_whitened(sq: np.ndarray, pos: np.ndarray, center: bool) -> np.ndarray:
    """Whitened residual matrices of stimulus resamples ``pos`` (r, m) of RDMs ``sq``
    (b, n, n), copies' pairs missing -> (r, b, m, m), unit norm (copies' entries 0)."""
    m = pos.shape[-1]
    keep = pos[:, :, None] != pos[:, None, :]  # (r, m, m): pairs of different stimuli
    d = sq[:, pos[:, :, None], pos[:, None, :]].swapaxes(0, 1)  # (r, b, m, m)
    if center:
        upper = np.triu(keep, 1)[:, None]
        mean = np.where(upper, d, 0.0).sum((-1, -2)) / upper.sum((-1, -2))
        d = d - mean[..., None, None]
    g = np.where(keep[:, None], -0.5 * d, 0.0)
    # least-squares row/column effects with missing entries (as rsatoolbox's _cov_weighting):
    # gamma = M^-1 X'v, M = X'WX = (A + diag(deg)) / 2 + I over the kept pairs' graph A
    adj = keep.astype(np.float64)
    eye = np.eye(m)
    mat = 0.5 * (adj + adj.sum(axis=-1)[..., None] * eye) + eye  # (r, m, m)
    gamma = np.linalg.solve(mat, g.sum(axis=-1).swapaxes(-1, -2)).swapaxes(-1, -2)  # (r, b, m)
    resid = np.where(keep[:, None], g - 0.5 * (gamma[..., :, None] + gamma[..., None, :]), 0.0)
    resid[..., np.arange(m), np.arange(m)] = -gamma
    with np.errstate(invalid="ignore", divide="ignore"):
        return resid / np.sqrt(_frobenius(resid, resid))[..., None, None]


def _tau_a_resampled(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Tau-a of (k, p) vectors and (p,) with entries repeated ``weights`` (r, p) -> (k, r), by
    sign products (p x p per vector): for small RDMs."""
    sb = np.sign(b[:, None] - b[None, :])
    total = weights.sum(axis=-1)
    out = np.empty((len(a), len(weights)))
    for i, x in enumerate(a):
        q = np.sign(x[:, None] - x[None, :]) * sb
        out[i] = 0.5 * np.einsum("rp,rp->r", weights @ q, weights) / (0.5 * total * (total - 1))
    out[np.isnan(a).any(axis=-1)] = np.nan
    return np.clip(out, -1.0, 1.0) if not np.isnan(b).any() else np.full_like(out, np.nan)


class TauAMetric(RSAMetric):
    """RSA with Kendall's tau-a comparison (module docstring)."""

    def __init__(self, rdm_method: RDMMethod) -> None:
        super().__init__(rdm_method, "spearman")
        self.compare_method = "tau-a"
        self.pool_method = "spearman"  # pooled RDM of replicates: mean ranks (as rsatoolbox)
        self.name = f"rsa-rdm={rdm_method}-compare=tau-a"
        self.doc = (
            f"Kendall's tau-a of {rdm_method}-distance RDMs (upper triangle; ties count as "
            "neither concordant nor discordant, no tie correction: for models with tied "
            "dissimilarities). Range [-1, 1]; null 0 under no relation; 1 = identical rank order."
        )

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        bv, mv = self._pair(brain, model)
        return tau_a(bv, mv)

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        bv, mv, n, perms = self._single_model(brain, model, perms, "permutation test")
        msq = squareform_vectors(mv)
        rows, cols = np.triu_indices(n, k=1)
        flat = bv.reshape(-1, bv.shape[-1])
        out = np.empty((flat.shape[0], len(perms)))
        for k, p in enumerate(perms):
            out[:, k] = tau_a(flat, msq[p[rows], p[cols]])
        return out.reshape(*bv.shape[:-1], len(perms))

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        bv, mv, n, idx = self._single_model(brain, model, idx, "bootstrap")
        flat = bv.reshape(-1, bv.shape[-1])
        rows, cols = np.triu_indices(n, k=1)
        if len(rows) <= SMALL_RDM:  # sign products: no loop over resamples
            w = resample_weights(idx, n)
            out = _tau_a_resampled(flat, mv, w[:, rows] * w[:, cols])
            return out.reshape(*bv.shape[:-1], len(idx))
        bsq, msq = squareform_vectors(flat), squareform_vectors(mv)
        out = np.empty((bsq.shape[0], len(idx)))
        for k, pos in enumerate(idx):
            r, c = pos[rows], pos[cols]
            keep = r != c
            out[:, k] = tau_a(bsq[:, r[keep], c[keep]], msq[r[keep], c[keep]])
        return out.reshape(*bv.shape[:-1], len(idx))


class WhitenedRSAMetric(RSAMetric):
    """RSA with whitened Pearson / cosine comparison (module docstring)."""

    def __init__(self, rdm_method: RDMMethod, center: bool) -> None:
        super().__init__(rdm_method, "pearson" if center else "cosine")
        self.center = center
        kind = "pearson" if center else "cosine"
        self.compare_method = f"whitened-{kind}"
        self.pool_method = kind  # pooled RDM of replicates as for the plain comparison
        self.name = f"rsa-rdm={rdm_method}-compare=whitened-{kind}"
        null = "0 under no relation" if center else "> 0 (no zero null)"
        self.doc = (
            f"{kind} similarity of {rdm_method}-distance RDMs whitened by the covariance of "
            "dissimilarity estimates (double-centred second moments, rsatoolbox "
            f"{'corr_cov' if center else 'cosine_cov'}). Range [-1, 1]; null {null}; "
            "1 = identical geometry."
        )

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        bv, mv = self._pair(brain, model)
        return _frobenius(whitened_matrices(bv, self.center), whitened_matrices(mv, self.center))

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        # relabelling stimuli permutes rows and columns of the whitened matrix: one product
        bv, mv, n, perms = self._single_model(brain, model, perms, "permutation test")
        zb = whitened_matrices(bv, self.center).reshape(-1, n * n)
        zm = whitened_matrices(mv, self.center)
        out = np.empty((zb.shape[0], len(perms)))
        for sl in _chunks(len(perms), n * n):
            p = perms[sl]
            out[:, sl] = zb @ zm[p[:, :, None], p[:, None, :]].reshape(len(p), n * n).T
        return out.reshape(*bv.shape[:-1], len(perms))

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        bv, mv, n, idx = self._single_model(brain, model, idx, "bootstrap")
        bsq = squareform_vectors(bv.reshape(-1, bv.shape[-1]))
        msq = squareform_vectors(mv)[None]
        out = np.empty((bsq.shape[0], len(idx)))
        for sl in _chunks(len(idx), bsq.shape[0] * n * n * 6):
            zb = _resample_whitened(bsq, idx[sl], self.center)
            zm = _resample_whitened(msq, idx[sl], self.center)
            out[:, sl] = _frobenius(zb, zm).T
        return out.reshape(*bv.shape[:-1], len(idx))


for _rdm in RDM_METHODS:
    register_metric(TauAMetric(_rdm))  # type: ignore[arg-type]
    register_metric(WhitenedRSAMetric(_rdm, center=True))  # type: ignore[arg-type]
    register_metric(WhitenedRSAMetric(_rdm, center=False))  # type: ignore[arg-type]
