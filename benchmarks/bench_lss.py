"""LSS single-trial betas: brainbridge's batched solve vs a plain loop of nilearn fits.

One simulated run (--trials events every few seconds, --voxels voxels, TR 2 s). The loop fits
one nilearn FirstLevelModel per trial (that trial vs all other trials, cosine drifts, OLS), as a
hand-written LSS script does; brainbridge builds one design matrix and solves every trial's
model at once. Times are the best of --repeat runs; the betas must agree to 1e-6.

    python benchmarks/bench_lss.py [--trials 60] [--voxels 2000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.first_level import FirstLevelModel

from brainbridge.ingest.fmri import lss_betas

TR = 2.0
GLM = {"hrf_model": "glover", "drift_model": "cosine", "high_pass": 0.01, "noise_model": "ols"}


def simulate(n_trials: int, n_voxels: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    onsets = 6.0 + 5.0 * np.arange(n_trials) + rng.uniform(0, 1.5, n_trials)
    n_scans = int((onsets[-1] + 30) / TR)
    events = pd.DataFrame({"onset": onsets, "duration": 1.0, "trial_type": "stim"})
    series = 100 + rng.standard_normal((n_scans, n_voxels))
    return series, events


def nilearn_loop(series: np.ndarray, events: pd.DataFrame) -> np.ndarray:
    n_scans, n_voxels = series.shape
    img = nib.Nifti1Image(series.T.reshape(n_voxels, 1, 1, n_scans), np.eye(4))
    mask = nib.Nifti1Image(np.ones((n_voxels, 1, 1), "i1"), np.eye(4))
    betas = []
    for j in range(len(events)):
        trial_type = np.where(np.arange(len(events)) == j, "target", "other")
        model = FirstLevelModel(
            t_r=TR, hrf_model=GLM["hrf_model"], drift_model=GLM["drift_model"],
            high_pass=GLM["high_pass"], noise_model="ols", mask_img=mask,
            signal_scaling=False, minimize_memory=True,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(img, events=events.assign(trial_type=trial_type))
            effect = model.compute_contrast("target", output_type="effect_size")
        betas.append(effect.get_fdata().reshape(-1))
    return np.array(betas)


def best_of(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--voxels", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    series, events = simulate(args.trials, args.voxels)
    t_bb, ours = best_of(lambda: lss_betas(series, TR, events, GLM), args.repeat)
    t_loop, loop = best_of(lambda: nilearn_loop(series, events), args.repeat)
    diff = float(np.abs(ours - loop).max())
    print(f"one run: {series.shape[0]} scans, {args.trials} trials, {args.voxels} voxels")
    print(f"brainbridge LSS (batched):      {t_bb:8.3f} s")
    print(f"nilearn FirstLevelModel loop:   {t_loop:8.3f} s")
    print(f"speed-up: {t_loop / t_bb:.1f}x; max |beta difference| = {diff:.2e}")
    if diff > 1e-6:
        raise SystemExit(f"betas disagree: max difference {diff:.2e} > 1e-6")


if __name__ == "__main__":
    main()
