"""Time-resolved RSA benchmark: brainbridge.align versus rsatoolbox.

92 stimuli x 64 channels x 200 time points, correlation-distance RDM per time point,
Spearman comparison with one model RDM, permutation test with 1000 stimulus permutations.
rsatoolbox path: TemporalDataset + calc_rdm_movie, rdm.compare, and for the permutation
test the model RDM permuted with rdm.rdms.permute_rdms (same permutations) and one compare call.

Both libraries run with BLAS limited to one thread (threadpoolctl): on a small shared
machine multi-threaded OpenBLAS on many tiny matrices can be ~50x slower than one thread.
Pass ``--threads N`` to change it. Run: ``python benchmarks/bench_rdm.py`` (< 1 min).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import rsatoolbox
from threadpoolctl import threadpool_limits

from brainbridge.align import (
    RDMVectors,
    compare_rdm_vectors,
    compute_rdms,
    get_metric,
    permutation_test,
    upper_triangle,
)

N_STIM, N_CHAN, N_TIME, N_FEAT_MODEL, N_PERM, SEED = 92, 64, 200, 100, 1000, 0


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    rng = np.random.default_rng(SEED)
    model = rng.normal(size=(N_STIM, N_FEAT_MODEL))
    proj = rng.normal(size=(N_FEAT_MODEL, N_CHAN)) / np.sqrt(N_FEAT_MODEL)
    gain = np.exp(-0.5 * ((np.arange(N_TIME) - 100) / 20) ** 2)  # signal peaks mid-epoch
    brain = gain[:, None, None] * (model @ proj)[None] + rng.normal(
        size=(N_TIME, N_STIM, N_CHAN)
    )  # (time, stim, chan)
    metric = get_metric("rsa-rdm=correlation-compare=spearman")
    model_vec = upper_triangle(compute_rdms(model, "correlation"))

    rows: list[tuple[str, float, float, float]] = []

    # --- 1. RDM movie -------------------------------------------------------------
    t_ours, ours_vecs = timed(lambda: upper_triangle(compute_rdms(brain, "correlation")), 3)
    tds = rsatoolbox.data.TemporalDataset(
        np.transpose(brain, (1, 2, 0)),  # (stim, chan, time)
        time_descriptors={"time": np.arange(N_TIME)},
    )
    t_rsa, movie = timed(lambda: rsatoolbox.rdm.calc_rdm_movie(tds, method="correlation"))
    rsa_vecs = movie.get_vectors()
    rows.append(("RDM per time point", t_ours, t_rsa, np.abs(ours_vecs - rsa_vecs).max()))

    # --- 2. Spearman vs model RDM ---------------------------------------------------
    t_ours, ours_s = timed(lambda: compare_rdm_vectors(ours_vecs, model_vec, "spearman"), 3)
    model_rdm = rsatoolbox.rdm.RDMs(model_vec[None])
    t_rsa, rsa_s = timed(lambda: rsatoolbox.rdm.compare(movie, model_rdm, method="spearman"), 3)
    rows.append(("Spearman vs model", t_ours, t_rsa, np.abs(ours_s - rsa_s[:, 0]).max()))

    # --- 3. permutation test (1000 perms, same permutations) -------------------------
    t_ours, res = timed(
        lambda: permutation_test(
            metric, RDMVectors(ours_vecs), RDMVectors(model_vec), N_PERM, SEED, return_null=True
        )
    )
    perms = np.random.default_rng(SEED).permuted(np.tile(np.arange(N_STIM), (N_PERM, 1)), axis=1)

    def rsa_perm() -> tuple[np.ndarray, np.ndarray]:
        permuted = rsatoolbox.rdm.concat(
            [rsatoolbox.rdm.rdms.permute_rdms(model_rdm, p) for p in perms]
        )
        null = rsatoolbox.rdm.compare(movie, permuted, method="spearman")  # (time, perm)
        obs = rsatoolbox.rdm.compare(movie, model_rdm, method="spearman")
        p_val = (1 + (null >= obs - 1e-12).sum(axis=1)) / (1 + N_PERM)
        return null, p_val

    t_rsa, (rsa_null, rsa_p) = timed(rsa_perm)
    diff = max(np.abs(res.null - rsa_null).max(), np.abs(res.p_value - rsa_p).max())
    rows.append((f"permutation test ({N_PERM})", t_ours, t_rsa, diff))

    # --- total pipeline from patterns -----------------------------------------------
    t_total, _ = timed(lambda: permutation_test(metric, brain, model, N_PERM, SEED))
    rows.append(("ours end-to-end (1+2+3)", t_total, sum(r[2] for r in rows), np.nan))

    print(f"time-resolved RSA: {N_STIM} stimuli x {N_CHAN} channels x {N_TIME} time points")
    print(f"{'stage':<28}{'ours [s]':>10}{'rsatoolbox [s]':>16}{'ratio':>9}{'max|diff|':>12}")
    for name, ours, theirs, d in rows:
        print(f"{name:<28}{ours:>10.4f}{theirs:>16.4f}{theirs / ours:>8.1f}x{d:>12.2e}")
    print(f"min p at peak: {res.p_value.min():.4f}; p at t=0: {res.p_value[0]:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (both libraries)")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads, user_api="blas"):
        print(f"BLAS threads: {args.threads}")
        main()
