"""Pattern metrics beyond RSA and linear CKA: RBF CKA, Procrustes shape, SVCCA, mutual k-NN.

Each is a :class:`~brainbridge.align.metrics.Metric` (a similarity, higher = more alike) with
batched ``permutation_scores`` / ``bootstrap_scores``, registered in the metric registry:

* ``cka-kernel=rbf-median-hsic={biased,unbiased}``: CKA with Gaussian kernels
  ``exp(-d^2 / (2 sigma^2))``, ``sigma`` = the median pairwise Euclidean distance between the
  stimuli of each representation (Kornblith et al. 2019, bandwidth fraction 1). The bandwidth
  is set once from the full data; permutations and bootstrap resamples reuse it.
* ``procrustes-transform=orthogonal-score=cos-angle``: the cosine of the angular Procrustes
  shape distance (Williams et al. 2021; netrep ``LinearMetric(alpha=1, score_method=
  "angular")``): both sides centered and scaled to unit Frobenius norm, then the largest
  ``<X, Y Q>`` over orthogonal ``Q`` (zero-padding the narrower side), which is the nuclear
  norm of ``X^T Y``. Distance = ``arccos(score)``.
* ``svcca-dims=10-score=mean-corr``: SVCCA (Raghu et al. 2017) keeping the top 10 principal
  directions of each side (a fixed count: the 99 %-variance rule of the paper saturates CCA
  with a few hundred stimuli), mean of the canonical correlations.
* ``mutual-knn-k=10-similarity=cosine``: mutual k-nearest-neighbour alignment (Huh et al.
  2024): neighbours by cosine similarity of the (uncentered) feature vectors, score = mean over
  stimuli of the fraction of the k neighbours shared by both sides.

Bootstrap intervals of Procrustes and SVCCA are read from replicates recentred on the score
(:func:`recentred`): both overfit, so a resample (about 63 % distinct stimuli) scores well above
the data it came from. RBF Grams are double-centred before resampling, so that the copies'
pairs left out of a resample (as for linear CKA) carry no mass.

Permutations relabel the model's stimuli (rows), which leaves every per-side quantity
(bandwidth, principal directions, neighbour sets up to relabelling) unchanged, so the model side
is prepared once and only indexed. Bootstrap resamples stimuli with replacement on both sides;
copies of one stimulus are never neighbours of each other (mutual k-NN).
"""

from __future__ import annotations

import numpy as np

from .cka import cka_from_grams
from .metrics import (
    ArrayOrRDM,
    CKAMetric,
    Metric,
    _check_index,
    _chunks,
    register_metric,
)
from .rdm import RDMVectors

__all__ = [
    "MutualKNNMetric",
    "ProcrustesMetric",
    "RBFCKAMetric",
    "SVCCAMetric",
    "mutual_knn",
    "procrustes_similarity",
    "rbf_gram",
    "recentred",
    "svcca",
]


def _patterns(x: ArrayOrRDM, name: str) -> np.ndarray:
    if isinstance(x, RDMVectors):
        raise TypeError(f"{name} needs feature matrices, not precomputed RDMs")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"{name}: patterns must be (..., n_stimuli, n_features), got {x.shape}")
    return x


def _pair(metric: Metric, brain: ArrayOrRDM, model: ArrayOrRDM) -> tuple[np.ndarray, np.ndarray]:
    b, m = _patterns(brain, metric.name), _patterns(model, metric.name)
    if b.shape[-2] != m.shape[-2]:
        raise ValueError(f"brain has {b.shape[-2]} stimuli, model {m.shape[-2]}")
    return b, m


def _single(m: np.ndarray) -> None:
    if m.ndim != 2:
        raise ValueError("resampling needs a single (unbatched) model (n_stimuli, n_features)")


def _centered(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=-2, keepdims=True)


# ---------------------------------------------------------------- RBF CKA


def _sq_distances(x: np.ndarray) -> np.ndarray:
    xc = _centered(x)
    gram = xc @ np.swapaxes(xc, -1, -2)
    sq = np.einsum("...ii->...i", gram)
    d2 = sq[..., :, None] + sq[..., None, :] - 2.0 * gram
    return np.maximum(d2, 0.0)


def rbf_gram(x: np.ndarray) -> np.ndarray:
    """Gaussian kernel (..., n, n) of ``x`` (..., n, p), bandwidth = median pairwise distance."""
    d2 = _sq_distances(np.asarray(x, dtype=np.float64))
    n = d2.shape[-1]
    rows, cols = np.triu_indices(n, k=1)
    sigma2 = np.median(np.sqrt(d2[..., rows, cols]), axis=-1) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.exp(-d2 / (2.0 * sigma2[..., None, None]))


def _double_centered(k: np.ndarray) -> np.ndarray:
    """``H K H`` of Gram matrices (..., n, n)."""
    k = k - k.mean(axis=-1, keepdims=True)
    return k - k.mean(axis=-2, keepdims=True)


class RBFCKAMetric(CKAMetric):
    """CKA with Gaussian kernels, bandwidth = median pairwise distance (module doc)."""

    def __init__(self, unbiased: bool) -> None:
        super().__init__(unbiased)
        self.name = f"cka-kernel=rbf-median-hsic={'unbiased' if unbiased else 'biased'}"
        estimator = "unbiased HSIC (Song et al. 2012)" if unbiased else "biased HSIC"
        null = "~0 in expectation (can be < 0)" if unbiased else "> 0, shrinking with n_stimuli"
        self.doc = (
            f"CKA with Gaussian (RBF) kernels exp(-d^2 / (2 sigma^2)), sigma = median pairwise "
            f"Euclidean distance between stimuli of each side (Kornblith et al. 2019), "
            f"{estimator}. Range about [0, 1]; null {null}; 1 = equal up to rotation, "
            "translation and isotropic scaling."
        )

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        b, m = self._array(brain), self._array(model)
        if b.shape[-2] != m.shape[-2]:
            raise ValueError(f"brain has {b.shape[-2]} stimuli, model {m.shape[-2]}")
        return cka_from_grams(rbf_gram(b), rbf_gram(m), unbiased=self.unbiased)

    def _grams(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> tuple[np.ndarray, np.ndarray]:
        b, m = self._array(brain), self._array(model)
        _single(m)
        if b.shape[-2] != m.shape[0]:
            raise ValueError(f"brain has {b.shape[-2]} stimuli, model {m.shape[0]}")
        # Double-centred over the stimuli (HSIC, biased or unbiased, is unchanged), so a
        # typical off-diagonal entry is ~0 as for centred linear Grams: the bootstrap's
        # copies' pairs, left out as zeros, then carry no spurious mass (raw RBF entries
        # are ~0.6, and zeroing them put the score outside its own interval).
        k, gl = _double_centered(rbf_gram(b)), _double_centered(rbf_gram(m))
        return k.reshape(-1, *k.shape[-2:]), gl


# ---------------------------------------------------------------- Procrustes


def recentred(boot: np.ndarray, observed: np.ndarray, angular: bool = False) -> np.ndarray:
    """Bootstrap replicates (..., n_boot) shifted so that their median is the ``observed``
    score (...), on the angle scale ``arccos(score)`` when ``angular`` (scores in [0, 1]).

    For scores that overfit (Procrustes, SVCCA), a resample with ~63 % distinct stimuli
    scores higher than the data it came from; the spread of the replicates is kept, their
    shift removed (a percentile interval of the recentred replicates is centred on the score).
    """
    boot = np.asarray(boot, dtype=np.float64)
    obs = np.asarray(observed, dtype=np.float64)[..., None]
    if not angular:
        return boot - np.nanmedian(boot, axis=-1, keepdims=True) + obs
    angle = np.arccos(np.clip(boot, -1.0, 1.0))
    shift = np.arccos(np.clip(obs, -1.0, 1.0)) - np.nanmedian(angle, axis=-1, keepdims=True)
    return np.cos(np.clip(angle + shift, 0.0, np.pi))


def _reduce(x: np.ndarray) -> np.ndarray:
    """Centered, unit-Frobenius-norm data in at most n columns (same cross singular values)."""
    xc = _centered(x)
    if xc.shape[-1] > xc.shape[-2]:  # an orthogonal change of features: U S of the thin SVD
        u, s, _ = np.linalg.svd(xc, full_matrices=False)
        xc = u * s[..., None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return xc / np.linalg.norm(xc, axis=(-2, -1), keepdims=True)


def _nuclear(a: np.ndarray) -> np.ndarray:
    return np.linalg.svd(a, compute_uv=False).sum(axis=-1)


def procrustes_similarity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """cos of the angular Procrustes distance between (..., n, p) and (..., n, q) -> (...)."""
    rx, ry = _reduce(np.asarray(x, np.float64)), _reduce(np.asarray(y, np.float64))
    return _nuclear(np.swapaxes(rx, -1, -2) @ ry)


class ProcrustesMetric(Metric):
    """Angular Procrustes shape similarity (module doc)."""

    name = "procrustes-transform=orthogonal-score=cos-angle"
    doc = (
        "cos of the angular Procrustes shape distance (Williams et al. 2021; netrep "
        "LinearMetric(alpha=1), angular): sides centered, scaled to unit Frobenius norm and "
        "optimally rotated/reflected onto each other (narrower side zero-padded); "
        "score = max_Q <X, Y Q> = nuclear norm of X'Y, distance = arccos(score). Range [0, 1]; "
        "null > 0, growing with n_features / n_stimuli; 1 = equal up to rotation, reflection, "
        "translation and isotropic scaling."
    )

    def n_stimuli(self, x: ArrayOrRDM) -> int:
        return _patterns(x, self.name).shape[-2]

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        return procrustes_similarity(*_pair(self, brain, model))

    def interval_replicates(self, boot: np.ndarray, observed: np.ndarray) -> np.ndarray:
        return recentred(boot, observed, angular=True)  # on the shape distance's own scale

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        b, m = _pair(self, brain, model)
        _single(m)
        perms = _check_index(perms, m.shape[0])
        rb, rm = _reduce(b), _reduce(m)
        flat = np.swapaxes(rb.reshape(-1, *rb.shape[-2:]), -1, -2)  # (B, p, n)
        out = np.empty((flat.shape[0], len(perms)))
        per = flat.shape[0] * flat.shape[1] * rm.shape[1] + rm.size
        for sl in _chunks(len(perms), per):
            cross = flat[:, None] @ rm[perms[sl]][None]  # (B, k, p, q)
            out[:, sl] = _nuclear(cross)
        return out.reshape(*b.shape[:-2], len(perms))

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        b, m = _pair(self, brain, model)
        _single(m)
        idx = _check_index(idx, m.shape[0])
        rb, rm = _reduce(b), _reduce(m)  # resampling rows commutes with the feature rotation
        flat = rb.reshape(-1, *rb.shape[-2:])
        out = np.empty((flat.shape[0], len(idx)))
        for sl in _chunks(len(idx), flat.shape[0] * flat[0].size * 2 + rm.size):
            xb = _reduce(flat[:, idx[sl]])  # (B, k, n, p), re-centered and re-normalized
            yb = _reduce(rm[idx[sl]])  # (k, n, q)
            out[:, sl] = _nuclear(np.swapaxes(xb, -1, -2) @ yb[None])
        return out.reshape(*b.shape[:-2], len(idx))


# ---------------------------------------------------------------- SVCCA


def _top_directions(x: np.ndarray, dims: int) -> np.ndarray:
    """Orthonormal (..., n, k) scores of the top ``dims`` principal directions of ``x``."""
    u = np.linalg.svd(_centered(x), full_matrices=False)[0]
    return u[..., : min(dims, u.shape[-1])]


def _top_scores(x: np.ndarray, dims: int) -> np.ndarray:
    """Principal-component scores (..., n, k) of the top ``dims`` directions (unnormalized)."""
    u, s, _ = np.linalg.svd(_centered(x), full_matrices=False)
    k = min(dims, u.shape[-1])
    return u[..., :k] * s[..., None, :k]


def _orthonormal(x: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(_centered(x))
    return q


def svcca(x: np.ndarray, y: np.ndarray, dims: int = 10) -> np.ndarray:
    """Mean canonical correlation of the top-``dims`` principal subspaces -> (...)."""
    qx = _top_directions(np.asarray(x, np.float64), dims)
    qy = _top_directions(np.asarray(y, np.float64), dims)
    rho = np.linalg.svd(np.swapaxes(qx, -1, -2) @ qy, compute_uv=False)
    return np.clip(rho, 0.0, 1.0).mean(axis=-1)


class SVCCAMetric(Metric):
    """SVCCA with a fixed number of principal directions per side (module doc)."""

    def __init__(self, dims: int = 10) -> None:
        self.dims = int(dims)
        self.name = f"svcca-dims={self.dims}-score=mean-corr"
        self.doc = (
            f"SVCCA (Raghu et al. 2017): the top {self.dims} principal directions of each side "
            "(fewer if the rank is lower), then the mean of their canonical correlations. "
            f"Range [0, 1]; null > 0 (chance canonical correlations of {self.dims} vs "
            f"{self.dims} dims, about {self.dims}/n_stimuli and more); 1 = the top subspaces "
            "are equal up to an invertible linear map."
        )

    def n_stimuli(self, x: ArrayOrRDM) -> int:
        return _patterns(x, self.name).shape[-2]

    def _check(self, n: int) -> None:
        if n <= self.dims + 1:
            raise ValueError(f"{self.name} needs more than {self.dims + 1} stimuli, got {n}")

    def interval_replicates(self, boot: np.ndarray, observed: np.ndarray) -> np.ndarray:
        return recentred(boot, observed)

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        b, m = _pair(self, brain, model)
        self._check(b.shape[-2])
        return svcca(b, m, self.dims)

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        b, m = _pair(self, brain, model)
        _single(m)
        self._check(m.shape[0])
        perms = _check_index(perms, m.shape[0])
        qb = _top_directions(b, self.dims)
        qx = np.swapaxes(qb.reshape(-1, *qb.shape[-2:]), -1, -2)
        qy = _top_directions(m, self.dims)  # rows of an orthonormal, centered basis: permutable
        out = np.empty((qx.shape[0], len(perms)))
        for sl in _chunks(len(perms), qx.shape[0] * self.dims**2 + qy.size):
            rho = np.linalg.svd(qx[:, None] @ qy[perms[sl]][None], compute_uv=False)
            out[:, sl] = np.clip(rho, 0.0, 1.0).mean(axis=-1)
        return out.reshape(*b.shape[:-2], len(perms))

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        # The principal directions are those of the full data (a fixed projection); each
        # resample is re-centered and re-orthonormalized before the CCA.
        b, m = _pair(self, brain, model)
        _single(m)
        self._check(m.shape[0])
        idx = _check_index(idx, m.shape[0])
        sx = _top_scores(b, self.dims)
        sx = sx.reshape(-1, *sx.shape[-2:])
        sy = _top_scores(m, self.dims)
        out = np.empty((sx.shape[0], len(idx)))
        for sl in _chunks(len(idx), sx.shape[0] * sx[0].size * 2 + sy.size):
            qx = _orthonormal(sx[:, idx[sl]])  # (B, k, n, d)
            qy = _orthonormal(sy[idx[sl]])  # (k, n, d)
            rho = np.linalg.svd(np.swapaxes(qx, -1, -2) @ qy[None], compute_uv=False)
            out[:, sl] = np.clip(rho, 0.0, 1.0).mean(axis=-1)
        return out.reshape(*b.shape[:-2], len(idx))


# ---------------------------------------------------------------- mutual k-NN


def _cosine(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        xn = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return xn @ np.swapaxes(xn, -1, -2)


def _knn_mask(sim: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Boolean (..., n, n): True where column j is among the k most similar to row i.

    ``exclude`` (n, n) or broadcastable marks pairs that may not be neighbours (the stimulus
    itself and its bootstrap copies). Ties are broken by the lower column index.
    """
    n = sim.shape[-1]
    if exclude is None:
        exclude = np.eye(n, dtype=bool)
    sim = np.where(exclude, -np.inf, np.nan_to_num(sim, nan=-np.inf))
    order = np.argsort(-sim, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(sim.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def mutual_knn(x: np.ndarray, y: np.ndarray, k: int = 10) -> np.ndarray:
    """Mean fraction of shared k nearest neighbours (cosine) of (..., n, p) and (..., n, q)."""
    mx = _knn_mask(_cosine(np.asarray(x, np.float64)), k)
    my = _knn_mask(_cosine(np.asarray(y, np.float64)), k)
    return (mx & my).sum(axis=(-2, -1)) / (mx.shape[-1] * k)


class MutualKNNMetric(Metric):
    """Mutual k-nearest-neighbour alignment (Huh et al. 2024), cosine neighbours."""

    def __init__(self, k: int = 10) -> None:
        self.k = int(k)
        self.name = f"mutual-knn-k={self.k}-similarity=cosine"
        self.doc = (
            f"Mutual k-nearest-neighbour alignment (Huh et al. 2024), k = {self.k}: for each "
            "stimulus, its k nearest other stimuli by cosine similarity of the feature vectors "
            "on each side; score = mean fraction of those neighbours shared by both sides. "
            f"Range [0, 1]; null {self.k}/(n_stimuli - 1) in expectation; 1 = the same "
            "neighbour sets."
        )

    def n_stimuli(self, x: ArrayOrRDM) -> int:
        return _patterns(x, self.name).shape[-2]

    def _check(self, n: int) -> None:
        if n <= self.k + 1:
            raise ValueError(f"{self.name} needs more than {self.k + 1} stimuli, got {n}")

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        b, m = _pair(self, brain, model)
        self._check(b.shape[-2])
        return mutual_knn(b, m, self.k)

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        # relabelling the model's stimuli maps its neighbour mask M to M[p][:, p]
        b, m = _pair(self, brain, model)
        _single(m)
        n = m.shape[0]
        self._check(n)
        perms = _check_index(perms, n)
        mb = _knn_mask(_cosine(b), self.k).reshape(-1, n * n).astype(np.float64)
        mm = _knn_mask(_cosine(m), self.k).astype(np.float64)
        out = np.empty((mb.shape[0], len(perms)))
        for sl in _chunks(len(perms), n * n):
            p = perms[sl]
            out[:, sl] = mb @ mm[p[:, :, None], p[:, None, :]].reshape(len(p), n * n).T
        return (out / (n * self.k)).reshape(*b.shape[:-2], len(perms))

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        b, m = _pair(self, brain, model)
        _single(m)
        n = m.shape[0]
        self._check(n)
        idx = _check_index(idx, n)
        sb = _cosine(b).reshape(-1, n, n)
        sm = _cosine(m)
        out = np.empty((sb.shape[0], len(idx)))
        for sl in _chunks(len(idx), sb.shape[0] * n * n * 3):
            i = idx[sl]
            copies = i[:, :, None] == i[:, None, :]  # (k, n, n): self and own copies
            kb = _knn_mask(sb[:, i[:, :, None], i[:, None, :]], self.k, copies[None])
            km = _knn_mask(sm[i[:, :, None], i[:, None, :]], self.k, copies)
            out[:, sl] = (kb & km[None]).sum(axis=(-2, -1)) / (n * self.k)
        return out.reshape(*b.shape[:-2], len(idx))


for _metric in (
    RBFCKAMetric(unbiased=False),
    RBFCKAMetric(unbiased=True),
    ProcrustesMetric(),
    SVCCAMetric(10),
    MutualKNNMetric(10),
):
    register_metric(_metric)
