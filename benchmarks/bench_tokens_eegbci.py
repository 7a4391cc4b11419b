"""Tokens in use on real EEG (EEGBCI S001) and across montages; run once, figures quoted.

1. Linear probe, left vs right fist, imagery (runs 4/8/12) and executed (runs 3/7/11):
   tokens of a TFM tokenizer trained (unsupervised) on the six continuous runs, against log
   band power (mu, beta) and against the same tokenizer untrained (random codebook), each with
   a permutation p-value (ridge probe, 5 folds).
2. Cross-montage: a sensor-aware tokenizer trained on the 64 EEGBCI channels tokenizes the
   32-channel EEGLAB recording and the simulated 33-channel EEG (both resampled to 160 Hz at
   ingestion), with reconstruction r on each montage; the same recordings at their own rates
   are refused. One trained on EEGBCI EEG + Elekta MEG (mag + grad) tokenizes both.

    PYTHONPATH=src python benchmarks/bench_tokens_eegbci.py --out /tmp/tok-eegbci [--sim RAW.fif]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from brainbridge.ingest.meeg import ingest_dataset
from brainbridge.store import open_store, write_store
from brainbridge.tokenize import open_source, tokenize, train
from brainbridge.tokenize.data import TokenizerDataError, scale_vector, windows_of
from brainbridge.tokenize.health import _row_r
from brainbridge.tokenize.probe import band_power, linear_probe, random_codebook
from brainbridge.tokenize.tokens import code_vectors, token_histograms

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
    "kind": "sensor", "sfreq": 160.0, "segment": 160, "patch": 16, "dim": 32, "n_sources": 8,
    "levels": 2, "codebook_size": 64, "codebook_dim": 8, "epochs": 3, "batch_size": 16,
    "max_windows": 320,
}  # fmt: skip


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


@torch.no_grad()
def reconstruction_r(model, meta, path: Path) -> float:
    src = open_source(path, meta["config"])
    scale = scale_vector(src, meta["scales"])
    x, _ = windows_of(src, src.blocks()[0], scale)
    out = model(torch.from_numpy(x[:64]), src.sensors())
    return float(torch.nanmean(_row_r(out.recon.flatten(0, 1), out.target.flatten(0, 1))))


def cross_montage(out: Path, continuous: list, sim_raw: Path | None) -> dict:
    result: dict = {}
    sensor = train(continuous, SENSOR, name="eegbci-sensor", seed=0)
    result["health"] = sensor.health.to_dict("records")
    eeglab = DATA / "mne-testing" / "EEGLAB" / "test_raw.set"
    targets = {"eegbci (trained montage)": continuous[0]}
    # the EEGLAB file's 32 channels are named EEG 000 ... with no locations: no montage fits
    cfg = {"modality": "eeg", "store": "continuous",
           "preprocessing": {"l_freq": 1.0, "h_freq": 40.0, "reference": "average"}}  # fmt: skip
    pre160 = {**cfg["preprocessing"], "resample": 160.0}
    for label, path in (
        ("eeglab at 128 Hz", store(out, "eeglab-128hz", [eeglab], cfg)),
        (
            "eeglab at 160 Hz",
            store(out, "eeglab-160hz", [eeglab], {**cfg, "preprocessing": pre160}),
        ),
    ):
        try:
            open_source(path, sensor.meta["config"], name="eegbci-sensor")
            targets["eeglab 32 ch"] = path
            result[label] = "accepted"
        except TokenizerDataError as err:
            result[label] = f"refused: {err}"
        print(label, result[label], flush=True)
    if sim_raw is not None:
        sim = {"modality": "eeg", "store": "continuous",
               "preprocessing": {"l_freq": 1.0, "h_freq": 40.0, "reference": "average",
                                 "resample": 160.0}}  # fmt: skip
        targets["simulated 33 ch"] = store(out, "sim-eeg-160hz", [sim_raw], sim)
    for name, path in targets.items():
        tokens = tokenize(sensor.model, sensor.meta, open_source(path, sensor.meta["config"]))
        result[name] = {
            "channels": len(open_store(path)["channel"]),
            "codes": dict(tokens["codes"].sizes),
            "r_time": reconstruction_r(sensor.model, sensor.meta, path),
        }
        print(name, result[name], flush=True)
    meg = DATA / "mne-testing" / "MEG" / "test_elekta_3ch_raw.fif"
    meg_cfg = {"modality": "meg", "store": "continuous",
               "preprocessing": {"l_freq": 1.0, "h_freq": 40.0, "reference": "none",
                                 "resample": 160.0}}  # fmt: skip
    meg_store = store(out, "elekta-meg-160hz", [meg], meg_cfg)
    both = train([continuous[0], meg_store], {**SENSOR, "epochs": 2}, name="eeg-meg", seed=0)
    result["eeg+meg scales"] = both.meta["scales"]
    for name, path in (("eeg", continuous[0]), ("meg", meg_store)):
        tokens = tokenize(both.model, both.meta, open_source(path, both.meta["config"]))
        result[f"eeg+meg tokenizer on {name}"] = {
            "codes": dict(tokens["codes"].sizes),
            "r_time": reconstruction_r(both.model, both.meta, path),
        }
        print(name, result[f"eeg+meg tokenizer on {name}"], flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sim", type=Path, help="the simulation's sim_raw.fif")
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--skip-probe", action="store_true")
    parser.add_argument("--skip-montage", action="store_true")
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
        report["cross montage"] = cross_montage(args.out, continuous, args.sim)
    report["seconds"] = time.time() - t0
    (args.out / f"results{'-probe' if args.skip_montage else ''}.json").write_text(
        json.dumps(report, indent=2, default=str)
    )
    print(f"done in {report['seconds']:.0f} s; {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
