"""Stimulus bootstrap of time-resolved alignment: weighted resamples versus re-ranking.

The embedded default's EEG alignment size: 120 stimuli x 33 channels x 81 time points, one
layer of 64 features, 200 bootstrap resamples, Spearman RSA and unbiased linear CKA.

* Spearman RSA. Reference: gather every resample's RDM pairs, mask the pairs formed by a
  stimulus and its copy, re-rank (scipy ``rankdata``) and correlate (the previous code path).
  brainbridge: every resample is a weighting of the original pairs; each RDM is sorted once and
  a resample's ranks are cumulative weights. Same numbers (max |diff| printed).
* Unbiased CKA. Reference: gather every resample's Gram matrices (copies' pairs kept, the
  previous code path). brainbridge: weighted sums over the original stimuli with copies'
  pairs left out (the numbers differ on purpose: the reference is biased upward).

Run: ``python benchmarks/bench_bootstrap.py`` (BLAS limited to one thread).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.stats import rankdata
from threadpoolctl import threadpool_limits

from brainbridge.align import cka_from_grams, compute_rdms, get_metric

N_STIM, N_CHAN, N_TIME, N_FEAT, N_BOOT, SEED = 120, 33, 81, 64, 200, 0


def reference_spearman(brain: np.ndarray, model: np.ndarray, idx: np.ndarray) -> np.ndarray:
    bsq = compute_rdms(brain, "correlation")
    msq = compute_rdms(model, "correlation")
    rows, cols = np.triu_indices(N_STIM, k=1)
    out = np.empty((len(bsq), len(idx)))
    for k, i in enumerate(idx):
        r, c = i[rows], i[cols]
        keep = r != c
        a = rankdata(bsq[:, r[keep], c[keep]], axis=-1)
        b = rankdata(msq[r[keep], c[keep]])
        a -= a.mean(axis=-1, keepdims=True)
        b -= b.mean()
        out[:, k] = (a @ b) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b)
    return out


def reference_cka(brain: np.ndarray, model: np.ndarray, idx: np.ndarray) -> np.ndarray:
    b = brain - brain.mean(axis=-2, keepdims=True)
    m = model - model.mean(axis=0)
    k, gl = b @ np.swapaxes(b, -1, -2), m @ m.T
    out = np.empty((len(k), len(idx)))
    for j, i in enumerate(idx):
        out[:, j] = cka_from_grams(
            k[:, i[:, None], i[None, :]], gl[i[:, None], i[None, :]], unbiased=True
        )
    return out


def main() -> None:
    rng = np.random.default_rng(SEED)
    model = rng.normal(size=(N_STIM, N_FEAT))
    brain = rng.normal(size=(N_TIME, N_STIM, N_CHAN))
    brain[20:40] += (model @ rng.normal(size=(N_FEAT, N_CHAN)) / 8)[None]
    idx = rng.integers(0, N_STIM, size=(N_BOOT, N_STIM))
    rows = []
    for name, reference in (
        ("rsa-rdm=correlation-compare=spearman", reference_spearman),
        ("cka-kernel=linear-hsic=unbiased", reference_cka),
    ):
        metric = get_metric(name)
        t0 = time.perf_counter()
        ref = reference(brain, model, idx)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = metric.bootstrap_scores(brain, model, idx)
        t_ours = time.perf_counter() - t0
        rows.append((name, t_ref, t_ours, np.abs(ref - ours).max()))
    print(
        f"bootstrap: {N_STIM} stimuli x {N_CHAN} channels x {N_TIME} time points, "
        f"{N_BOOT} resamples"
    )
    print(f"{'metric':<40}{'reference [s]':>14}{'ours [s]':>10}{'ratio':>8}{'max|diff|':>12}")
    for name, t_ref, t_ours, diff in rows:
        print(f"{name:<40}{t_ref:>14.2f}{t_ours:>10.2f}{t_ref / t_ours:>7.1f}x{diff:>12.2e}")
    total_ref, total_ours = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(
        f"{'both (one layer of the EEG alignment)':<40}{total_ref:>14.2f}{total_ours:>10.2f}"
        f"{total_ref / total_ours:>7.1f}x"
    )


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="blas"):
        main()
