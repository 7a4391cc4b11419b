"""Tokens in use on real EEG (EEGBCI S001) and across montages; run once, figures quoted.

1. Linear probe, left vs right fist, imagery (runs 4/8/12) and executed (runs 3/7/11):
   tokens of a TFM tokenizer trained (unsupervised) on the six continuous runs, against log
   band power (mu, beta) and against the same tokenizer untrained (random codebook), each with
   a permutation p-value (ridge probe, 5 folds).
2. Cross-montage: a sensor-aware tokenizer trained on the 64 EEGBCI channels (runs 3, 4, 7, 8,
   11; ``--steps`` optimizer steps) reconstructs, without retraining, held-out EEGBCI (run 12),
   the 32-channel EEGLAB recording placed by its channel labels (30 EEG channels, EOG typed
   eog; resampled to 160 Hz at ingestion) and the simulated 33-channel EEG (the last 30% of
   each), against the same network untrained (random codebook), with its sensor positions
   shuffled, and trained on the target montage itself (its first 70%, as many steps). The
   EEGLAB file at 128 Hz and without a montage is refused. One trained on EEGBCI EEG + Elekta
   MEG (mag + grad) reconstructs both.

    PYTHONPATH=src python benchmarks/bench_tokens_eegbci.py --out /tmp/tok-eegbci [--sim RAW.fif]
        [--skip-probe] [--steps 400]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from brainbridge.ingest.meeg import ingest_dataset
from brainbridge.store import open_store, write_store
from brainbridge.tokenize import open_source, tokenize, train
from brainbridge.tokenize.data import TokenizerDataError, scale_vector, windows_of
from brainbridge.tokenize.health import _row_r
from brainbridge.tokenize.models import Sensors
from brainbridge.tokenize.probe import band_power, linear_probe, random_codebook
from brainbridge.tokenize.readout import code_vectors, token_histograms

DATA = Path(os.environ.get("BRAINBRIDGE_DATA", "../shared/data"))
EEGBCI = DATA / "eegbci" / "S001"
RUNS = {"imagery": (4, 8, 12), "executed": (3, 7, 11)}
PRE = {
    "bads": {"detect": True, "interpolate": True},
    "l_freq": 1.0,
    "h_freq": 40.0,
    "notch": 60.0,
    "reference": "average",
}
CHANNELS = {"standardize": "eegbci", "montage": "colin27_1005"}
TFM = {
    "kind": "tfm", "sfreq": 160.0, "segment": 160, "stft_window": 32, "hop": 16, "patch": 2,
    "dim": 32, "codebook_size": 64, "codebook_dim": 8, "epochs": 3, "batch_size": 16,
    "max_windows": 320,
}  # fmt: skip
SENSOR = {
    "kind": "sensor", "sfreq": 160.0, "segment": 160, "patch": 8, "dim": 32, "n_sources": 8,
    "levels": 2, "codebook_size": 64, "codebook_dim": 8, "batch_size": 16, "max_windows": 640,
}  # fmt: skip
# How the EEGLAB test recording (channels EEG 000 ... EEG 031, no positions) is placed by its
# channel labels (EOG typed eog); the file says where the labels come from.
EEGLAB_CHANNELS = yaml.safe_load(
    (Path(__file__).parents[1] / "config/examples/channels/eeglab-test-raw.yaml").read_text()
)


def store(out: Path, name: str, files: list, cfg: dict) -> Path:
    path = out / f"{name}.zarr"
    if not path.exists():
        ds, _ = ingest_dataset([str(f) for f in files], cfg)
        ds.attrs["dataset"] = name
        kind = "continuous" if cfg.get("store") == "continuous" else "epochs"
        write_store(ds, path, kind=kind)
    return path


def eegbci_stores(out: Path) -> tuple[dict, list]:
    epochs, continuous = {}, []
    for task, runs in RUNS.items():
        files = [EEGBCI / f"S001R{r:02d}.edf" for r in runs]
        cfg = {
            "modality": "eeg", "channels": CHANNELS, "run_labels": list(runs),
            "events": {
                "mapping": {
                    "T1": {"stimulus": "left", "condition": "left"},
                    "T2": {"stimulus": "right", "condition": "right"},
                },
                "ignore": ["T0"],
            },
            "preprocessing": {**PRE, "tmin": -0.5, "tmax": 4.0, "baseline": None,
                              "reject": {"eeg": 5e-4}},
        }  # fmt: skip
        epochs[task] = store(out, f"eegbci-{task}", files, cfg)
        for f in files:
            cont = {"modality": "eeg", "store": "continuous", "channels": CHANNELS,
                    "preprocessing": PRE}  # fmt: skip
            continuous.append(store(out, f"eegbci-{f.stem}", [f], cont))
    return epochs, continuous


def features(model, meta, path: Path) -> dict[str, np.ndarray]:
    tokens = tokenize(model, meta, open_source(path, meta["config"]))
    vec = code_vectors(tokens)  # (trial, channel, token, dim)
    return {
        "token histograms": token_histograms(tokens, per_unit=True),
        "pooled code vectors": vec.mean(2).reshape(len(vec), -1),
    }


def probes(epochs: dict, trained, n_perm: int) -> list[dict]:
    rows = []
    rand_meta = {**trained.meta}
    sources = [open_source(p, trained.meta["config"]) for p in trained.meta["trained_on"]]
    rand = random_codebook(trained.meta, sources)
    for task, path in epochs.items():
        ds = open_store(path, load=True)
        labels = ds["condition"].values.astype(str)
        t = ds["time"].values
        active = ds["data"].values[..., (t >= 0.0)]
        sets = {"band power (mu, beta)": band_power(active, float(ds.attrs["sfreq"]))}
        for key, x in features(trained.model, trained.meta, path).items():
            sets[f"tokens: {key}"] = x
        for key, x in features(rand, rand_meta, path).items():
            sets[f"random codebook: {key}"] = x
        for name, x in sets.items():
            for shrink in ("1", "n_features"):  # ridge alpha: 1, or the number of features
                alpha = 1.0 if shrink == "1" else float(x.shape[1])
                r = linear_probe(x, labels, n_permutations=n_perm, seed=0, alpha=alpha)
                rows.append({"task": task, "features": name, "alpha": shrink,
                             "accuracy": r.accuracy, "p": r.p_value, "null": r.null_mean,
                             "trials": r.n_trials, "n_features": r.n_features})  # fmt: skip
                print(f"{task:9s} {name:40s} alpha {shrink:10s} acc {r.accuracy:.3f} "
                      f"p {r.p_value:.4f} ({r.n_features} features)", flush=True)  # fmt: skip
    return rows


def split_store(out: Path, name: str, files: list, cfg: dict, fit: float = 0.7) -> tuple:
    """One continuous recording as two stores: its first ``fit`` share (to train a tokenizer
    on the montage itself) and the rest (held out: every reconstruction figure comes from it)."""
    paths = out / f"{name}-fit.zarr", out / f"{name}-held.zarr"
    if not all(p.exists() for p in paths):
        ds, _ = ingest_dataset([str(f) for f in files], cfg)
        ds.attrs["dataset"] = name
        cut = int(ds.sizes["time"] * fit)
        for path, part in zip(paths, (slice(0, cut), slice(cut, None))):
            write_store(ds.isel(time=part), path, kind="continuous")
    return paths


@torch.no_grad()
def reconstruction(model, meta, path: Path, *, shuffle: bool = False, limit: int = 256) -> dict:
    """Pearson r (time, log spectral amplitude) between each channel of each window and its
    reconstruction, averaged, over up to ``limit`` windows of ``path``; ``shuffle`` permutes
    the sensor positions among the channels (what a tokenizer does with the wrong layout)."""
    src = open_source(path, meta["config"])
    scale = scale_vector(src, meta["scales"])
    x = np.concatenate([windows_of(src, b, scale)[0] for b in src.blocks()])[:limit]
    sensors = src.sensors()
    if shuffle:
        perm = torch.from_numpy(np.random.default_rng(0).permutation(len(src.channels)))
        sensors = Sensors(sensors.positions[perm], sensors.orientations[perm], sensors.types)
    model.eval()
    out = model(torch.from_numpy(x), sensors)
    r_time = _row_r(out.recon.flatten(0, 1), out.target.flatten(0, 1))
    r_spec = _row_r(out.spec_recon.flatten(0, 1), out.spec_target.flatten(0, 1))
    return {
        "windows": len(x),
        "channels": len(src.channels),
        "r_time": round(float(torch.nanmean(r_time)), 3),
        "r_spectrum": round(float(torch.nanmean(r_spec)), 3),
    }


def fitted(stores: list, name: str, steps: int) -> object:
    """The sensor tokenizer trained for about ``steps`` optimizer steps on ``stores``."""
    sources = [open_source(p, {**SENSOR, "sfreq": 160.0}) for p in stores]
    windows = sum(len(s.starts) * s.n_items for s in sources)
    per_epoch = min(windows, int(SENSOR["max_windows"]))
    epochs = max(1, round(steps * int(SENSOR["batch_size"]) / per_epoch))
    t0 = time.time()
    trained = train(stores, {**SENSOR, "epochs": epochs}, name=name, seed=0)
    last = trained.health[trained.health["epoch"] == epochs]
    print(f"{name}: {epochs} epochs x {per_epoch} windows in {time.time() - t0:.0f} s; last "
          f"epoch r_time {last['r_time'].iloc[0]:.3f}, r_spectrum {last['r_spectrum'].iloc[0]:.3f},"
          f" utilisation {last['utilisation'].round(2).tolist()}", flush=True)  # fmt: skip
    trained.meta["seconds"] = time.time() - t0
    return trained


def cross_montage(out: Path, continuous: list, sim_raw: Path | None, steps: int) -> dict:
    """EEGBCI-trained sensor tokenizer on held-out EEGBCI, the EEGLAB cap and the simulated
    EEG, against the same network untrained, with the sensor positions shuffled, and trained on
    the target montage itself (the same number of steps); then an EEG + MEG tokenizer."""
    result: dict = {}
    held_run = next(p for p in continuous if p.stem.endswith("R12"))
    held = {"eegbci 64 ch (run 12, held out)": held_run}
    fit_runs = [p for p in continuous if p != held_run]  # runs 3, 4, 7, 8, 11
    eeglab = DATA / "mne-testing" / "EEGLAB" / "test_raw.set"
    pre = {"l_freq": 1.0, "h_freq": 40.0, "reference": "average", "resample": 160.0}
    eeg_cfg = {"modality": "eeg", "store": "continuous", "preprocessing": pre}
    own = {}
    fit, held["eeglab 30 ch (last 30%)"] = split_store(
        out, "eeglab-160hz", [eeglab], {**eeg_cfg, "channels": EEGLAB_CHANNELS}
    )
    own["eeglab 30 ch (last 30%)"] = fit
    # refusals: the file at its own rate, and without positions
    for label, cfg in (
        ("eeglab at 128 Hz", {**eeg_cfg, "preprocessing": {**pre, "resample": None},
                              "channels": EEGLAB_CHANNELS}),
        ("eeglab without montage", {**eeg_cfg, "channels": {
            k: v for k, v in EEGLAB_CHANNELS.items() if k != "montage"}}),
    ):  # fmt: skip
        path = store(out, label.replace(" ", "-"), [eeglab], cfg)
        try:
            open_source(path, {**SENSOR, "sfreq": 160.0}, name="eegbci-sensor")
            result[label] = "accepted"
        except TokenizerDataError as err:
            result[label] = f"refused: {err}"
        print(label, result[label], flush=True)
    if sim_raw is not None:
        fit, held["simulated 33 ch (last 30%)"] = split_store(
            out, "sim-eeg-160hz", [sim_raw], eeg_cfg
        )
        own["simulated 33 ch (last 30%)"] = fit

    sensor = fitted(fit_runs, "eegbci-sensor", steps)
    rand = random_codebook(sensor.meta, [open_source(p, sensor.meta["config"]) for p in fit_runs])
    result["eegbci-sensor"] = {"seconds": round(sensor.meta["seconds"]),
                               "health": sensor.health.to_dict("records")}  # fmt: skip
    for name, path in held.items():
        tokens = tokenize(sensor.model, sensor.meta, open_source(path, sensor.meta["config"]))
        row = {
            "codes": dict(tokens["codes"].sizes),
            "eegbci-trained": reconstruction(sensor.model, sensor.meta, path),
            "eegbci-trained, positions shuffled": reconstruction(
                sensor.model, sensor.meta, path, shuffle=True
            ),
            "untrained (random codebook)": reconstruction(rand, sensor.meta, path),
        }
        if name in own:
            mine = fitted([own[name]], f"own-{name.split()[0]}", steps)
            row["trained on this montage (first 70%)"] = reconstruction(mine.model, mine.meta, path)
        result[name] = row
        print(name, json.dumps(row), flush=True)

    meg = DATA / "mne-testing" / "MEG" / "test_elekta_3ch_raw.fif"
    meg_cfg = {"modality": "meg", "store": "continuous",
               "preprocessing": {"l_freq": 1.0, "h_freq": 40.0, "reference": "none",
                                 "resample": 160.0}}  # fmt: skip
    meg_fit, meg_held = split_store(out, "elekta-meg-160hz", [meg], meg_cfg)
    both = fitted([*fit_runs, meg_fit], "eeg-meg", steps)
    both_rand = random_codebook(both.meta, [open_source(p, both.meta["config"]) for p in fit_runs])
    result["eeg+meg scales"] = both.meta["scales"]
    for name, path in (("eeg", held_run), ("meg", meg_held)):
        tokens = tokenize(both.model, both.meta, open_source(path, both.meta["config"]))
        row = {
            "codes": dict(tokens["codes"].sizes),
            "eeg+meg-trained": reconstruction(both.model, both.meta, path),
            "untrained (random codebook)": reconstruction(both_rand, both.meta, path),
        }
        result[f"eeg+meg tokenizer on {name} (held out)"] = row
        print(name, json.dumps(row), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sim", type=Path, help="the simulation's sim_raw.fif")
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--skip-probe", action="store_true")
    parser.add_argument("--skip-montage", action="store_true")
    parser.add_argument("--steps", type=int, default=400, help="sensor tokenizer steps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    epochs, continuous = eegbci_stores(args.out)
    report: dict = {}
    if not args.skip_probe:
        trained = train(continuous, TFM, name="eegbci-tfm", seed=0)
        report["tfm health"] = trained.health.to_dict("records")
        print(trained.health.to_string(), flush=True)
        report["probes"] = probes(epochs, trained, args.permutations)
    if not args.skip_montage:
        report["cross montage"] = cross_montage(args.out, continuous, args.sim, args.steps)
    report["seconds"] = time.time() - t0
    (args.out / f"results{'-probe' if args.skip_montage else ''}.json").write_text(
        json.dumps(report, indent=2, default=str)
    )
    print(f"done in {report['seconds']:.0f} s; {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
