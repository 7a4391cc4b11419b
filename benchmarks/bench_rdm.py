"""Time-resolved RSA benchmark: brainbridge.align versus rsatoolbox.

92 stimuli x 64 channels x 200 time points, correlation-distance RDM per time point,
Spearman comparison with one model RDM, permutation test with 1000 stimulus permutations.
rsatoolbox path: TemporalDataset + calc_rdm_movie, rdm.compare, and for the permutation
test the model RDM permuted with rdm.rdms.permute_rdms (same permutations) and one compare call.

A second part runs the time-resolved permutation test at 92 stimuli x 306 channels x 600 time
points with 1,000 permutations: brainbridge's ``permutation_test`` from patterns, a fully
vectorized reference solver written here (one RDM product, rank once, permute the model's
ranks, one matrix product for all time points and permutations), rsatoolbox with all permuted
model RDMs compared in one call, and rsatoolbox called per time point and permutation (timed on
a subset and extrapolated, as it takes minutes). ``--skip-scale`` leaves it out.

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


def permutation_at_scale(n_time: int = 600, n_chan: int = 306, n_perm: int = 1000) -> None:
    """The permutation test at 92 x 306 x 600 (module docstring), side by side."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(SEED)
    model = rng.normal(size=(N_STIM, N_FEAT_MODEL))
    proj = rng.normal(size=(N_FEAT_MODEL, n_chan)) / np.sqrt(N_FEAT_MODEL)
    gain = np.exp(-0.5 * ((np.arange(n_time) - n_time / 2) / 40) ** 2)
    brain = gain[:, None, None] * (model @ proj)[None] + rng.normal(size=(n_time, N_STIM, n_chan))
    metric = get_metric("rsa-rdm=correlation-compare=spearman")
    perms = np.random.default_rng(SEED).permuted(np.tile(np.arange(N_STIM), (n_perm, 1)), axis=1)
    rows, cols = np.triu_indices(N_STIM, k=1)

    def solver() -> tuple[np.ndarray, np.ndarray]:
        x = brain - brain.mean(axis=-1, keepdims=True)
        x /= np.linalg.norm(x, axis=-1, keepdims=True)
        vecs = 1.0 - (x @ np.swapaxes(x, -1, -2))[:, rows, cols]
        rb = rankdata(vecs, axis=-1)
        rb -= rb.mean(axis=-1, keepdims=True)
        rb /= np.linalg.norm(rb, axis=-1, keepdims=True)
        rm = rankdata(upper_triangle(compute_rdms(model)))
        rm -= rm.mean()
        rm /= np.linalg.norm(rm)
        sq = np.zeros((N_STIM, N_STIM))
        sq[rows, cols] = sq[cols, rows] = rm
        allp = np.vstack([np.arange(N_STIM), perms])
        scores = rb @ sq[allp[:, rows], allp[:, cols]].T  # (time, 1 + perm)
        obs, null = scores[:, 0], scores[:, 1:]
        return obs, (1 + (null >= obs[:, None] - 1e-12).sum(1)) / (1 + n_perm)

    t_ours, res = timed(lambda: permutation_test(metric, brain, model, n_perm, SEED))
    t_solver, (s_obs, s_p) = timed(solver)
    diff_solver = max(np.abs(res.observed - s_obs).max(), np.abs(res.p_value - s_p).max())

    def rsa_one_call() -> tuple[np.ndarray, np.ndarray]:
        tds = rsatoolbox.data.TemporalDataset(
            np.transpose(brain, (1, 2, 0)), time_descriptors={"time": np.arange(n_time)}
        )
        movie = rsatoolbox.rdm.calc_rdm_movie(tds, method="correlation")
        model_rdm = rsatoolbox.rdm.RDMs(upper_triangle(compute_rdms(model))[None])
        permuted = rsatoolbox.rdm.concat(
            [rsatoolbox.rdm.rdms.permute_rdms(model_rdm, p) for p in perms]
        )
        null = rsatoolbox.rdm.compare(movie, permuted, method="spearman")
        obs = rsatoolbox.rdm.compare(movie, model_rdm, method="spearman")[:, 0]
        return obs, (1 + (null >= obs[:, None] - 1e-12).sum(1)) / (1 + n_perm)

    t_rsa, (r_obs, r_p) = timed(rsa_one_call)
    diff_rsa = max(np.abs(res.observed - r_obs).max(), np.abs(res.p_value - r_p).max())

    # per time point and permutation: a subset, extrapolated
    sub_t, sub_p = 3, 20
    model_rdm = rsatoolbox.rdm.RDMs(upper_triangle(compute_rdms(model))[None])

    def rsa_loop() -> None:
        for t in range(sub_t):
            rdm = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(brain[t]), method="correlation")
            for p in perms[:sub_p]:
                permuted = rsatoolbox.rdm.rdms.permute_rdms(model_rdm, p)
                rsatoolbox.rdm.compare(rdm, permuted, method="spearman")

    t_loop_sub, _ = timed(rsa_loop)
    t_loop = t_loop_sub * (n_time / sub_t) * (n_perm / sub_p)
    print(
        f"\npermutation test: {N_STIM} stimuli x {n_chan} channels x {n_time} time points, "
        f"{n_perm} permutations"
    )
    print(f"{'method':<58}{'time [s]':>10}{'vs ours':>9}{'max|diff|':>12}")
    for name, t, d in (
        ("brainbridge permutation_test (from patterns)", t_ours, 0.0),
        ("vectorized solver (rank once, permute model ranks)", t_solver, diff_solver),
        ("rsatoolbox, all permuted model RDMs in one compare call", t_rsa, diff_rsa),
        (f"rsatoolbox per time point x permutation (est. from {sub_t}x{sub_p})", t_loop, np.nan),
    ):
        print(f"{name:<58}{t:>10.3f}{t / t_ours:>8.2f}x{d:>12.2e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (both libraries)")
    parser.add_argument("--skip-scale", action="store_true", help="leave out the 92x306x600 part")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads, user_api="blas"):
        print(f"BLAS threads: {args.threads}")
        main()
        if not args.skip_scale:
            permutation_at_scale()
