"""Time brainbridge's banded ridge against himalaya's ``BandedRidgeCV`` on the same problem.

Two feature spaces of ``p / 2`` features each, ``n`` samples, float32; every method runs the
same random search: the same band-weight candidates (``--n-candidates``), the same alphas
(``--n-alphas``) and the same inner ``KFold(--n-folds)``, picks band weights and alpha per
target and refits on all samples. Each (method, shape) runs in a fresh process: wall time of
the fit, and peak resident memory above the process's memory just before the fit (the data
and imports excluded). Ratios are to himalaya-torch (CPU). The inner CV scores of every
method are compared with himalaya-torch's (max absolute difference relative to their range).

    python benchmarks/bench_banded.py                     # the four shapes, 3 candidates
    python benchmarks/bench_banded.py --p 512 --t 1000 --n-candidates 2   # smaller
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

METHODS = ("brainbridge numpy", "brainbridge torch", "himalaya torch_cpu", "himalaya numpy")
REFERENCE = "himalaya torch_cpu"


def make_data(n: int, p: int, t: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Two bands of ``p // 2`` features; targets read both with varying weights, plus noise."""
    rng = np.random.default_rng(seed)
    half = p // 2
    Xs = [rng.standard_normal((n, half), dtype=np.float32) for _ in range(2)]
    mix = np.linspace(0, 1, t, dtype=np.float32)
    Y = rng.standard_normal((n, t), dtype=np.float32) * 2.0
    for X, w in zip(Xs, (mix, 1 - mix)):
        W = rng.standard_normal((half, 10), dtype=np.float32)
        W = W @ rng.standard_normal((10, t), dtype=np.float32) / np.float32(np.sqrt(10 * half))
        Y += (X @ W) * w
    return Xs, Y


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(args: argparse.Namespace) -> None:
    """Fit once with ``args.method``; print seconds and peak memory; save the CV scores."""
    import torch
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    from brainbridge.encode.banded import band_weight_candidates, fit_banded_ridge

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    warnings.filterwarnings("ignore")
    Xs, Y = make_data(args.n, args.p, args.t, args.seed)
    alphas = np.logspace(-2, 6, args.n_alphas)
    gammas = band_weight_candidates(2, args.n_candidates, seed=args.seed)
    cv = KFold(args.n_folds)
    if args.method.startswith("himalaya"):
        from himalaya.backend import set_backend
        from himalaya.ridge import BandedRidgeCV

        name = {"torch_cpu": "torch"}.get(args.method.split()[1], args.method.split()[1])
        backend = set_backend(name, on_error="raise")  # himalaya's "torch" runs on the CPU
        model = BandedRidgeCV(
            groups="input",
            fit_intercept=True,
            cv=cv,
            solver_params=dict(alphas=alphas, n_iter=gammas, progress_bar=False, warn=False),
        )
        Xs_in, Y_in = [backend.asarray(X) for X in Xs], backend.asarray(Y)

        def fit():
            model.fit(Xs_in, Y_in)
            return backend.to_numpy(model.cv_scores_)
    else:
        name = args.method.split()[1]

        def fit():
            return fit_banded_ridge(
                Xs, Y, alphas, gammas, cv=cv, backend=name, dtype="float32"
            ).cv_scores

    base = _rss_mb()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    scores = fit()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak = after.ru_maxrss / 1024
    np.save(args.scores, np.asarray(scores, dtype=np.float64))
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": max(peak - base, 0.0)}))


def run_one(args: argparse.Namespace, method: str, p: int, t: int, scores: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", method, "--p", str(p), "--t", str(t)]
    cmd += ["--n", str(args.n), "--n-alphas", str(args.n_alphas), "--n-folds", str(args.n_folds)]
    cmd += ["--n-candidates", str(args.n_candidates), "--threads", str(args.threads)]
    cmd += ["--seed", str(args.seed), "--scores", str(scores)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{method} p={p} t={t} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scores", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--p", type=int, nargs="+", default=[512, 4096], help="total features")
    parser.add_argument("--t", type=int, nargs="+", default=[1000, 30000], help="targets")
    parser.add_argument("--n-alphas", type=int, default=9)
    parser.add_argument("--n-folds", type=int, default=5)
    parser.add_argument("--n-candidates", type=int, default=3, help="band-weight candidates")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the rows as JSON to this path")
    args = parser.parse_args(argv)
    if args.worker:
        args.method, args.p, args.t = args.worker, args.p[0], args.t[0]
        worker(args)
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in args.p:
            for t in args.t:
                results = {}
                for method in args.methods:
                    path = Path(tmp) / f"{method.replace(' ', '_')}_{p}_{t}.npy"
                    time.sleep(1.0)
                    results[method] = run_one(args, method, p, t, path) | {"path": path}
                ref = results.get(REFERENCE)
                ref_scores = np.load(ref["path"]) if ref else None
                for method, r in results.items():
                    scores = np.load(r["path"])
                    row = {"p": p, "t": t, "method": method, "seconds": round(r["seconds"], 2)}
                    row["cpu_seconds"] = round(r["cpu"], 2)
                    row["peak_mb"] = round(r["peak_mb"])
                    if ref:
                        span = float(np.ptp(ref_scores)) or 1.0
                        row["time_ratio"] = round(r["seconds"] / ref["seconds"], 2)
                        row["cpu_ratio"] = round(r["cpu"] / ref["cpu"], 2)
                        row["mem_ratio"] = round(r["peak_mb"] / max(ref["peak_mb"], 1.0), 2)
                        row["score_diff"] = float(np.abs(scores - ref_scores).max() / span)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print(
        f"\nn={args.n}, float32, {args.n_alphas} alphas, {args.n_folds} folds, two bands of p/2,"
        f" {args.n_candidates} band-weight candidates, {args.threads} threads; ratios to "
        f"{REFERENCE}\n"
    )
    nan = float("nan")
    print(
        "| p | t | method | wall s | CPU s | peak MB | wall ratio | CPU ratio | memory ratio "
        "| max score diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['p']} | {r['t']} | {r['method']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} "
            f"| {r['peak_mb']} | {r.get('time_ratio', nan):.2f} | {r.get('cpu_ratio', nan):.2f} "
            f"| {r.get('mem_ratio', nan):.2f} | {r.get('score_diff', nan):.1e} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
