"""Time brainbridge's cross-validated ridge against scikit-learn and himalaya on the same data.

Every method runs the same outer KFold; inside each training fold it picks one alpha per target
and predicts the held-out fold. Scores are Pearson r on the concatenated out-of-fold predictions.
scikit-learn ``RidgeCV(alpha_per_target=True)`` uses the same efficient LOO as brainbridge, so its
scores should agree to rounding; himalaya ``RidgeCV`` picks alphas by an inner 5-fold CV instead,
so its scores agree only approximately.

    python benchmarks/bench_ridge.py --threads 2 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from threadpoolctl import threadpool_limits

from brainbridge.encode import cross_validated_scores, make_folds, score_predictions


def make_data(n: int, p: int, t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets driven by a low-rank projection of X plus noise of varying level."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, 20)) @ rng.standard_normal((20, t)) / np.sqrt(20 * p)
    noise = np.geomspace(0.3, 10, t)
    Y = X @ W + rng.standard_normal((n, t)) * noise
    return X, Y


def run_sklearn(X, Y, alphas, folds) -> np.ndarray:
    P = np.zeros_like(Y)
    for train, test in folds:
        model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X[train], Y[train])
        P[test] = model.predict(X[test])
    return score_predictions(Y, P)


def run_himalaya(X, Y, alphas, folds, backend: str) -> np.ndarray:
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV as HRidgeCV

    hb = set_backend(backend, on_error="raise")
    P = np.zeros_like(Y)
    for train, test in folds:
        model = HRidgeCV(alphas=alphas, fit_intercept=True, cv=5)
        model.fit(X[train], Y[train])
        P[test] = np.asarray(hb.to_numpy(model.predict(X[test])), dtype=np.float64)
    return score_predictions(Y, P)


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    """Best wall time over ``repeat`` runs, and the scores."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        scores = fn()
        best = min(best, time.perf_counter() - start)
    return best, scores


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=600)
    parser.add_argument("--n-features", type=int, default=2000)
    parser.add_argument("--n-targets", type=int, default=3000)
    parser.add_argument("--n-alphas", type=int, default=10)
    parser.add_argument("--n-folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="report the best of N runs")
    parser.add_argument("--skip-himalaya", action="store_true")
    parser.add_argument(
        "--json",
        nargs="?",
        const=str(Path(__file__).with_name("bench_ridge.json")),
        default=None,
        help="write results as JSON (default path: next to this script)",
    )
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # numpy's BLAS gets the same number of threads as torch
    warnings.filterwarnings("ignore", message="Solving ridge is slower")
    X, Y = make_data(args.n_samples, args.n_features, args.n_targets, args.seed)
    alphas = np.logspace(-1, 5, args.n_alphas)
    folds = make_folds(args.n_samples, args.n_folds, seed=args.seed)

    def ours(backend: str, X, Y) -> Callable[[], np.ndarray]:
        return lambda: (
            cross_validated_scores(
                X, Y, alphas, n_folds=args.n_folds, seed=args.seed, backend=backend
            ).scores
        )

    def build(X, Y, folds) -> dict[str, Callable[[], np.ndarray]]:
        return {
            "brainbridge torch-cpu": ours("torch", X, Y),
            "brainbridge numpy": ours("numpy", X, Y),
            "sklearn RidgeCV": lambda: run_sklearn(X, Y, alphas, folds),
            **(
                {}
                if args.skip_himalaya
                else {
                    "himalaya RidgeCV torch": lambda: run_himalaya(X, Y, alphas, folds, "torch"),
                    "himalaya RidgeCV numpy": lambda: run_himalaya(X, Y, alphas, folds, "numpy"),
                }
            ),
        }

    # warm-up on a small problem of the same aspect so one-off library initialisation
    # (lazy LAPACK loading, thread pools) is not charged to whichever method runs first
    n_w = max(4 * args.n_folds, args.n_samples // 10)
    Xw, Yw = make_data(n_w, max(1, args.n_features // 10), 8, args.seed)
    for fn in build(Xw, Yw, make_folds(n_w, args.n_folds, seed=args.seed)).values():
        fn()
    methods = build(X, Y, folds)

    rows = []
    ref_time, ref_scores = None, None
    for name, fn in methods.items():
        time.sleep(1.0)  # let idle BLAS / OpenMP worker threads stop spinning
        seconds, scores = timed(fn, args.repeat)
        if ref_time is None:
            ref_time, ref_scores = seconds, scores
        rows.append(
            {
                "method": name,
                "seconds": round(seconds, 3),
                "ratio_vs_ours": round(seconds / ref_time, 2),
                "max_abs_score_diff": float(np.max(np.abs(scores - ref_scores))),
                "mean_score": float(np.mean(scores)),
            }
        )

    print(
        f"n_samples={args.n_samples} n_features={args.n_features} n_targets={args.n_targets} "
        f"n_alphas={args.n_alphas} n_folds={args.n_folds} torch_threads={args.threads}"
    )
    print(f"{'method':<24} {'seconds':>8} {'peer/ours':>10} {'max|dscore|':>12} {'mean r':>7}")
    for r in rows:
        print(
            f"{r['method']:<24} {r['seconds']:>8.2f} {r['ratio_vs_ours']:>10.2f} "
            f"{r['max_abs_score_diff']:>12.2e} {r['mean_score']:>7.3f}"
        )
    result = {
        "config": vars(args) | {"torch": torch.__version__, "machine": platform.machine()},
        "reference": "brainbridge torch-cpu",
        "rows": rows,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
