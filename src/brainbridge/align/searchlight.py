"""Searchlight RSA: an RDM per neighbourhood, all neighbourhoods at once.

A *neighbourhood* is a set of features around a centre: a sphere of voxels (fMRI; voxels whose
centre lies within ``radius`` mm of the centre voxel, as nilearn's sphere extraction), or a
sensor and its neighbours (Delaunay triangulation of the sensor positions, MNE's
``find_ch_adjacency``, or a distance) crossed with a time window (M/EEG). Neighbourhoods are a
sparse membership matrix (features x centres). The features of each neighbourhood are gathered
into a zero-padded block and the stimulus Gram matrices of a chunk of centres come from one
batched matrix product, never from a loop over centres:

* correlation distance: per centre, ``1 - r`` from the Gram matrix and the per-stimulus sums
  over the neighbourhood (patterns are first shifted per stimulus, which leaves every
  correlation unchanged and keeps the sums well conditioned);
* (squared) Euclidean: ``|x_i|^2 + |x_j|^2 - 2 x_i.x_j`` per centre (patterns centered per
  feature first), optionally divided by the neighbourhood size (rsatoolbox's "euclidean").

The values equal rsatoolbox's ``get_searchlight_RDMs`` + ``evaluate_models_searchlight`` on the
same neighbourhoods (``benchmarks/bench_searchlight.py``). Centres are processed in chunks that
bound memory; each chunk's RDMs are compared with every model RDM (and permuted) and dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from .compare import average_ranks, normalize_rdm_vectors
from .metrics import CHUNK_ELEMENTS, RSAMetric, get_metric
from .rdm import RDMVectors, squareform_vectors

__all__ = [
    "SearchlightResult",
    "grid_from_positions",
    "iter_searchlight_rdms",
    "membership_matrix",
    "searchlight_rsa",
    "sensor_neighbours",
    "sensor_time_membership",
    "sphere_neighbours",
]


# ---------------------------------------------------------------- neighbourhoods


def sphere_neighbours(
    positions: np.ndarray, radius: float, centres: np.ndarray | None = None
) -> list[np.ndarray]:
    """Indices of the positions within ``radius`` (inclusive) of each centre (default: each
    position), sorted. Positions and radius in the same unit (mm for voxels)."""
    positions = np.asarray(positions, dtype=np.float64)
    if radius <= 0:
        raise ValueError(f"searchlight radius must be > 0, got {radius}")
    centres = positions if centres is None else np.asarray(centres, dtype=np.float64)
    found = cKDTree(positions).query_ball_point(centres, r=radius * (1 + 1e-9))
    return [np.sort(np.asarray(ix, dtype=np.intp)) for ix in found]


def sensor_neighbours(
    names: Sequence[str], positions: np.ndarray, *, radius: float | None = None
) -> list[np.ndarray]:
    """Each sensor with its neighbours: within ``radius`` (positions' unit, m for MNE), or,
    without a radius, adjacent in MNE's Delaunay triangulation of the positions."""
    positions = np.asarray(positions, dtype=np.float64)
    if radius is not None:
        return sphere_neighbours(positions, radius)
    if not np.isfinite(positions).all() or np.allclose(positions, 0):
        raise ValueError(
            "sensor adjacency needs the sensor positions (coord 'position' of the brain "
            "store); give alignment.searchlight.sensor_radius or a montage at ingestion."
        )
    import mne

    info = mne.create_info(list(map(str, names)), sfreq=1000.0, ch_types="eeg")
    montage = mne.channels.make_dig_montage(
        dict(zip(map(str, names), positions, strict=True)), coord_frame="head"
    )
    info.set_montage(montage, on_missing="ignore")
    try:
        adjacency, _ = mne.channels.find_ch_adjacency(info, "eeg")
    except Exception as err:  # e.g. Qhull on co-located sensors (MEG gradiometer pairs)
        raise ValueError(
            f"no Delaunay adjacency of the {len(names)} sensor positions ({err}); set "
            "alignment.searchlight.sensor_radius (m) to take neighbours within a distance."
        ) from err
    adjacency = (sparse.csr_matrix(adjacency) + sparse.eye(len(names))).tocsr()
    return [np.sort(adjacency[i].indices) for i in range(len(names))]


def membership_matrix(neighbours: Sequence[np.ndarray], n_features: int) -> sparse.csc_matrix:
    """Sparse (features x centres) matrix with 1 where a feature belongs to a centre."""
    sizes = np.array([len(nb) for nb in neighbours])
    if (sizes == 0).any():
        raise ValueError(f"{int((sizes == 0).sum())} searchlight centre(s) have no feature")
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    indices = np.concatenate([np.asarray(nb, dtype=np.intp) for nb in neighbours])
    data = np.ones(len(indices))
    return sparse.csc_matrix((data, indices, indptr), shape=(n_features, len(neighbours)))


def time_windows(times: np.ndarray, window: float, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Centre time indices (every ``step`` samples) and a (time x centre) window membership:
    samples within ``window / 2`` seconds of the centre."""
    times = np.asarray(times, dtype=np.float64)
    centres = np.arange(0, len(times), max(1, int(step)))
    half = window / 2.0 + 1e-9 * max(1.0, abs(window))
    member = np.abs(times[:, None] - times[None, centres]) <= half
    return centres, member


def sensor_time_membership(
    neighbours: Sequence[np.ndarray], times: np.ndarray, window: float, step: int = 1
) -> tuple[sparse.csc_matrix, np.ndarray]:
    """Membership of (channel, time) features, flattened channel-major (``c * n_time + t``),
    in (sensor neighbourhood x time window) centres, flattened the same way; and the centre
    time indices."""
    sensors = membership_matrix(neighbours, len(neighbours))
    centres, window_member = time_windows(times, window, step)
    member = sparse.kron(sensors, sparse.csc_matrix(window_member.astype(np.float64)))
    return member.tocsc(), centres


def grid_from_positions(positions: np.ndarray, atol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned voxel grid holding ``positions`` (mm): (affine 4x4, integer ijk per
    position). Raises ValueError when the positions are not on such a grid (oblique)."""
    positions = np.asarray(positions, dtype=np.float64)
    origin = positions.min(axis=0)
    spacing = np.empty(3)
    for axis in range(3):
        steps = np.diff(np.unique(np.round(positions[:, axis], 6)))
        spacing[axis] = steps[steps > atol].min() if (steps > atol).any() else 1.0
    ijk = (positions - origin) / spacing
    if np.abs(ijk - np.round(ijk)).max() > atol * 10:
        raise ValueError("voxel positions are not on an axis-aligned grid; no NIfTI written")
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = origin
    return affine, np.round(ijk).astype(int)


# ---------------------------------------------------------------- RDMs of all centres


def _prepare(patterns: np.ndarray, method: str) -> np.ndarray:
    x = np.asarray(patterns, dtype=np.float64)
    if method == "correlation":  # a constant per stimulus leaves correlations unchanged
        return x - x.mean(axis=1, keepdims=True)
    return x - x.mean(axis=0, keepdims=True)  # distances are translation invariant


def iter_searchlight_rdms(
    patterns: np.ndarray,
    member: sparse.csc_matrix,
    method: str = "correlation",
    *,
    per_feature: bool = False,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(centres, rdm vectors (n_centres_in_chunk, n_pairs))`` for ``patterns``
    (stimulus x feature) and a (feature x centre) membership matrix.

    Each neighbourhood's features are gathered into a zero-padded (centre, feature, stimulus)
    block and its stimulus Gram matrices come from one batched matrix product per chunk of
    centres (chunks of ``CHUNK_ELEMENTS``); no loop over centres.
    """
    if method not in ("correlation", "euclidean", "sqeuclidean"):
        raise ValueError(f"unknown RDM method {method!r}")
    x = _prepare(patterns, method)
    n = x.shape[0]
    member = sparse.csc_matrix(member)
    if member.shape[0] != x.shape[1]:
        raise ValueError(f"membership has {member.shape[0]} features, patterns {x.shape[1]}")
    rows, cols = np.triu_indices(n, k=1)
    n_centres = member.shape[1]
    size = np.diff(member.indptr)
    # neighbourhoods as padded index rows (C, K); padding points at an appended zero feature
    padded = np.full((n_centres, max(1, size.max())), x.shape[1], dtype=np.intp)
    owner = np.repeat(np.arange(n_centres), size)
    padded[owner, np.arange(member.nnz) - member.indptr[owner]] = member.indices
    xt = np.concatenate([x, np.zeros((n, 1))], axis=1).T.copy()  # (F + 1, n)
    step = max(1, min(n_centres, CHUNK_ELEMENTS // (2 * n * max(n, padded.shape[1]))))
    for start in range(0, n_centres, step):
        sl = slice(start, min(start + step, n_centres))
        gathered = xt[padded[sl]]  # (chunk, K, n): each centre's features x stimuli
        gram = np.swapaxes(gathered, -1, -2) @ gathered  # (chunk, n, n), one BLAS call each
        s = gathered.sum(axis=1)  # (chunk, n): per-stimulus sums over the neighbourhood
        k = size[sl, None].astype(np.float64)
        if method == "correlation":
            gram -= s[:, :, None] * (s / k)[:, None, :]  # covariances (times k)
            with np.errstate(invalid="ignore", divide="ignore"):
                inv = 1.0 / np.sqrt(np.einsum("cii->ci", gram))
            gram *= inv[:, :, None]
            gram *= inv[:, None, :]
            rdm = 1.0 - gram[:, rows, cols]
        else:
            q = np.einsum("cii->ci", gram)
            rdm = np.maximum(q[:, rows] + q[:, cols] - 2.0 * gram[:, rows, cols], 0.0)
            if per_feature:
                rdm /= k
            if method == "euclidean":
                np.sqrt(rdm, out=rdm)
        yield sl, rdm


# ---------------------------------------------------------------- comparison and inference


def _normalized_rows(rdms: np.ndarray, method: str) -> np.ndarray:
    """RDM rows transformed so that the comparison is an inner product (as
    :func:`~brainbridge.align.compare.normalize_rdm_vectors`). Spearman ranks come from one
    argsort per row (the usual case for continuous RDMs: no ties); rows with ties or NaNs are
    ranked by :func:`~brainbridge.align.compare.average_ranks`."""
    if method != "spearman":
        return normalize_rdm_vectors(rdms, method)  # type: ignore[arg-type]
    n_pairs = rdms.shape[-1]
    order = np.argsort(rdms, axis=-1)
    ranks = np.empty(rdms.shape)
    np.put_along_axis(ranks, order, np.arange(1.0, n_pairs + 1.0)[None], axis=-1)
    ordered = np.take_along_axis(rdms, order, axis=-1)
    special = (np.diff(ordered, axis=-1) == 0).any(axis=-1) | np.isnan(ordered).any(axis=-1)
    if special.any():
        ranks[special] = average_ranks(rdms[special])
    ranks -= ranks.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ranks / np.linalg.norm(ranks, axis=-1, keepdims=True)


@dataclass(frozen=True)
class SearchlightResult:
    """``score`` and ``p_value`` (model x centre); NaN p-values without permutations."""

    models: list[str]
    score: np.ndarray
    p_value: np.ndarray
    size: np.ndarray
    n_permutations: int


def searchlight_rsa(
    patterns: np.ndarray,
    member: sparse.csc_matrix,
    models: Mapping[str, np.ndarray | RDMVectors],
    metric: str | RSAMetric = "rsa-rdm=correlation-compare=spearman",
    *,
    n_permutations: int = 0,
    seed: int = 0,
) -> SearchlightResult:
    """Every centre's RDM vs every model (features (stimulus x feature) or RDMVectors).

    The centre RDMs use the metric's RDM method; with ``n_permutations`` the model stimuli are
    relabelled (the same permutations for every centre and model) and ``p = (1 + #{null >=
    observed}) / (1 + n_permutations)``, one-sided, uncorrected.
    """
    metric = get_metric(metric)
    if not isinstance(metric, RSAMetric):
        raise TypeError(f"searchlights compare RDMs: {metric.name} is not an RSA metric")
    n = np.shape(patterns)[0]
    vectors = {k: metric.vectors(v) for k, v in models.items()}
    for name, vec in vectors.items():
        if vec.ndim != 1 or vec.shape[0] != n * (n - 1) // 2:
            raise ValueError(f"model {name!r} does not have one RDM over the {n} stimuli")
    names = list(vectors)
    n_centres = member.shape[1]
    score = np.full((len(names), n_centres), np.nan)
    p_value = np.full((len(names), n_centres), np.nan)
    # the model side, normalized once; with permutations, every permuted model RDM too
    method = metric.compare_method
    models_z = np.stack([normalize_rdm_vectors(vectors[k], method) for k in names])
    permuted = None
    if n_permutations:
        rng = np.random.default_rng(seed)
        perms = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
        rows, cols = np.triu_indices(n, k=1)
        square = squareform_vectors(models_z)  # (model, n, n)
        permuted = square[:, perms[:, rows], perms[:, cols]]  # (model, perm, pair)
    for sl, rdms in iter_searchlight_rdms(patterns, member, metric.rdm_method):
        brain_z = _normalized_rows(rdms, method)  # once per chunk, for every model
        observed = models_z @ brain_z.T  # (model, chunk)
        score[:, sl] = observed
        if permuted is not None:
            for i in range(len(names)):
                null = brain_z @ permuted[i].T  # (chunk, perm)
                tol = 1e-12 * np.maximum(1.0, np.abs(observed[i]))
                exceed = (null >= (observed[i] - tol)[:, None]).sum(axis=-1)
                p_value[i, sl] = (1.0 + exceed) / (1.0 + n_permutations)
    size = np.asarray(sparse.csc_matrix(member).sum(axis=0)).ravel().astype(int)
    return SearchlightResult(names, score, p_value, size, int(n_permutations))
