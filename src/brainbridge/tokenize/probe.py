"""Linear probes of trial labels from tokens or from band power, with permutation p-values.

The probe is a ridge classifier (labels coded -1 / +1, intercept, features standardised on the
training folds), fitted in closed form for the true labels and every permutation at once: one
linear solve per fold, whatever the number of permutations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = ((8.0, 13.0), (13.0, 30.0))  # mu and beta


@dataclass(frozen=True)
class ProbeResult:
    accuracy: float  # mean cross-validated accuracy (over folds)
    p_value: float  # (1 + permutations scoring >= accuracy) / (1 + permutations)
    null_mean: float
    n_trials: int
    n_features: int


def band_power(
    data: np.ndarray, sfreq: float, bands: tuple[tuple[float, float], ...] = BANDS
) -> np.ndarray:
    """log mean Welch power per channel and band: (trial, channel x band)."""
    from scipy.signal import welch  # imported when used: a job starts without it

    freqs, psd = welch(data, fs=sfreq, nperseg=min(data.shape[-1], int(sfreq)), axis=-1)
    out = [np.log(psd[..., (freqs >= lo) & (freqs < hi)].mean(-1)) for lo, hi in bands]
    return np.stack(out, axis=-1).reshape(len(data), -1)


def _ridge_predict(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, alpha: float) -> np.ndarray:
    """Decision values on ``xte`` of ridge fits to every column of ``ytr`` (n_train, n_fits)."""
    mu, sd = xtr.mean(0), xtr.std(0)
    sd[sd == 0] = 1.0
    a, b = (xtr - mu) / sd, (xte - mu) / sd
    bias = ytr.mean(0)
    yc = ytr - bias
    if a.shape[1] <= a.shape[0]:
        w = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ yc)
    else:  # dual form: fewer trials than features
        w = a.T @ np.linalg.solve(a @ a.T + alpha * np.eye(a.shape[0]), yc)
    return b @ w + bias


def linear_probe(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    n_folds: int = 5,
    n_permutations: int = 200,
    seed: int = 0,
    alpha: float = 1.0,
) -> ProbeResult:
    """Stratified k-fold accuracy of the ridge probe, and its permutation test (labels
    shuffled across trials, the same folds refitted)."""
    from sklearn.model_selection import StratifiedKFold  # ~1.4 s, kept out of start-up

    labels = np.asarray(labels).astype(str)
    classes, counts = np.unique(labels, return_counts=True)
    folds = int(min(n_folds, counts.min())) if len(counts) else 0
    if len(classes) != 2 or folds < 2:
        raise ValueError(
            "a probe needs two classes with at least 2 trials each; got "
            f"{dict(zip(classes.tolist(), counts.tolist()))}."
        )
    x = np.asarray(features, float)
    y = np.where(labels == classes[1], 1.0, -1.0)
    rng = np.random.default_rng(seed)
    perms = np.stack([y] + [rng.permutation(y) for _ in range(n_permutations)], axis=1)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores = []
    for train, test in cv.split(x, labels):
        decision = _ridge_predict(x[train], perms[train], x[test], alpha)
        scores.append(np.mean(np.where(decision > 0, 1.0, -1.0) == perms[test], axis=0))
    score = np.mean(scores, axis=0)
    observed, null = float(score[0]), score[1:]
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_permutations)
    return ProbeResult(observed, float(p), float(null.mean()), len(y), x.shape[1])


def token_features(tokens, tmin: float | None = None, tmax: float | None = None) -> dict:
    """Per-trial token features over the tokens whose centre lies in [tmin, tmax] (s):
    per-channel (source) code histograms, and code vectors averaged over those tokens."""
    from brainbridge.tokenize.readout import TOKEN_TIME, code_vectors, token_histograms

    t = tokens[TOKEN_TIME].values
    keep = np.ones(len(t), bool)
    if tmin is not None:
        keep &= t >= tmin
    if tmax is not None:
        keep &= t <= tmax
    if not keep.any():
        raise ValueError(
            f"no token centre lies in [{tmin}, {tmax}] s (tokens span {t.min():.3g} to "
            f"{t.max():.3g} s); widen the probe's tmin / tmax."
        )
    window = tokens.isel(token=np.flatnonzero(keep))
    vec = code_vectors(window)  # (trial, unit, token, dim)
    return {
        "code histograms": token_histograms(window, per_unit=True),
        "pooled code vectors": vec.mean(2).reshape(len(vec), -1),
    }


def random_codebook(meta: dict, sources: list, seed: int = 0):
    """The tokenizer of ``meta`` untrained: random weights (seeded) and a codebook drawn from
    its own outputs on one batch of ``sources`` (k-means initialisation, no gradient step;
    no labels), so that its codes are in use at all."""
    import torch

    from brainbridge.tokenize.config import resolve
    from brainbridge.tokenize.data import WindowStream
    from brainbridge.tokenize.models import build, set_generator

    torch.manual_seed(seed)
    model = build(resolve(meta["config"], meta.get("name", "tokenizer")))
    set_generator(model, torch.Generator().manual_seed(seed))
    stream = WindowStream(sources, meta["scales"], batch_size=64, seed=seed)
    x, i = next(iter(stream))
    model.train()
    with torch.no_grad():
        model(x, sources[i].sensors())
    set_generator(model, None)
    return model.eval()
