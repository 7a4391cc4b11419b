"""Registry of named representational-similarity metrics.

Every score is a *similarity* (higher = more alike). A metric compares ``brain``
(..., n_stimuli, n_features_brain) with ``model`` (n_stimuli, n_features_model); leading brain
dims (time points, subjects, ...) are kept in the output. RSA metrics also accept either
side as precomputed RDMs wrapped in :class:`~brainbridge.align.rdm.RDMVectors`.

Names spell out every choice, e.g. ``"rsa-rdm=correlation-compare=spearman"`` or
``"cka-kernel=linear-hsic=unbiased"``; see :func:`list_metrics`.

Besides ``score``, each metric has batched ``permutation_scores`` and ``bootstrap_scores``
used by :mod:`brainbridge.align.stats`: given index arrays of shape (n_resamples, n_stimuli)
they return (..., n_resamples) without looping over resamples (only over memory-bounding
chunks).
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np

from .cka import (
    hsic_from_grams,
    linear_cka,
    linear_gram,
    resample_weights,
    resampled_cka,
    unbiased_hsic_from_terms,
)
from .compare import (
    COMPARE_METHODS,
    CompareMethod,
    compare_rdm_vectors,
    normalize_rdm_vectors,
    weighted_compare,
)
from .rdm import (
    RDM_METHODS,
    RDMMethod,
    RDMVectors,
    compute_rdms,
    squareform_vectors,
    upper_triangle,
)

__all__ = [
    "CKAMetric",
    "Metric",
    "RSAMetric",
    "get_metric",
    "list_metrics",
    "register_metric",
]

ArrayOrRDM = np.ndarray | RDMVectors

#: maximum number of float64 elements held in one chunk of resampled data (~64 MiB)
CHUNK_ELEMENTS = 2**23


def _chunks(n_total: int, per_item: int) -> Iterator[slice]:
    size = max(1, CHUNK_ELEMENTS // max(per_item, 1))
    for start in range(0, n_total, size):
        yield slice(start, min(start + size, n_total))


def _check_index(idx: np.ndarray, n_stimuli: int) -> np.ndarray:
    idx = np.asarray(idx, dtype=np.intp)
    if idx.ndim != 2 or idx.shape[1] != n_stimuli:
        raise ValueError(f"index array must be (n_resamples, {n_stimuli}), got {idx.shape}")
    return idx


class Metric(ABC):
    """A named similarity between brain and model representations."""

    name: str
    doc: str

    @abstractmethod
    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        """Similarity, shape = broadcast leading dims of brain and model."""

    @abstractmethod
    def n_stimuli(self, x: ArrayOrRDM) -> int:
        """Number of stimuli of an input."""

    @abstractmethod
    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        """Scores with model stimuli relabelled by each row of ``perms`` -> (..., n_perm)."""

    @abstractmethod
    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        """Scores on stimulus resamples (rows of ``idx``, both sides) -> (..., n_boot)."""

    def interval_replicates(self, boot: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Replicates (..., n_boot) an interval is read from, given the ``observed`` score (...).

        The raw replicates by default. Metrics whose expectation moves with the number of
        distinct stimuli (a resample holds about 63 % of them) recentre them on the score.
        """
        return boot

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class RSAMetric(Metric):
    """RSA: compare upper-triangle RDM vectors of brain and model."""

    def __init__(self, rdm_method: RDMMethod, compare_method: CompareMethod) -> None:
        if rdm_method not in RDM_METHODS or compare_method not in COMPARE_METHODS:
            raise ValueError(f"bad RSA config {rdm_method!r}/{compare_method!r}")
        self.rdm_method = rdm_method
        self.compare_method = compare_method
        self.name = f"rsa-rdm={rdm_method}-compare={compare_method}"
        null = "0 under no relation" if compare_method != "cosine" else "> 0 (no zero null)"
        self.doc = (
            f"{compare_method} similarity of {rdm_method}-distance RDMs (upper triangle). "
            f"Range [-1, 1]; null {null}; 1 = identical RDM "
            f"{'rank order' if compare_method == 'spearman' else 'geometry'}."
        )

    def vectors(self, x: ArrayOrRDM) -> np.ndarray:
        """RDM vectors (..., n_pairs) of patterns, or the vectors of an :class:`RDMVectors`."""
        if isinstance(x, RDMVectors):
            return x.vectors
        return upper_triangle(compute_rdms(x, self.rdm_method))

    def n_stimuli(self, x: ArrayOrRDM) -> int:
        return x.n_stimuli if isinstance(x, RDMVectors) else np.shape(x)[-2]

    def _pair(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> tuple[np.ndarray, np.ndarray]:
        bv, mv = self.vectors(brain), self.vectors(model)
        if bv.shape[-1] != mv.shape[-1]:
            raise ValueError(
                f"brain has {self.n_stimuli(brain)} stimuli, model {self.n_stimuli(model)}"
            )
        return bv, mv

    def _single_model(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, index: np.ndarray, test: str
    ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """Brain and model vectors, the number of stimuli and the checked resampling
        ``index`` (permutations or bootstrap draws), for one unbatched model."""
        bv, mv = self._pair(brain, model)
        if mv.ndim != 1:
            raise ValueError(f"{test} needs a single (unbatched) model")
        n = self.n_stimuli(model)
        return bv, mv, n, _check_index(index, n)

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        bv, mv = self._pair(brain, model)
        return compare_rdm_vectors(bv, mv, self.compare_method)

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        # Relabelling stimuli permutes the RDM entries, and rank/mean/norm are invariant to
        # that, so the normalized model RDM is computed once and only permuted.
        bv, mv, n, perms = self._single_model(brain, model, perms, "permutation test")
        zb = normalize_rdm_vectors(bv, self.compare_method)
        zm = squareform_vectors(normalize_rdm_vectors(mv, self.compare_method))
        rows, cols = np.triu_indices(n, k=1)
        flat = zb.reshape(-1, zb.shape[-1])
        out = np.empty((flat.shape[0], len(perms)))
        for sl in _chunks(len(perms), len(rows)):
            p = perms[sl]
            out[:, sl] = flat @ zm[p[:, rows], p[:, cols]].T
        return out.reshape(*zb.shape[:-1], len(perms))

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        # A resample's RDM holds each original pair (s, t) w_s * w_t times (w: multiplicity
        # of each stimulus); pairs of a stimulus with a copy of itself (zero distance by
        # construction) are left out on both sides. So every resample is a weighting of the
        # original pairs: nothing is gathered, and Spearman ranks each RDM once.
        bv, mv, n, idx = self._single_model(brain, model, idx, "bootstrap")
        flat = bv.reshape(-1, bv.shape[-1])
        rows, cols = np.triu_indices(n, k=1)
        out = np.empty((flat.shape[0], len(idx)))
        for sl in _chunks(len(idx), len(rows) * 4):
            w = resample_weights(idx[sl], n)
            out[:, sl] = weighted_compare(flat, mv, w[:, rows] * w[:, cols], self.compare_method)
        return out.reshape(*bv.shape[:-1], len(idx))


class CKAMetric(Metric):
    """Linear CKA between brain and model feature matrices."""

    def __init__(self, unbiased: bool) -> None:
        self.unbiased = unbiased
        self.name = f"cka-kernel=linear-hsic={'unbiased' if unbiased else 'biased'}"
        if unbiased:
            self.doc = (
                "Linear CKA with the unbiased HSIC estimator (Song et al. 2012). "
                "Range about [-1, 1] (can be < 0 by chance); null ~0 in expectation; "
                "1 = equal up to rotation and isotropic scaling."
            )
        else:
            self.doc = (
                "Linear CKA with the biased HSIC estimator (Kornblith et al. 2019). "
                "Range [0, 1]; null > 0, growing with n_features / n_stimuli; "
                "1 = equal up to rotation and isotropic scaling."
            )

    @staticmethod
    def _array(x: ArrayOrRDM) -> np.ndarray:
        if isinstance(x, RDMVectors):
            raise TypeError("CKA needs feature matrices, not precomputed RDMs")
        return np.asarray(x, dtype=np.float64)

    def n_stimuli(self, x: ArrayOrRDM) -> int:
        return self._array(x).shape[-2]

    def score(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> np.ndarray:
        return linear_cka(self._array(brain), self._array(model), unbiased=self.unbiased)

    def _grams(self, brain: ArrayOrRDM, model: ArrayOrRDM) -> tuple[np.ndarray, np.ndarray]:
        b, m = self._array(brain), self._array(model)
        if m.ndim != 2:
            raise ValueError("resampling needs a single (unbatched) model (n_stimuli, n_feat)")
        if b.shape[-2] != m.shape[0]:
            raise ValueError(f"brain has {b.shape[-2]} stimuli, model {m.shape[0]}")
        b = b - b.mean(axis=-2, keepdims=True)
        m = m - m.mean(axis=-2, keepdims=True)
        k = linear_gram(b)
        return k.reshape(-1, *k.shape[-2:]), linear_gram(m)

    def permutation_scores(
        self, brain: ArrayOrRDM, model: ArrayOrRDM, perms: np.ndarray
    ) -> np.ndarray:
        # Permuting model rows maps L -> L[p][:, p]; only the cross terms change, and they
        # are inner products of flattened Gram matrices, i.e. one matrix product per chunk.
        k, gl = self._grams(brain, model)
        lead = self._array(brain).shape[:-2]
        n = gl.shape[0]
        perms = _check_index(perms, n)
        hxx = hsic_from_grams(k, k, unbiased=self.unbiased)
        hyy = hsic_from_grams(gl, gl, unbiased=self.unbiased)
        if self.unbiased:
            eye = np.eye(n, dtype=bool)
            kt = np.where(eye, 0.0, k)
            lt = np.where(eye, 0.0, gl)
            u, v = kt.sum(-1), lt.sum(-1)
            su, sv = u.sum(-1), v.sum()
        else:
            kt = k - k.mean(axis=-1, keepdims=True)
            kt = kt - kt.mean(axis=-2, keepdims=True)
            lt = gl
        kflat = kt.reshape(kt.shape[0], n * n)
        hxy = np.empty((kflat.shape[0], len(perms)))
        for sl in _chunks(len(perms), n * n):
            p = perms[sl]
            lp = lt[p[:, :, None], p[:, None, :]].reshape(len(p), n * n)
            trace = kflat @ lp.T
            if self.unbiased:
                cross = u @ v[p].T
                hxy[:, sl] = unbiased_hsic_from_terms(trace, su[:, None], sv, cross, n)
            else:
                hxy[:, sl] = trace / (n - 1) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            out = hxy / np.sqrt(hxx * hyy)[:, None]
        return out.reshape(*lead, len(perms))

    def bootstrap_scores(self, brain: ArrayOrRDM, model: ArrayOrRDM, idx: np.ndarray) -> np.ndarray:
        # Pairs formed by a stimulus and its own copy are left out (as for RSA): kept, they
        # act as extra diagonal terms and bias every replicate upward (resampled_hsic).
        k, gl = self._grams(brain, model)
        lead = self._array(brain).shape[:-2]
        n = gl.shape[0]
        idx = _check_index(idx, n)
        out = np.empty((k.shape[0], len(idx)))
        for sl in _chunks(len(idx), k.shape[0] * n * 4):
            weights = resample_weights(idx[sl], n)
            out[:, sl] = resampled_cka(k, gl, weights, unbiased=self.unbiased)
        return out.reshape(*lead, len(idx))


_REGISTRY: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add a metric under ``metric.name``; names must be unique."""
    if metric.name in _REGISTRY:
        raise ValueError(f"metric {metric.name!r} already registered")
    _REGISTRY[metric.name] = metric
    return metric


for _rdm in RDM_METHODS:
    for _cmp in COMPARE_METHODS:
        register_metric(RSAMetric(_rdm, _cmp))  # type: ignore[arg-type]
register_metric(CKAMetric(unbiased=False))
register_metric(CKAMetric(unbiased=True))


def list_metrics() -> list[str]:
    """Names of all registered metrics."""
    return sorted(_REGISTRY)


def get_metric(name: str | Metric) -> Metric:
    """Look up a metric by name (a :class:`Metric` is passed through)."""
    if isinstance(name, Metric):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(
            f"unknown metric {name!r}.{hint} Known metrics: {', '.join(list_metrics())}"
        ) from None


# more pattern metrics (RBF CKA, Procrustes, SVCCA, mutual k-NN) register themselves
from . import shape as _shape  # noqa: E402,F401
