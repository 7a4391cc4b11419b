"""Temporal response functions: brainbridge against MNE's ReceptiveField, side by side.

A continuous recording of 64 channels at 100 Hz (200 s: 20,000 samples) and 11 features (a
layer's 10 PCA components and an onset impulse, the default), lags -0.1..0.5 s (61). Timed:

* one fit at a fixed alpha: ``fit_trf`` vs ``ReceptiveField(estimator=alpha)`` (its FFT-based
  ``TimeDelayingRidge``) vs ``ReceptiveField(estimator=Ridge(alpha))`` (explicit lag matrix);
* 5-fold contiguous cross-validation with 7 alphas chosen per channel (``cross_validated_trf``)
  vs the same with ReceptiveField: a loop over folds x alphas (MNE refits per alpha), per-channel
  best alpha by held-out score.

Max |difference| of the fixed-alpha weights is printed. Run: ``python benchmarks/bench_trf.py``
(BLAS limited to one thread).
"""

from __future__ import annotations

import time

import numpy as np
from mne.decoding import ReceptiveField
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

from brainbridge.encode.trf import contiguous_blocks, cross_validated_trf, fit_trf, lags_for

SFREQ, N_TIMES, N_FEAT, N_CHAN, TMIN, TMAX, SEED = 100.0, 20_000, 11, 64, -0.1, 0.5, 0
ALPHAS = np.logspace(-1, 5, 7)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _mne_cv(x, y):
    blocks = contiguous_blocks(len(x), 5)
    for k, test in enumerate(blocks):
        train = [b for i, b in enumerate(blocks) if i != k]
        xt = np.stack([x[b] for b in train], 1)
        yt = np.stack([y[b] for b in train], 1)
        for alpha in ALPHAS:
            rf = ReceptiveField(TMIN, TMAX, SFREQ, estimator=float(alpha), scoring="corrcoef")
            rf.fit(xt, yt).score(x[test], y[test])


def main() -> None:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((N_TIMES, N_FEAT))
    y = rng.standard_normal((N_TIMES, N_CHAN))
    lags = lags_for(TMIN, TMAX, SFREQ)
    with threadpool_limits(1):
        t_ours, fit = _timed(lambda: fit_trf([x], [y], lags, [10.0]))
        t_tdr, rf = _timed(lambda: ReceptiveField(TMIN, TMAX, SFREQ, estimator=10.0).fit(x, y))
        ridge = Ridge(10.0)
        t_skl, _ = _timed(lambda: ReceptiveField(TMIN, TMAX, SFREQ, estimator=ridge).fit(x, y))
        diff = np.abs(fit.coef.transpose(2, 1, 0) - rf.coef_).max()
        t_cv, _ = _timed(lambda: cross_validated_trf(x, y, SFREQ, TMIN, TMAX, ALPHAS))
        t_mne_cv, _ = _timed(lambda: _mne_cv(x, y))
    print(f"n={N_TIMES} features={N_FEAT} lags={len(lags)} channels={N_CHAN}")
    print(f"fixed alpha  brainbridge {t_ours:7.2f} s")
    print(f"             MNE TimeDelayingRidge {t_tdr:7.2f} s  ratio {t_ours / t_tdr:.2f}")
    print(f"             MNE + sklearn Ridge   {t_skl:7.2f} s  ratio {t_ours / t_skl:.2f}")
    print(f"             max |weight diff| vs TimeDelayingRidge {diff:.2e}")
    print(f"5-fold CV, 7 alphas  brainbridge {t_cv:7.2f} s")
    ratio = t_cv / t_mne_cv
    print(f"                     MNE (refit per alpha) {t_mne_cv:7.2f} s  ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
