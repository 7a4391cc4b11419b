"""Cross-validated ridge, side by side: brainbridge against himalaya and scikit-learn.

Every method runs the same outer 5-fold KFold on the same float32 data (n = 2000 samples by
default, 9 alphas, one alpha per target chosen inside each training fold), predicts the held-out
fold and scores it (Pearson r per target, mean over folds). How the alpha is chosen differs:
brainbridge and scikit-learn ``RidgeCV(alpha_per_target=True)`` use the efficient leave-one-out
of the training fold (they agree to rounding); himalaya ``RidgeCV`` uses an inner 5-fold CV, so
its scores agree only approximately. brainbridge solves float32 input in float32 (its rule:
float32 in, float32 numerics); scikit-learn works in float64 whatever the input.

Each (shape, method) runs in ``--repeat`` fresh processes; the table gives the median.
Wall time: the call alone, after imports, data generation and a warm-up on a tiny problem.
Peak memory: the peak resident set size (``VmHWM``) during the call minus the resident set just
before it, the peak being reset with ``/proc/self/clear_refs`` (Linux) after the warm-up: the
memory the method itself needs on top of its inputs, the same way for numpy and torch CPU.

    python benchmarks/bench_ridge.py                                   # the four shapes
    python benchmarks/bench_ridge.py --shapes 512x1000 --repeat 1      # a quick look
    python benchmarks/bench_ridge.py --skip-sklearn-from 30000         # sklearn is slow there
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = {
    "brainbridge torch": "bb-torch",
    "brainbridge numpy": "bb-numpy",
    "himalaya torch": "hl-torch",
    "himalaya numpy": "hl-numpy",
    "sklearn RidgeCV": "sklearn",
}
REFERENCE = "himalaya torch"
DEFAULT_SHAPES = "512x1000,512x30000,4096x1000,4096x30000"


def make_data(n: int, p: int, t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 targets driven by a rank-20 projection of X plus noise of varying level."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p), dtype=np.float32)
    W = rng.standard_normal((p, 20), dtype=np.float32) @ rng.standard_normal(
        (20, t), dtype=np.float32
    )
    Y = X @ (W / np.float32(np.sqrt(20 * p)))
    del W
    noise = np.geomspace(0.3, 10, t).astype(np.float32)
    for i in range(0, n, 256):  # add noise a block of rows at a time (bounded temporaries)
        Y[i : i + 256] += rng.standard_normal((min(256, n - i), t), dtype=np.float32) * noise
    return X, Y


def _pearson(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    Yc, Pc = Y - Y.mean(0), P - P.mean(0)
    den = np.sqrt((Yc * Yc).sum(0) * (Pc * Pc).sum(0))
    return (Yc * Pc).sum(0) / np.where(den > 0, den, 1.0)


def _peer(method: str, X, Y, alphas, folds) -> np.ndarray:
    """Per-fold Pearson r of a peer's held-out predictions, averaged over folds."""
    scores = np.zeros(Y.shape[1])
    for train, test in folds:
        if method == "sklearn":
            from sklearn.linear_model import RidgeCV

            model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X[train], Y[train])
            pred = model.predict(X[test])
        else:
            from himalaya.backend import set_backend
            from himalaya.ridge import RidgeCV as HRidgeCV

            hb = set_backend(method.removeprefix("hl-"), on_error="raise")
            model = HRidgeCV(alphas=alphas, fit_intercept=True, cv=5)
            model.fit(X[train], Y[train])
            pred = np.asarray(hb.to_numpy(model.predict(X[test])))
        scores += _pearson(Y[test], pred)
    return scores / len(folds)


def _call(method: str, X, Y, alphas, folds, n_folds: int, seed: int) -> np.ndarray:
    if method.startswith("bb-"):
        from brainbridge.encode import cross_validated_scores

        backend = method.removeprefix("bb-")
        return cross_validated_scores(
            X, Y, alphas, n_folds=n_folds, seed=seed, backend=backend
        ).scores
    return _peer(method, X, Y, alphas, folds)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def worker(args: argparse.Namespace) -> None:
    """One (method, shape) in this fresh process: print wall time and peak memory as JSON."""
    import warnings

    import torch
    from threadpoolctl import threadpool_limits

    from brainbridge.encode import make_folds

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    warnings.filterwarnings("ignore", message="Solving ridge is slower")
    alphas = np.logspace(-1, 5, args.n_alphas)
    p, t = args.worker_shape
    Xw, Yw = make_data(60, max(2, p // 16), 16, args.seed + 1)  # warm-up: load every kernel
    _call(args.worker, Xw, Yw, alphas, make_folds(60, args.n_folds, seed=0), args.n_folds, 0)
    X, Y = make_data(args.n_samples, p, t, args.seed)
    folds = make_folds(args.n_samples, args.n_folds, seed=args.seed)
    del Xw, Yw
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    scores = _call(args.worker, X, Y, alphas, folds, args.n_folds, args.seed)
    seconds = time.perf_counter() - start
    peak = _status_kb("VmHWM")
    np.save(args.scores_out, np.asarray(scores, dtype=np.float64))
    print(json.dumps({"seconds": seconds, "peak_mb": (peak - before) / 1024}))


def _run_one(args, method: str, p: int, t: int, scores_out: str) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        METHODS[method],
        "--worker-shape",
        f"{p}x{t}",
        "--scores-out",
        scores_out,
        *("--n-samples", str(args.n_samples), "--n-alphas", str(args.n_alphas)),
        *("--n-folds", str(args.n_folds), "--threads", str(args.threads)),
        *("--seed", str(args.seed)),
    ]
    env = os.environ | {
        "OMP_NUM_THREADS": str(args.threads),
        "MKL_NUM_THREADS": str(args.threads),
        "OPENBLAS_NUM_THREADS": str(args.threads),
    }
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _shape(text: str) -> tuple[int, int]:
    p, t = text.lower().split("x")
    return int(p), int(t)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=DEFAULT_SHAPES, help="comma list of FEATURESxTARGETS")
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--n-alphas", type=int, default=9)
    parser.add_argument("--n-folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="fresh processes per cell (median)")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma list among {list(METHODS)}"
    )
    parser.add_argument(
        "--skip-sklearn-from",
        type=int,
        default=None,
        metavar="T",
        help="skip scikit-learn at shapes with T targets or more (it is the slowest)",
    )
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-shape", type=_shape, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scores-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return {}

    methods = [m.strip() for m in args.methods.split(",")]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown --methods {unknown}; choose among {list(METHODS)}")
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_ridge_"))
    for p, t in (_shape(s) for s in args.shapes.split(",")):
        cells, scores = {}, {}
        for method in methods:
            if (
                method == "sklearn RidgeCV"
                and args.skip_sklearn_from
                and t >= args.skip_sklearn_from
            ):
                continue
            out = str(tmp / f"{METHODS[method]}_{p}x{t}.npy")
            runs = [_run_one(args, method, p, t, out) for _ in range(args.repeat)]
            cells[method] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "peak_mb": statistics.median(r["peak_mb"] for r in runs),
            }
            scores[method] = np.load(out)
            print(f"  {p}x{t} {method}: {cells[method]}", file=sys.stderr, flush=True)
        ref = cells.get(REFERENCE)
        base = scores.get("brainbridge numpy", scores.get("brainbridge torch"))
        for method, cell in cells.items():
            rows.append(
                {
                    "p": p,
                    "t": t,
                    "method": method,
                    **cell,
                    "time_ratio": cell["seconds"] / ref["seconds"] if ref else None,
                    "memory_ratio": cell["peak_mb"] / ref["peak_mb"] if ref else None,
                    "max_abs_dscore": (
                        float(np.max(np.abs(scores[method] - base))) if base is not None else None
                    ),
                    "mean_score": float(np.mean(scores[method])),
                }
            )
    print(
        f"n={args.n_samples} float32 alphas={args.n_alphas} folds={args.n_folds} per-target alpha; "
        f"threads={args.threads}; median of {args.repeat} fresh processes; "
        "brainbridge/sklearn: LOO alpha selection, himalaya: inner 5-fold"
    )
    print(
        "| p | t | method | seconds | x himalaya-torch | peak MB | x himalaya-torch "
        "| max abs dscore vs brainbridge | mean r |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        tr = f"{r['time_ratio']:.2f}" if r["time_ratio"] is not None else "-"
        mr = f"{r['memory_ratio']:.2f}" if r["memory_ratio"] is not None else "-"
        ds = f"{r['max_abs_dscore']:.1e}" if r["max_abs_dscore"] is not None else "-"
        print(
            f"| {r['p']} | {r['t']} | {r['method']} | {r['seconds']:.2f} | {tr} "
            f"| {r['peak_mb']:.0f} | {mr} | {ds} | {r['mean_score']:.3f} |"
        )
    import torch

    result = {
        "config": {k: v for k, v in vars(args).items() if not k.startswith(("worker", "scores"))}
        | {"torch": torch.__version__, "machine": platform.machine()},
        "reference": REFERENCE,
        "rows": rows,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
