"""Decoding benchmarks, as ratios against plain peers on the same data.

1. Contrastive decoder training throughput (trials / s): ``ContrastiveDecoder.fit`` against a
   plain torch loop with the same model, optimiser, loss and batches (no validation split, no
   early stopping in either). Goal: ratio of times <= 1.2.
2. Ridge decoding (brain -> features) on the same folds: :class:`RidgeDecoder` against
   scikit-learn ``StandardScaler`` + ``RidgeCV(alpha_per_target=True)``. Goal: <= 0.5.
   Predictions agree to rounding (same efficient LOO, same alphas).

    python benchmarks/bench_decoding.py --threads 1 [--device cuda] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from brainbridge.decode.contrastive import (
    ContrastiveConfig,
    ContrastiveDecoder,
    _batch_loss,
    build_model,
)
from brainbridge.decode.identification import make_decoding_folds
from brainbridge.decode.ridge_decoder import RidgeDecoder

ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)


def meeg_data(n_stim: int, reps: int, ch: int, t: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((n_stim, dim))
    stim = np.tile(np.arange(n_stim), reps)
    x = (feats[stim] @ rng.standard_normal((dim, ch)))[:, :, None] * np.hanning(t)
    x = x + 2 * rng.standard_normal((len(stim), ch, t))
    return x.astype(np.float32), feats[stim].astype(np.float32), stim, feats


def plain_loop(x, y, stim, conf: ContrastiveConfig, arch, positions, device, seed: int) -> float:
    """The reference: the same model and batches, a bare training loop."""
    torch.manual_seed(seed)
    model = build_model(arch).to(device)
    xt = torch.as_tensor((x - x.mean((0, 2), keepdims=True)) / x.std((0, 2), keepdims=True))
    xt, yt = xt.to(device), torch.as_tensor(y, device=device)
    st = torch.as_tensor(np.unique(stim, return_inverse=True)[1], device=device)
    pos = torch.as_tensor(positions[:, :2], dtype=torch.float32, device=device)
    opt = torch.optim.AdamW(
        model.parameters(), lr=conf.learning_rate, weight_decay=conf.weight_decay
    )
    gen = torch.Generator().manual_seed(seed)
    idx = torch.arange(len(x), device=device)
    start = time.perf_counter()
    for _ in range(conf.epochs):
        model.train()
        order = idx[torch.randperm(len(idx), generator=gen).to(device)]
        for b in range(0, len(order) - conf.batch_size + 1, conf.batch_size):
            loss = _batch_loss(
                model, xt, yt, st, order[b : b + conf.batch_size], pos, conf.temperature
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench_contrastive(device: str, epochs: int, repeats: int) -> dict:
    x, y, stim, _ = meeg_data(256, 2, 32, 20, 32)
    positions = np.random.default_rng(1).random((32, 3))
    conf = ContrastiveConfig(  # the Défossez-style network, CLIP loss alone (as plain_loop)
        encoder="deep",
        mse_weight=0.0,
        epochs=epochs,
        batch_size=64,
        valid_fraction=0.0,
        device=device,
    )
    dec = ContrastiveDecoder(conf, positions=positions, seed=0)
    dec.fit(x, y, stim)  # warm-up (lazy torch imports, allocator)
    ours, plain = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        dec.fit(x, y, stim)
        if dec.device_.type == "cuda":
            torch.cuda.synchronize()
        ours.append(time.perf_counter() - t0)
        plain.append(plain_loop(x, y, stim, conf, dec.arch_, positions, dec.device_, 0))
    n = epochs * len(x)
    return {
        "device": str(dec.device_),
        "trials_per_s_ours": n / min(ours),
        "trials_per_s_plain": n / min(plain),
        "ratio_time": min(ours) / min(plain),
    }


def bench_ridge(repeats: int, backend: str = "numpy") -> dict:
    x, _, stim, feats = meeg_data(240, 2, 33, 10, 64)
    x = x.reshape(len(x), -1).astype(np.float64)
    y = feats[stim]
    folds, _ = make_decoding_folds(stim.astype(str), None, 5)
    ours_t, sk_t = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours = [
            RidgeDecoder(ALPHAS, backend=backend).fit(x[tr], y[tr]).predict(x[te])
            for tr, te in folds
        ]
        ours_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sk = [
            make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS, alpha_per_target=True))
            .fit(x[tr], y[tr])
            .predict(x[te])
            for tr, te in folds
        ]
        sk_t.append(time.perf_counter() - t0)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ours, sk))
    return {
        "shape": [int(x.shape[0]), int(x.shape[1]), int(y.shape[1])],
        "seconds_ours": min(ours_t),
        "seconds_sklearn": min(sk_t),
        "ratio_time": min(ours_t) / min(sk_t),
        "max_abs_prediction_difference": diff,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ridge-backend", default="numpy", choices=["numpy", "torch"])
    parser.add_argument("--only", choices=["contrastive", "ridge"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        result = {
            "machine": platform.processor() or platform.machine(),
            "threads": args.threads,
            "contrastive": None
            if args.only == "ridge"
            else bench_contrastive(args.device, args.epochs, args.repeats),
            "ridge": None
            if args.only == "contrastive"
            else bench_ridge(args.repeats, args.ridge_backend),
        }
    print(json.dumps(result, indent=1) if args.json else result)


if __name__ == "__main__":
    main()
